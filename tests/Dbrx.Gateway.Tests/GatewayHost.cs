using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dbrx.Gateway.Tests;

/// <summary>The gateway as an application hosts it (<c>AddDbrxGateway</c>, <c>MapDbrxGateway</c>) on a real Kestrel on 127.0.0.1.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private GatewayHost(WebApplication app)
    {
        this.app = app;
        BaseAddress = new Uri(app.Urls.Single());
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => app.Services;

    public static async Task<GatewayHost> StartAsync(Action<DbrxGatewayOptions> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Yarp", LogLevel.Critical);
        builder.Services.AddDbrxGateway(options =>
        {
            options.HealthCheckInterval = TimeSpan.FromMilliseconds(200);
            options.MetricsInterval = TimeSpan.FromMilliseconds(200);
            configure(options);
        });
        WebApplication app = builder.Build();
        app.MapDbrxGateway();
        await app.StartAsync();
        return new GatewayHost(app);
    }

    /// <summary>A chat completion request body: a long shared system turn, then the conversation's turns.</summary>
    public static string ChatBody(string system, params string[] turns)
    {
        var messages = new List<object> { new { role = "system", content = system } };
        for (int i = 0; i < turns.Length; i++)
            messages.Add(new { role = i % 2 == 0 ? "user" : "assistant", content = turns[i] });
        return JsonSerializer.Serialize(new { model = "tiny-dbrx", messages });
    }

    /// <summary>Posts a chat completion; the answer's <c>x-replica</c> header names the fake replica that served it.</summary>
    public async Task<HttpResponseMessage> ChatAsync(string body, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>The fake replica that served a chat completion.</summary>
    public async Task<string> ServedByAsync(string body)
    {
        using HttpResponseMessage response = await ChatAsync(body);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("x-replica").Single();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.DisposeAsync();
    }
}
