namespace Dbrx.Inference.Configuration;

/// <summary>How the reference initialises a tensor of a freshly built model.</summary>
public enum DbrxInitKind
{
    /// <summary>Normal(0, initializer_range): linear layers, the embedding, the experts.</summary>
    Normal,

    /// <summary>All ones: LayerNorm weights.</summary>
    Ones,
}
