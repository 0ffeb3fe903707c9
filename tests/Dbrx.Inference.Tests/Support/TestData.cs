namespace Dbrx.Inference.Tests.Support;

/// <summary>Paths of the data copied next to the test assembly.</summary>
internal static class TestData
{
    /// <summary>The golden tiny DBRX folder: config, weights and the reference's outputs.</summary>
    public static string GoldenModel => Path.Combine(AppContext.BaseDirectory, "TestData", "golden", "tiny-dbrx");

    /// <summary>The reference's outputs for the golden model.</summary>
    public static string GoldenOutputs => Path.Combine(GoldenModel, "golden.safetensors");
}
