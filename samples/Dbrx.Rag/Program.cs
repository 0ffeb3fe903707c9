// Retrieval-augmented generation with DBRX, offline, on an embedded SQLite index: the shape of Microsoft's
// "AI Chat Web App" template (ingest documents into chunks, search them, answer with citations), as a console app.
//
//   dotnet run --project samples/Dbrx.Rag -- ask "How do I load dbrx-instruct in int4?"   the shipped corpus, a tiny random DBRX
//   dotnet run --project samples/Dbrx.Rag -- ingest DIR --index my.db                     your documents
//   dotnet run --project samples/Dbrx.Rag -- chat --index my.db --model /models/dbrx-instruct
//   dotnet run --project samples/Dbrx.Rag -- bench
using System.CommandLine;
using Dbrx.Inference.Runtime;
using Dbrx.Rag.Commands;

// Before anything touches TorchSharp: load a CUDA libtorch named by DBRX_LIBTORCH_DIR, if any.
_ = DbrxTorchRuntime.LoadedFrom;

var root = new RootCommand("dbrx-rag: answer questions from your documents with DBRX, citing the passages used.")
{
    IngestCommand.Create(),
    AskCommand.Create(),
    ChatCommand.Create(),
    BenchCommand.Create(),
};
root.Options.Add(RagOptions.Verbose);
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
