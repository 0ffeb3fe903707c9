using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Dbrx.Analyzers.Tests;

/// <summary>
/// The rules against TorchSharp temporaries, on snippets compiled against TorchSharp 0.107: each pattern that let a
/// collection free a Scalar during a native call is reported, and each way the engine now keeps one alive is not.
/// </summary>
public sealed class TorchSharpTemporaryAnalyzerTests
{
    [Theory]
    [InlineData("row.masked_fill(row < 0, (Scalar)0f)", "DBRX0001")]   // explicit conversion: still a temporary
    [InlineData("row.masked_fill(mask, float.NegativeInfinity)", "DBRX0001")]
    [InlineData("row.clamp(-bound, bound)", "DBRX0001")]
    [InlineData("row.lt(10)", "DBRX0001")]
    [InlineData("row.bitwise_and(15)", "DBRX0001")]                     // a number converted to a tensor
    [InlineData("row.mul(0.5f.ToScalar())", "DBRX0002")]
    [InlineData("row.add(row, bound.ToScalar())", "DBRX0002")]
    [InlineData("row * 0.5f", "DBRX0003")]                               // TorchSharp converts the 0.5f inside
    [InlineData("row + row", "DBRX0003")]                                // add(other) adds with a temporary alpha of 1
    [InlineData("row.add(row)", "DBRX0003")]
    [InlineData("arange(10, ScalarType.Int64)", "DBRX0003")]
    [InlineData("torch.linalg.vector_norm(row, 1.0, new long[] { -1 }, true)", "DBRX0003")]
    [InlineData("(float)row", "DBRX0003")]
    [InlineData("Unit.invoke<Tensor>(\"f\", row, 0.5)", "DBRX0003")]     // TorchScript makes a Scalar of a double
    [InlineData("Unit.invoke<Tensor>(\"f\", row, 3L)", "DBRX0003")]
    public void A_temporary_is_reported(string expression, string rule)
    {
        var found = Analyze(Statement($"var result = {expression};"));
        Assert.Contains(rule, found);
    }

    [Fact]
    public void A_compound_assignment_that_adds_tensors_is_reported() =>
        Assert.Contains("DBRX0003", Analyze(Statement("var sum = row.clone(); sum += row;")));

    [Theory]
    [InlineData("row.masked_fill(mask, NegativeInfinity)")]              // a rooted constant
    [InlineData("row.add(row, One)")]
    [InlineData("row * row")]                                            // tensor by tensor: no Scalar
    [InlineData("row - row")]
    [InlineData("row.lt(row)")]
    [InlineData("row.item<float>()")]
    [InlineData("Unit.invoke<Tensor>(\"f\", row, 2, true)")]             // ints and bools go to TorchScript as they are
    public void A_safe_use_is_not_reported(string expression) =>
        Assert.Empty(Analyze(Statement($"var result = {expression};")));

    [Fact]
    public void A_using_local_made_by_ToScalar_is_not_reported()
    {
        Assert.Empty(Analyze(Statement("using var low = (-bound).ToScalar(); using var high = bound.ToScalar(); var r = row.clamp(low, high);")));
        Assert.Empty(Analyze(Statement("using (var scale = bound.ToScalar()) { var r = row.mul(scale); }")));
    }

    [Fact]
    public void A_plain_local_made_by_ToScalar_is_reported_because_nothing_keeps_it_alive_after_its_last_use() =>
        Assert.Contains("DBRX0002", Analyze(Statement("var scale = bound.ToScalar(); var r = row.mul(scale);")));

    private static string Statement(string body) => $$"""
        using TorchSharp;
        using static TorchSharp.torch;

        public static class Snippet
        {
            private static readonly Scalar One = 1.ToScalar();
            private static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
            private static readonly jit.CompilationUnit Unit = jit.compile("def f(x: Tensor, y: float): return x");

            public static void Run(Tensor row, Tensor mask, double bound)
            {
                {{body}}
            }
        }
        """;

    /// <summary>The ids of the analyzer's findings; the snippet must compile.</summary>
    private static string[] Analyze(string source)
    {
        var framework = Directory.GetFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "*.dll")
            .Where(path => !path.EndsWith("Native.dll", StringComparison.Ordinal))
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create(
            "Snippet",
            [CSharpSyntaxTree.ParseText(source)],
            [.. framework, MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location)],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var findings = compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new TorchSharpTemporaryAnalyzer()))
            .GetAnalyzerDiagnosticsAsync(TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        return [.. findings.Select(d => d.Id)];
    }
}
