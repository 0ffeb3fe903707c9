using Microsoft.Data.Sqlite;

namespace Dbrx.Rag.Tests.Support;

/// <summary>A folder of its own under the temp folder, deleted with its contents on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Path = Directory.CreateTempSubdirectory("dbrx-rag-tests-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Folder(string name) => Directory.CreateDirectory(File(name)).FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
