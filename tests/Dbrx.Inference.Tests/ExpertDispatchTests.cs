using Dbrx.Inference.Modeling;
using TorchSharp;

namespace Dbrx.Inference.Tests;

/// <summary>Which expert path runs: the choice itself (the paths' numbers are checked in the parity suites).</summary>
public sealed class ExpertDispatchTests
{
    [Theory]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, 1, ExpertDispatch.PerExpert)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, 2, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CUDA, 2048, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Auto, DeviceType.CPU, 2048, ExpertDispatch.PerExpert)]
    [InlineData(ExpertDispatch.Grouped, DeviceType.CUDA, 1, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.Grouped, DeviceType.CPU, 1, ExpertDispatch.Grouped)]
    [InlineData(ExpertDispatch.PerExpert, DeviceType.CUDA, 512, ExpertDispatch.PerExpert)]
    public void Auto_groups_on_cuda_except_for_a_single_token_and_explicit_choices_are_kept(ExpertDispatch requested, DeviceType device, long tokens, ExpertDispatch expected) =>
        Assert.Equal(expected, DbrxExperts.Choose(requested, device, tokens));
}
