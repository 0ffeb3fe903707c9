using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Dbrx.Server.Tests;

/// <summary>
/// <c>dbrx serve</c> as a user starts it: a separate process on 127.0.0.1 with a free port, its address read from
/// what it prints; killed (by its own process id) when disposed.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly Process process;

    private ServeProcess(Process process, Uri address)
    {
        this.process = process;
        BaseAddress = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public static async Task<ServeProcess> StartAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dbrx.dll"));
        foreach (string arg in (string[])["serve", "--host", "127.0.0.1", "--port", "0", .. args])
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var address = new TaskCompletionSource<Uri>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && Serving().Match(line) is { Success: true } match)
                address.TrySetResult(new Uri(match.Groups[1].Value));
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var serve = new ServeProcess(process, await address.Task.WaitAsync(TimeSpan.FromMinutes(1)));
            // Another process: its readiness probe, as a user's would, is polled.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            while ((await serve.Http.GetAsync("/health/ready", timeout.Token)).StatusCode != System.Net.HttpStatusCode.OK)
                await Task.Delay(50, timeout.Token);
            return serve;
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public void Dispose()
    {
        Http.Dispose();
        if (!process.HasExited)
            process.Kill();
        process.WaitForExit();
        process.Dispose();
    }

    [GeneratedRegex(@"serving '[^']*' at (http://[^/\s]+)/v1")]
    private static partial Regex Serving();
}
