using Dbrx.Inference.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Dbrx.Extensions.AI.Tests;

public sealed class DependencyInjectionTests(TinyCheckpoint tiny) : IClassFixture<TinyCheckpoint>
{
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
        var engine = (LazyDbrxEngine)client.GetService<IDbrxEngine>()!;
        Assert.False(engine.IsLoaded);
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public void The_auto_placement_plans_for_the_clients_batch_and_context()
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = tiny.Directory, MaxBatchSize = 3, ContextLength = 100 });
        var engine = (LazyDbrxEngine)client.GetService<IDbrxEngine>()!;
        Assert.Equal((3, 100), (engine.LoadOptions.PlanCacheRows, engine.LoadOptions.PlanCacheTokens));
    }

    [Fact]
    public void Serving_options_reach_the_generator()
    {
        using var client = new DbrxChatClient(new DbrxChatClientOptions { ModelPath = tiny.Directory, MaxBatchSize = 3, MaxQueuedRequests = 5, ContextLength = 100, PrefillChunkTokens = 7, ReusePromptPrefixes = false });
        var serving = ((LazyDbrxEngine)client.GetService<IDbrxEngine>()!).ServingOptions;
        Assert.Equal(new DbrxGeneratorOptions { MaxBatchSize = 3, MaxQueuedRequests = 5, ContextLength = 100, PrefillChunkTokens = 7, ReusePromptPrefixes = false }, serving);
    }

    [Fact]
    public void Int4_options_reach_the_loader_and_a_complete_device_map_is_accepted()
    {
        var options = new DbrxChatClientOptions { ModelPath = tiny.Directory, Device = "embedding=cpu,0=cpu,head=cpu", DType = "int4", Int4Modules = "experts,attention", Int4GroupSize = 32 };
        using var client = new DbrxChatClient(options);
        var engine = (LazyDbrxEngine)client.GetService<IDbrxEngine>()!;
        Assert.Equal((Inference.Runtime.DbrxDType.Int4, Inference.Quantization.DbrxQuantization.WithModules("experts,attention", 32)), (engine.LoadOptions.DType, engine.LoadOptions.Int4));
        Assert.Equal("embedding=cpu,0=cpu,head=cpu", engine.LoadOptions.Device);
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
    public void Invalid_options_fail_at_registration_with_the_option_named(string? path, string device, string message)
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<ArgumentException>(() => services.AddDbrxChatClient(o =>
        {
            o.ModelPath = path == "TINY" ? tiny.Directory : path;
            o.Device = device;
        }));
        Assert.Contains(message, error.Message);
    }

    /// <summary>What the loader would refuse on the first request (minutes later for a real model) is refused at registration.</summary>
    [Theory]
    [InlineData("int4", "sdpa", 8, null, "int4 quantization needs d_model (experts' w1, v1) = 64 to be a multiple of the group size 128")]
    [InlineData("float32", "flash_attention_2", 8, null, "flash_attention_2 needs every block on a CUDA device")]
    [InlineData("float32", "sdpa", 8, 1_000_000, "DbrxChatClientOptions.ContextLength must be between 2 and the model's max_seq_len")]
    [InlineData("float32", "sdpa", int.MaxValue, null, "The model does not fit: cpu would hold")]
    public void What_loading_would_refuse_fails_at_registration(string dtype, string attention, int batch, int? context, string message)
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<ArgumentException>(() => services.AddDbrxChatClient(o =>
        {
            o.ModelPath = tiny.Directory;
            o.Device = "cpu";
            o.DType = dtype;
            o.AttentionImplementation = attention;
            o.MaxBatchSize = batch;
            o.ContextLength = context;
        }));
        Assert.Contains(message, error.Message);
        Assert.Contains("DbrxChatClientOptions", error.Message);
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
