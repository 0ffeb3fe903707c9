using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Loading;
using Dbrx.Inference.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dbrx.Extensions.AI.Tests;

public sealed class DependencyInjectionTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Registers_a_singleton_chat_client_without_loading_the_model()
    {
        var services = new ServiceCollection();
        ChatClientBuilder builder = services.AddDbrxChatClient(o => o.ModelPath = tiny.Directory);
        Assert.NotNull(builder);
        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(IChatClient));
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();
        Assert.Same(client, provider.GetRequiredService<IChatClient>());
        Assert.Equal(DbrxModelState.NotLoaded, client.GetService<DbrxChatClient>()!.ModelState);
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public void The_auto_placement_plans_for_the_clients_batch_and_context()
    {
        var options = new DbrxChatClientOptions { ModelPath = tiny.Directory, MaxBatchSize = 3, ContextLength = 100 };
        DbrxLoadOptions load = options.ToLoadOptions(DbrxConfigJson.Load(tiny.Directory));
        Assert.Equal((3, 100), (load.PlanCacheRows, load.PlanCacheTokens));
    }

    [Fact]
    public void Serving_options_reach_the_generator()
    {
        var options = new DbrxChatClientOptions { ModelPath = tiny.Directory, MaxBatchSize = 3, MaxQueuedRequests = 5, ContextLength = 100, PrefillChunkTokens = 7, ReusePromptPrefixes = false };
        DbrxGeneratorOptions serving = options.ToServingOptions(options.ContextLength);
        Assert.Equal(new DbrxGeneratorOptions { MaxBatchSize = 3, MaxQueuedRequests = 5, ContextLength = 100, PrefillChunkTokens = 7, ReusePromptPrefixes = false }, serving);
    }

    [Fact]
    public void Int4_options_reach_the_loader_and_a_complete_device_map_is_accepted()
    {
        var options = new DbrxChatClientOptions { ModelPath = tiny.Directory, Device = "embedding=cpu,0=cpu,head=cpu", DType = "int4", Int4Modules = "experts,attention", Int4GroupSize = 32 };
        options.Validate();
        DbrxLoadOptions load = options.ToLoadOptions(DbrxConfigJson.Load(tiny.Directory));
        Assert.Equal(DbrxDType.Int4, load.DType);
        Assert.Equal((32, true, false), (load.Int4!.GroupSize, load.Int4.Attention, load.Int4.LmHead));
        Assert.Equal("embedding=cpu,0=cpu,head=cpu", load.Device);
    }

    [Fact]
    public void Binds_the_dbrx_configuration_section_by_the_option_names()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dbrx:ModelPath"] = tiny.Directory,
            ["Dbrx:Device"] = "cpu",
            ["Dbrx:DType"] = "float32",
            ["Dbrx:AttentionImplementation"] = "eager",
            ["Dbrx:SystemPrompt"] = "Be brief.",
            ["Dbrx:DefaultMaxOutputTokens"] = "12",
            ["Dbrx:LoadEagerly"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddDbrxChatClient(configuration.GetSection(DbrxChatClientOptions.SectionName));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IChatClient>().GetService<DbrxChatClientOptions>()!;
        Assert.Equal(("cpu", "float32", "eager", "Be brief.", 12), (options.Device, options.DType, options.AttentionImplementation, options.SystemPrompt, options.DefaultMaxOutputTokens));
    }

    [Fact]
    public void Keyed_registration_returns_the_builder_for_middleware()
    {
        var services = new ServiceCollection();
        services.AddKeyedDbrxChatClient("local", o => o.ModelPath = tiny.Directory).UseFunctionInvocation();
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredKeyedService<IChatClient>("local");
        Assert.NotNull(client.GetService<FunctionInvokingChatClient>());
        Assert.NotNull(client.GetService<DbrxChatClient>());
        Assert.Null(provider.GetService<IChatClient>());
    }

    [Theory]
    [InlineData(null, "auto", "ModelPath is required")]
    [InlineData("/does/not/exist", "auto", "ModelPath '/does/not/exist' does not exist")]
    [InlineData("TINY", "tpu", "Device 'tpu' cannot be used: Unknown device 'tpu'")]
    [InlineData("TINY", "cuda:x", "Device 'cuda:x' cannot be used: Device 'cuda:x' is not valid")]
    [InlineData("TINY", "embedding=cpu,head=cpu", "Device 'embedding=cpu,head=cpu' cannot be used: Device map 'embedding=cpu,head=cpu' does not place block 0")]
    [InlineData("TINY", "embedding=cpu,0-1=cpu,head=cpu", "Device map entry '0-1=cpu' does not name embedding, head or blocks within 0-0")]
    [InlineData("TINY", "embedding=cpu,0=cpu,head=tpu", "Unknown device 'tpu'")]
    public void Invalid_options_fail_when_the_host_starts_with_the_option_named(string? path, string device, string message)
    {
        string error = HostStartError(o =>
        {
            o.ModelPath = path == "TINY" ? tiny.Directory : path;
            o.Device = device;
        });
        Assert.Contains(message, error);
    }

    /// <summary>
    /// The Options pattern: registering and building the provider read no file and start no native code (the model folder
    /// need not exist yet); the host's start validates, and fails with the message that names the option.
    /// </summary>
    private static string HostStartError(Action<DbrxChatClientOptions> configure)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddDbrxChatClient(configure);
        using IHost host = builder.Build();
        return Assert.Throws<OptionsValidationException>(() => host.Start()).Message;
    }

    [Fact]
    public void Registering_with_a_missing_model_folder_builds_the_provider()
    {
        string missing = Path.Combine(Path.GetTempPath(), "dbrx-missing-" + Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection();
        services.AddDbrxChatClient(o => o.ModelPath = missing);
        using ServiceProvider provider = services.BuildServiceProvider();
        Assert.False(Directory.Exists(missing));
        // Resolving the client outside a host validates then, with the same message.
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains($"DbrxChatClientOptions.ModelPath '{missing}' does not exist or is not a folder.", error.Message);
    }

    [Fact]
    public async Task With_LoadEagerly_the_host_loads_the_model_after_starting_and_logs_its_progress()
    {
        var sink = new ListLoggerProvider();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(sink);
        builder.Services.AddDbrxChatClient(o =>
        {
            o.ModelPath = tiny.Directory;
            o.Device = "cpu";
            o.LoadEagerly = true;
        });
        using IHost host = builder.Build();
        var client = host.Services.GetRequiredService<DbrxChatClient>();
        Assert.Equal(DbrxModelState.NotLoaded, client.ModelState);

        var loaded = new TaskCompletionSource();
        sink.Logged += message =>
        {
            if (message == "The DBRX model is loaded: requests run at once.")
                loaded.TrySetResult();
        };
        await host.StartAsync(Ct);
        await loaded.Task.WaitAsync(Ct);

        Assert.Equal(DbrxModelState.Loaded, client.ModelState);
        Assert.Contains(sink.Messages, m => m.StartsWith("Loading DBRX: 100%", StringComparison.Ordinal));
        await host.StopAsync(Ct);
    }

    /// <summary>What the loader would refuse on the first request (minutes later for a real model) is refused when the host starts.</summary>
    [Theory]
    [InlineData("int4", "sdpa", 8, null, "int4 quantization needs d_model (experts' w1, v1) = 64 to be a multiple of the group size 128")]
    [InlineData("float32", "flash_attention_2", 8, null, "flash_attention_2 needs every block on a CUDA device")]
    [InlineData("float32", "sdpa", 8, 1_000_000, "DbrxChatClientOptions.ContextLength must be between 2 and the model's max_seq_len")]
    [InlineData("float32", "sdpa", int.MaxValue, null, "The model does not fit: cpu would hold")]
    public void What_loading_would_refuse_fails_when_the_host_starts(string dtype, string attention, int batch, int? context, string message)
    {
        string error = HostStartError(o =>
        {
            o.ModelPath = tiny.Directory;
            o.Device = "cpu";
            o.DType = dtype;
            o.AttentionImplementation = attention;
            o.MaxBatchSize = batch;
            o.ContextLength = context;
        });
        Assert.Contains(message, error);
        Assert.Contains("DbrxChatClientOptions", error);
    }

    [Fact]
    public void Other_bad_options_are_named_too()
    {
        Assert.Contains("DType 'int3'", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, DType = "int3" }.Validate()).Message);
        Assert.Contains("AttentionImplementation 'fast'", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, AttentionImplementation = "fast" }.Validate()).Message);
        Assert.Contains("DbrxChatClientOptions.Int4Modules 'experts,mlp': Unknown quantized module 'mlp'", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, Int4Modules = "experts,mlp" }.Validate()).Message);
        Assert.Contains("The int4 group size must be 32, 64, 128 or 256, not 100", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, Int4GroupSize = 100 }.Validate()).Message);
        Assert.Contains("PrefillChunkTokens must be at least 1, not 0", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, PrefillChunkTokens = 0 }.Validate()).Message);
        Assert.Contains("DefaultMaxOutputTokens must be at least 1", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = tiny.Directory, DefaultMaxOutputTokens = 0 }.Validate()).Message);
        using var dir = new TempFolder();
        Assert.Contains("has no config.json", Assert.Throws<ArgumentException>(() => new DbrxChatClientOptions { ModelPath = dir.Path }.Validate()).Message);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("dbrx-empty-").FullName;
        public void Dispose() => Directory.Delete(Path, true);
    }
}
