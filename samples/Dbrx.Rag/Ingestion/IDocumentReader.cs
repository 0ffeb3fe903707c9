namespace Dbrx.Rag.Ingestion;

/// <summary>Turns a file's bytes into structural blocks.</summary>
public interface IDocumentReader
{
    /// <summary>Reads a document.</summary>
    /// <param name="content">The file's bytes.</param>
    /// <exception cref="InvalidDataException">The file is not a readable document of this kind.</exception>
    IReadOnlyList<TextBlock> Read(byte[] content);
}
