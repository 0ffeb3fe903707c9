using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

[assembly: AssemblyFixture(typeof(Dbrx.Server.Tests.TinyModel))]

namespace Dbrx.Server.Tests;

/// <summary>A tiny random DBRX with the full vocabulary (as <c>dbrx init --preset tiny</c> writes it), one per test run.</summary>
public sealed class TinyModel : IDisposable
{
    public TinyModel()
    {
        Directory = Path.Combine(Path.GetTempPath(), "dbrx-server-tests-" + Guid.NewGuid().ToString("N"), "tiny-dbrx");
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny with { NLayers = 1, MaxSeqLen = 2048 }, Directory, seed: 3, ScalarType.Float32);
    }

    /// <summary>The model folder; its name is the served model id.</summary>
    public string Directory { get; }

    public const string Id = "tiny-dbrx";

    public void Dispose() => System.IO.Directory.Delete(Path.GetDirectoryName(Directory)!, recursive: true);
}
