using Dbrx.Inference.Configuration;
namespace Dbrx.Inference.Modeling;

/// <summary>A part of the model that holds int4 weights in place of one float checkpoint tensor.</summary>
internal interface IInt4Target
{
    /// <summary>The float checkpoint tensor it replaces, given the module's path in the model.</summary>
    string CheckpointName(string modulePath);

    /// <summary>Quantizes the float tensor as stored in a checkpoint and keeps the packed result.</summary>
    void LoadFloat(TorchSharp.torch.Tensor weight);

    /// <summary>Keeps pre-quantized weights, given in their stored orientation (see <see cref="DbrxQuantization"/>).</summary>
    void LoadQuantized(Int4Weights weights);

    /// <summary>Turns the float tensor as stored in a checkpoint into the stored quantized form.</summary>
    Int4Weights Quantize(TorchSharp.torch.Tensor weight);
}
