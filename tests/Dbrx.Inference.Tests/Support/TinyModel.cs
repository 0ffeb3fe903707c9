using Dbrx.Inference.Configuration;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>The tiny preset (full vocabulary) with seeded random weights, built in memory once per test class.</summary>
public sealed class TinyModel : IDisposable
{
    public TinyModel()
    {
        Model = new DbrxForCausalLM(DbrxPresets.Tiny, ScalarType.Float32, CPU);
        using var initializer = new DbrxInitializer(DbrxPresets.Tiny, seed: 1234);
        initializer.Fill(Model);
    }

    public DbrxForCausalLM Model { get; }

    public void Dispose() => Model.Dispose();
}
