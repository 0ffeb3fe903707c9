using Dbrx.Inference.Checkpoints;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Modeling;
using Dbrx.Inference.Runtime;
using static TorchSharp.torch;

namespace Dbrx.Inference.Tests.Support;

/// <summary>The golden case: the tiny checkpoint and what transformers computed for it (see TestData/golden/README.md).</summary>
internal sealed class Golden : IDisposable
{
    private readonly SafetensorsFile outputs = SafetensorsFile.Open(TestData.GoldenOutputs);

    public Tensor Get(string name) => outputs.Read(name);

    /// <summary>The reference's greedy generation: the prompt ids and the ids it generated after them.</summary>
    public (int[] Prompt, int[] Continuation) GreedyGeneration()
    {
        using var prompt = Get("gen_prompt");
        using var output = Get("gen_output");
        int[] ids = [.. prompt.ToLongArray().Select(id => (int)id)];
        return (ids, [.. output.ToLongArray().Skip(ids.Length).Select(id => (int)id)]);
    }

    public static DbrxForCausalLM LoadModel(AttentionImplementation attention = AttentionImplementation.Eager, ExpertDispatch dispatch = ExpertDispatch.Auto) =>
        DbrxModelLoader.Load(TestData.GoldenModel, new DbrxLoadOptions { Device = "cpu", DType = DbrxDType.Float32, AttentionImplementation = attention, ExpertDispatch = dispatch });

    public void Dispose() => outputs.Dispose();
}
