using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests;

public sealed class PlacementTests
{
    private static Device Gpu(int i) => new(DeviceType.CUDA, i);
    private const long GiB = 1L << 30;

    [Fact]
    public void An_explicit_map_places_every_part()
    {
        var placement = DbrxPlacement.Parse("embedding=cpu, 0-1=cpu, 2=cpu, 3=cpu, head=cpu", layers: 4);
        Assert.Equal(4, placement.Blocks.Count);
        Assert.True(placement.IsSingleDevice);
        Assert.Equal("embedding cpu, blocks 0-3 cpu, head cpu", placement.ToString());
    }

    [Theory]
    [InlineData("embedding=cpu,0-2=cpu,head=cpu", "does not place block 3")]
    [InlineData("0-3=cpu,head=cpu", "does not place the embedding")]
    [InlineData("embedding=cpu,0-3=cpu,2=cpu,head=cpu", "places block 2 twice")]
    [InlineData("embedding=cpu,0-9=cpu,head=cpu", "blocks within 0-3")]
    [InlineData("embedding=cpu,0-3,head=cpu", "is not part=device")]
    [InlineData("embedding=tpu,0-3=cpu,head=cpu", "Unknown device 'tpu'")]
    public void A_bad_map_is_rejected_with_the_entry_named(string map, string message)
    {
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => DbrxPlacement.Parse(map, 4)).Message);
    }

    private static readonly DbrxMemoryFootprint Footprint = new(EmbeddingBytes: 2 * GiB, BlockBytes: 6 * GiB, CacheBytesPerBlock: 1 * GiB, HeadBytes: 2 * GiB);

    [Fact]
    public void Auto_keeps_a_model_that_fits_on_the_first_gpu()
    {
        var plan = DbrxPlacementPlanner.Plan(4, Footprint, [new DeviceMemory(Gpu(0), 80 * GiB), new DeviceMemory(Gpu(1), 80 * GiB)]);
        Assert.Equal("embedding cuda:0, blocks 0-3 cuda:0, head cuda:0", plan.ToString());
    }

    [Fact]
    public void Auto_spills_to_the_next_gpu_then_to_the_cpu_in_model_order()
    {
        // 30 GiB free keeps 27 GiB: the embedding (2) and three blocks (7 each) fill the first GPU.
        var plan = DbrxPlacementPlanner.Plan(10, Footprint, [new DeviceMemory(Gpu(0), 30 * GiB), new DeviceMemory(Gpu(1), 20 * GiB)]);
        Assert.Equal("embedding cuda:0, blocks 0-2 cuda:0, blocks 3-4 cuda:1, blocks 5-9 cpu, head cpu", plan.ToString());
    }

    [Fact]
    public void Auto_without_room_on_any_gpu_puts_everything_on_the_cpu()
    {
        var plan = DbrxPlacementPlanner.Plan(2, Footprint, [new DeviceMemory(Gpu(0), 1 * GiB)]);
        Assert.True(plan.IsSingleDevice);
        Assert.Equal(DeviceType.CPU, plan.Head.type);
    }

    [Fact]
    public void The_footprint_of_dbrx_instruct_matches_its_parameter_count()
    {
        var footprint = DbrxMemoryFootprint.Of(DbrxPresets.DbrxInstruct, ScalarType.BFloat16, cacheRows: 1, cacheTokens: 4096);
        // 131,596,523,520 parameters (dbrx-instruct's published size), two bytes each.
        Assert.Equal(131_596_523_520L * 2, footprint.TotalBytes(40) - 40 * footprint.CacheBytesPerBlock);
        Assert.Equal(2L * 4096 * 8 * 128 * 2, footprint.CacheBytesPerBlock);
    }

    [Fact]
    public void Nvidia_smi_output_is_read_in_visible_device_order()
    {
        const string csv = "0, 81000\n1, 40000\n2, 500\n";
        var all = AcceleratorMemory.Parse(csv, visibleDevices: "");
        Assert.Equal([81000L * 1024 * 1024, 40000L * 1024 * 1024, 500L * 1024 * 1024], all.Select(d => d.FreeBytes));
        var visible = AcceleratorMemory.Parse(csv, visibleDevices: "2,0");
        Assert.Equal(["cuda:0", "cuda:1"], visible.Select(d => d.Device.ToString()));
        Assert.Equal([500L * 1024 * 1024, 81000L * 1024 * 1024], visible.Select(d => d.FreeBytes));
    }

    [Fact]
    public void A_model_loads_and_runs_with_an_explicit_map()
    {
        using var dir = new TempDirectory();
        var config = DbrxPresets.Tiny with { VocabSize = 200, NLayers = 3 };
        DbrxRandomCheckpoint.Write(config, dir.Path, 1, ScalarType.Float32);
        using var single = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "cpu" });
        using var mapped = DbrxModelLoader.Load(dir.Path, new DbrxLoadOptions { Device = "embedding=cpu,0=cpu,1-2=cpu,head=cpu" });
        using var ids = tensor(new long[] { 5, 6, 7 }, [1, 3], ScalarType.Int64);
        using var a = single.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        using var b = mapped.ForwardDiagnostics(new DbrxModelInput { InputIds = ids });
        TensorAssert.Close(a.Logits, b.Logits, 0, "mapped vs single device");
        Assert.Equal(3, mapped.Placement.Blocks.Count);
    }
}
