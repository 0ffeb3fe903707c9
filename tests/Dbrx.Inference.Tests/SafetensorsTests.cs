using System.Text;
using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Tests.Support;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Written_tensors_read_back_identical_in_every_dtype()
    {
        using var f32 = randn(3, 5);
        using var bf16 = randn(4, 2).to_type(ScalarType.BFloat16);
        using var f16 = randn(7).to_type(ScalarType.Float16);
        using var i64 = arange(6, ScalarType.Int64).view(2, 3);
        using var scalar = tensor(2.5f);
        var tensors = new (string, Tensor)[] { ("a.f32", f32), ("b.bf16", bf16), ("c.f16", f16), ("d.i64", i64), ("e.scalar", scalar) };
        string path = dir.File("t.safetensors");
        using (var writer = SafetensorsWriter.Create(path, tensors.Select(t => (t.Item1, SafetensorsDTypes.FromScalarType(t.Item2.dtype), t.Item2.shape)), new Dictionary<string, string> { ["note"] = "hi" }))
        {
            foreach (var (_, t) in tensors)
                writer.WriteTensor(t);
            writer.Complete();
        }
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("hi", file.Metadata["note"]);
        foreach (var (name, expected) in tensors)
        {
            using var actual = file.Read(name);
            TensorAssert.Identical(expected, actual, name);
        }
    }

    [Fact]
    public void Reads_the_golden_reference_outputs_written_by_python()
    {
        using var file = SafetensorsFile.Open(TestData.GoldenOutputs);
        Assert.Equal(new long[] { 2, 11 }, file.Tensors["input_ids"].Shape);
        Assert.Equal(SafetensorsDType.I64, file.Tensors["input_ids"].DType);
        using var loss = file.Read("loss");
        Assert.Equal(6.3355608f, loss.item<float>(), 5);
    }

    [Fact]
    public void Converts_dtype_and_device_on_read()
    {
        string path = Write(("x", randn(2, 3)));
        using var file = SafetensorsFile.Open(path);
        using var original = file.Read("x");
        using var bf16 = file.Read("x", ScalarType.BFloat16, CPU);
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        using var expected = original.to_type(ScalarType.BFloat16);
        TensorAssert.Identical(expected, bf16, "x as bfloat16");
    }

    [Fact]
    public void An_incomplete_writer_leaves_no_file()
    {
        string path = dir.File("partial.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [("a", SafetensorsDType.F32, new long[] { 4 })]))
            writer.WriteBytes(new byte[8]);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Writer_refuses_a_tensor_that_does_not_match_its_header()
    {
        using var writer = SafetensorsWriter.Create(dir.File("w.safetensors"), [("a", SafetensorsDType.F32, new long[] { 4 })]);
        using var wrong = zeros(5);
        var error = Assert.Throws<ArgumentException>(() => writer.WriteTensor(wrong));
        Assert.Contains("'a'", error.Message);
    }

    [Fact]
    public void Truncated_file_is_reported_not_read()
    {
        string path = Write(("w", randn(64, 64)));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        AssertCorrupt(path, "past the end of the data");
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_is_reported()
    {
        string path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertCorrupt(path, "shorter than the 8-byte header length");
    }

    [Fact]
    public void Header_length_beyond_the_file_is_reported()
    {
        AssertCorrupt(RawFile(BitConverter.GetBytes(1_000_000L), "{}"u8.ToArray()), "the header length is 1000000 bytes but only 2 bytes follow");
    }

    [Fact]
    public void Header_that_is_not_json_is_reported()
    {
        AssertCorrupt(RawHeader("{not json"), "the header is not valid JSON");
    }

    [Fact]
    public void Header_that_is_not_utf8_is_reported_with_the_file()
    {
        // A tensor name with a lone continuation byte: valid JSON structure, invalid UTF-8 (it read "Cannot transcode
        // invalid UTF-8 JSON text", without the file, before).
        byte[] header = [.. "{\"a"u8, 0x80, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        AssertCorrupt(RawFile(BitConverter.GetBytes((long)header.Length), [.. header, 0, 0, 0, 0]), "the header is not valid UTF-8 (first invalid byte at offset 11)");
    }

    [Fact]
    public void Overlapping_tensors_are_reported()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", dataBytes: 12),
            "the data of tensors 'a' [0, 8] and 'b' [4, 12] overlap");
    }

    [Fact]
    public void Unknown_dtype_is_reported()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}""", dataBytes: 2), "tensor 'a' has dtype 'Q4', which is not supported");
    }

    [Fact]
    public void Numeric_dtype_text_is_not_mistaken_for_an_enum_value()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"3","shape":[2],"data_offsets":[0,2]}}""", dataBytes: 2), "has dtype '3'");
    }

    [Fact]
    public void Size_that_disagrees_with_shape_is_reported()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", dataBytes: 8), "needs 12 bytes but its data_offsets [0, 8] span 8");
    }

    [Fact]
    public void Offsets_that_end_before_they_begin_are_reported()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", dataBytes: 8), "end before they begin");
    }

    [Fact]
    public void Negative_shape_is_reported()
    {
        AssertCorrupt(RawHeader("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", dataBytes: 4), "shape entry -1, expected a non-negative integer");
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(dir.File("nope.safetensors")));
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Sharded_checkpoint_round_trips_through_the_index()
    {
        var specs = Enumerable.Range(0, 5).Select(i => ($"t{i}", SafetensorsDType.F32, new long[] { 10, 10 })).ToList();
        var values = specs.Select(_ => randn(10, 10)).ToList();
        using (var writer = new SafetensorsCheckpointWriter(dir.Path, specs, maxShardBytes: 900))
        {
            Assert.Equal(3, writer.FileNames.Count);
            values.ForEach(writer.WriteTensor);
            writer.Complete();
        }
        Assert.True(File.Exists(Path.Combine(dir.Path, SafetensorsCheckpoint.IndexFileName)));
        using var checkpoint = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(3, checkpoint.Files.Count);
        for (int i = 0; i < 5; i++)
        {
            using var read = checkpoint.Read($"t{i}", ScalarType.Float32, CPU);
            TensorAssert.Identical(values[i], read, $"t{i}");
        }
        Assert.Equal("model-00003-of-00003.safetensors", Path.GetFileName(checkpoint.FileOf("t4").Path));
    }

    [Fact]
    public void Index_naming_a_missing_shard_is_reported()
    {
        WriteIndex("""{"weight_map": {"a": "model-00001-of-00002.safetensors"}}""");
        var error = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("lists shard 'model-00001-of-00002.safetensors' (for tensor 'a'), which does not exist", error.Message);
    }

    [Fact]
    public void Index_putting_a_tensor_in_the_wrong_shard_is_reported()
    {
        Write(("a", zeros(2)), "s1.safetensors");
        Write(("b", zeros(2)), "s2.safetensors");
        WriteIndex("""{"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors"}}""");
        var error = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("puts tensor 'a' in 's2.safetensors', but that file does not contain it", error.Message);
    }

    [Fact]
    public void Index_missing_a_tensor_of_a_shard_is_reported()
    {
        Write(("a", zeros(2)), "s1.safetensors", ("extra", zeros(1)));
        WriteIndex("""{"weight_map": {"a": "s1.safetensors"}}""");
        var error = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("holds tensor 'extra', which the index", error.Message);
    }

    [Theory]
    [InlineData("""{"weight_map": {"a": "../outside.safetensors"}}""", "is not a plain file name")]
    [InlineData("""{"weight_map": {"a": 3}}""", "maps tensor 'a' to 3")]
    [InlineData("""{"metadata": {}}""", "has no \"weight_map\" object")]
    [InlineData("""{"weight_map": {}}""", "has an empty weight_map")]
    [InlineData("""{"weight_map": """, "is not valid JSON")]
    public void Broken_index_is_reported(string index, string message)
    {
        WriteIndex(index);
        var error = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Folder_without_weights_is_reported()
    {
        File.WriteAllText(dir.File("pytorch_model.bin"), "x");
        var error = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(dir.Path));
        Assert.Contains("has no model.safetensors", error.Message);
        Assert.Contains("PyTorch .bin weights, which are not supported", error.Message);
    }

    private string Write((string Name, Tensor Value) first, string fileName = "model.safetensors", params (string Name, Tensor Value)[] more)
    {
        var all = new[] { first }.Concat(more).ToList();
        string path = dir.File(fileName);
        using var writer = SafetensorsWriter.Create(path, all.Select(t => (t.Name, SafetensorsDTypes.FromScalarType(t.Value.dtype), t.Value.shape)));
        all.ForEach(t => writer.WriteTensor(t.Value));
        writer.Complete();
        return path;
    }

    private string Write((string Name, Tensor Value) first) => Write(first, "model.safetensors");

    private void WriteIndex(string json) => File.WriteAllText(dir.File(SafetensorsCheckpoint.IndexFileName), json);

    private string RawHeader(string header, int dataBytes = 0)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        return RawFile(BitConverter.GetBytes((long)json.Length), json.Concat(new byte[dataBytes]).ToArray());
    }

    private string RawFile(byte[] prefix, byte[] rest)
    {
        string path = dir.File($"raw-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, prefix.Concat(rest).ToArray());
        return path;
    }

    private static void AssertCorrupt(string path, string message)
    {
        var error = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(message, error.Message);
        Assert.Contains(path, error.Message);
    }
}
