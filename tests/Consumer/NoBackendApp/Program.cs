// Uses the chat client in an application that forgot the libtorch backend package, and checks that the first use
// (resolving the client validates its options; registering reads nothing) fails with an error that names what to add.
// Exits 0 when it does.
using Dbrx.Inference.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

string model = Path.Combine(Path.GetTempPath(), "dbrx-no-backend-" + Environment.ProcessId);
Directory.CreateDirectory(model);
try
{
    File.WriteAllText(Path.Combine(model, DbrxConfigJson.FileName), DbrxConfigJson.ToJson(DbrxPresets.Tiny));
    var services = new ServiceCollection();
    services.AddDbrxChatClient(options => options.ModelPath = model);
    using var provider = services.BuildServiceProvider();
    provider.GetRequiredService<IChatClient>();
    Console.Error.WriteLine("no-backend: FAILED: the client was created without a libtorch backend");
    return 1;
}
catch (Exception e) when (e.Message.Contains("TorchSharp-cpu") && e.Message.Contains("TorchSharp-cuda-linux") && e.Message.Contains("DBRX_LIBTORCH_DIR"))
{
    Console.WriteLine($"no-backend: the error names the packages and the variable: OK\n  {e.Message}");
    return 0;
}
finally
{
    Directory.Delete(model, recursive: true);
}
