using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Modeling;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>The golden case: the tiny checkpoint and what transformers computed for it (see TestData/golden/README.md).</summary>
internal sealed class Golden : IDisposable
{
    private readonly SafetensorsFile outputs = SafetensorsFile.Open(TestData.GoldenOutputs);

    public Tensor Get(string name) => outputs.Read(name);

    public static DbrxForCausalLM LoadModel(AttentionImplementation attention = AttentionImplementation.Eager, ExpertDispatch dispatch = ExpertDispatch.Auto) =>
        DbrxModelLoader.Load(TestData.GoldenModel, new DbrxLoadOptions { Device = "cpu", DType = "float32", AttentionImplementation = attention, ExpertDispatch = dispatch });

    public void Dispose() => outputs.Dispose();
}
