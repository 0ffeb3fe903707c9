using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Configuration;
using static TorchSharp.torch;

namespace Dbrx.Extensions.AI.Tests;

/// <summary>A tiny random DBRX with the full vocabulary, written once per test class like <c>dbrx init --preset tiny</c>.</summary>
public sealed class TinyCheckpoint : IDisposable
{
    public TinyCheckpoint()
    {
        Directory = Path.Combine(Path.GetTempPath(), "dbrx-ai-tests-" + Guid.NewGuid().ToString("N"), "tiny");
        DbrxRandomCheckpoint.Write(DbrxPresets.Tiny with { NLayers = 1, MaxSeqLen = 2048 }, Directory, seed: 3, ScalarType.Float32);
    }

    public string Directory { get; }

    public DbrxChatClientOptions Options() => new() { ModelPath = Directory, Device = "cpu", DefaultMaxOutputTokens = 64, ContextLength = 2048 };

    public void Dispose() => System.IO.Directory.Delete(Path.GetDirectoryName(Directory)!, recursive: true);
}
