// Registers the chat client in an application that forgot the libtorch backend package, and checks that the error
// names what to add. Exits 0 when it does.
using Dbrx.Inference.Configuration;
using Microsoft.Extensions.DependencyInjection;

string model = Path.Combine(Path.GetTempPath(), "dbrx-no-backend-" + Environment.ProcessId);
Directory.CreateDirectory(model);
try
{
    File.WriteAllText(Path.Combine(model, DbrxConfigJson.FileName), DbrxConfigJson.ToJson(DbrxPresets.Tiny));
    new ServiceCollection().AddDbrxChatClient(options => options.ModelPath = model);
    Console.Error.WriteLine("no-backend: FAILED: registration succeeded without a libtorch backend");
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
