using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Dbrx.Cli.Bench;

/// <summary>
/// A <c>dbrx serve</c> replica as a child process of this tool on 127.0.0.1, for <c>dbrx bench --gateway</c>: started
/// on a fixed port (so a restart comes back at the same address), killed hard for the fault run.
/// </summary>
internal sealed class ReplicaProcess : IDisposable
{
    private readonly string modelPath;
    private Process? process;

    public ReplicaProcess(string modelPath)
    {
        this.modelPath = modelPath;
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Starts the process and waits until <c>/health/ready</c> answers 200 (the model loaded).</summary>
    public async Task StartAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "dbrx.dll"), "serve", "--model", modelPath, "--device", "cpu", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-batch-size", "8", "--default-max-tokens", "16" })
            start.ArgumentList.Add(arg);
        process = Process.Start(start) ?? throw new InvalidOperationException("dbrx serve did not start.");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
                throw new InvalidOperationException($"dbrx serve on port {Port} exited with {process.ExitCode} before it was ready.");
            try
            {
                using HttpResponseMessage ready = await http.GetAsync(new Uri(Url + "/health/ready"), cancellationToken);
                if (ready.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (deadline.Elapsed > TimeSpan.FromMinutes(3))
                throw new TimeoutException($"dbrx serve on port {Port} was not ready within 3 minutes.");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Kills the process at once (SIGKILL): its connections break mid-response.</summary>
    public void Kill()
    {
        process?.Kill(entireProcessTree: true);
        process?.WaitForExit();
    }

    public void Dispose()
    {
        if (process is { HasExited: false })
            Kill();
        process?.Dispose();
    }
}
