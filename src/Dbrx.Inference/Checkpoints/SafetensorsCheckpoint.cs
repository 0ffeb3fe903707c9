using System.Text.Json;
using static TorchSharp.torch;

namespace Dbrx.Inference.Checkpoints;

/// <summary>
/// The weights of a Hugging Face model folder: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Every header and the index are checked when the checkpoint opens;
/// tensor data is read later, one tensor at a time.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>The single-file checkpoint name Hugging Face uses.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The shard index name Hugging Face uses.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> files;
    private readonly Dictionary<string, SafetensorsFile> fileOfTensor;

    private SafetensorsCheckpoint(string directory, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOfTensor)
    {
        Directory = directory;
        this.files = files;
        this.fileOfTensor = fileOfTensor;
    }

    /// <summary>The model folder.</summary>
    public string Directory { get; }

    /// <summary>The safetensors files, in index order.</summary>
    public IReadOnlyList<SafetensorsFile> Files => files;

    /// <summary>Every tensor's header entry, by name.</summary>
    public IEnumerable<SafetensorsTensorInfo> Tensors => fileOfTensor.Select(p => p.Value.Tensors[p.Key]);

    /// <summary>Whether the checkpoint holds a tensor of that name.</summary>
    public bool Contains(string name) => fileOfTensor.ContainsKey(name);

    /// <summary>The header entry of a tensor.</summary>
    public SafetensorsTensorInfo Info(string name) => FileOf(name).Tensors[name];

    /// <summary>The file that holds a tensor.</summary>
    /// <exception cref="CheckpointException">No file holds it.</exception>
    public SafetensorsFile FileOf(string name) =>
        fileOfTensor.TryGetValue(name, out SafetensorsFile? file)
            ? file
            : throw new CheckpointException($"Checkpoint '{Directory}' has no tensor '{name}'.");

    /// <summary>Reads a tensor, converted to <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public Tensor Read(string name, ScalarType dtype, Device device) => FileOf(name).Read(name, dtype, device);

    /// <summary>Opens the checkpoint in a model folder, preferring the shard index when there is one.</summary>
    /// <exception cref="CheckpointException">No weights are found, or a file or the index is corrupt or inconsistent.</exception>
    public static SafetensorsCheckpoint Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException($"Model folder '{directory}' does not exist.");
        string index = Path.Combine(directory, IndexFileName);
        if (File.Exists(index))
            return OpenSharded(directory, index);
        string single = Path.Combine(directory, SingleFileName);
        if (File.Exists(single))
            return OpenFiles(directory, [single]);
        string[] others = System.IO.Directory.GetFiles(directory, "*.safetensors");
        if (others.Length == 1)
            return OpenFiles(directory, others);
        string hint = File.Exists(Path.Combine(directory, "pytorch_model.bin")) || File.Exists(Path.Combine(directory, "pytorch_model.bin.index.json"))
            ? " It has PyTorch .bin weights, which are not supported: convert them to safetensors."
            : "";
        throw new CheckpointException(others.Length == 0
            ? $"Model folder '{directory}' has no {SingleFileName} and no {IndexFileName}.{hint}"
            : $"Model folder '{directory}' has {others.Length} .safetensors files but no {IndexFileName} saying which tensor is where.");
    }

    private static SafetensorsCheckpoint OpenFiles(string directory, IReadOnlyList<string> paths)
    {
        var files = new List<SafetensorsFile>();
        try
        {
            var fileOfTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (string path in paths)
            {
                var file = SafetensorsFile.Open(path);
                files.Add(file);
                foreach (string name in file.Tensors.Keys)
                {
                    if (fileOfTensor.TryGetValue(name, out SafetensorsFile? other))
                        throw new CheckpointException($"Tensor '{name}' is in both '{other.Path}' and '{path}'.");
                    fileOfTensor.Add(name, file);
                }
            }
            return new SafetensorsCheckpoint(directory, files, fileOfTensor);
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    private static SafetensorsCheckpoint OpenSharded(string directory, string indexPath)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(indexPath);
        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).ToList();
        foreach (string shard in shardNames)
        {
            if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                throw new CheckpointException($"Shard index '{indexPath}' names '{shard}', which is not a plain file name in the model folder.");
            if (!File.Exists(Path.Combine(directory, shard)))
                throw new CheckpointException($"Shard index '{indexPath}' lists shard '{shard}' (for tensor '{weightMap.First(p => p.Value == shard).Key}'), which does not exist in '{directory}'.");
        }

        SafetensorsCheckpoint checkpoint = OpenFiles(directory, shardNames.Select(s => Path.Combine(directory, s)).ToList());
        try
        {
            foreach (var (tensor, shard) in weightMap)
            {
                string shardPath = Path.Combine(directory, shard);
                if (!checkpoint.fileOfTensor.TryGetValue(tensor, out SafetensorsFile? file) || file.Path != shardPath)
                    throw new CheckpointException($"Shard index '{indexPath}' puts tensor '{tensor}' in '{shard}', but that file does not contain it.");
            }
            foreach (var (tensor, file) in checkpoint.fileOfTensor)
            {
                if (!weightMap.ContainsKey(tensor))
                    throw new CheckpointException($"Shard '{file.Path}' holds tensor '{tensor}', which the index '{indexPath}' does not list.");
            }
            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out JsonElement map)
                || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"Shard index '{indexPath}' has no \"weight_map\" object.");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"Shard index '{indexPath}' maps tensor '{entry.Name}' to {entry.Value.GetRawText()}, not to a file name.");
                if (!weightMap.TryAdd(entry.Name, entry.Value.GetString()!))
                    throw new CheckpointException($"Shard index '{indexPath}' lists tensor '{entry.Name}' twice.");
            }
            if (weightMap.Count == 0)
                throw new CheckpointException($"Shard index '{indexPath}' has an empty weight_map.");
            return weightMap;
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"Shard index '{indexPath}' is not valid JSON ({e.Message}).", e);
        }
        catch (IOException e)
        {
            throw new CheckpointException($"Cannot read shard index '{indexPath}': {e.Message}", e);
        }
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose() => files.ForEach(f => f.Dispose());
}
