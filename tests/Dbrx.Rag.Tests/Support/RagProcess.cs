using System.Diagnostics;
using Dbrx.Tests.Shared;

namespace Dbrx.Rag.Tests.Support;

/// <summary>Runs the sample as a user would, as a separate process (<c>dotnet Dbrx.Rag.dll ...</c>).</summary>
internal static class RagProcess
{
    private const string Assembly = "Dbrx.Rag.dll";

    internal static Process Start(params string[] args) => DotnetProcess.Start(Assembly, args);

    internal static Task<DotnetProcess.Result> Run(params string[] args) => DotnetProcess.RunAsync(Assembly, input: null, args);
}
