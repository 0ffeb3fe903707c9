using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Dbrx.Server.Tests;

/// <summary>
/// The llm-d manifests in <c>deploy/llm-d</c> cannot run here, so they are parsed and held to the server: every metric
/// the endpoint picker's <c>engineConfigs</c> name is on a real server's <c>/metrics</c> with the type and labels the
/// picker reads, every path they probe or call is one the server maps, the ports agree across the replicas' arguments,
/// the pool, the services and the picker, and every <c>dbrx serve</c> flag they use is in its <c>--help</c>.
/// </summary>
[Collection("Server")]
public sealed partial class LlmdDeployTests(ServerFixture fixture)
{
    private readonly DbrxTestServer server = fixture.Server;
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "deploy", "llm-d");
    private static readonly string[] EppConfigs = ["kubernetes/epp-config.yaml", "bare-metal/epp-config.yaml"];

    [Theory]
    [InlineData("kubernetes/epp-config.yaml")]
    [InlineData("bare-metal/epp-config.yaml")]
    public async Task TheEngineConfigNamesMetricsTheServerServes(string file)
    {
        YamlMappingNode extractor = Parameters(Plugin(file, "core-metrics-extractor"));
        Assert.Equal("llm-d.ai/engine-type", Scalar(extractor, "engineLabelKey"));
        var engine = Assert.Single(((YamlSequenceNode)extractor["engineConfigs"]).Cast<YamlMappingNode>());
        Assert.Equal("dbrx", Scalar(engine, "name"));

        string metricsPath = Scalar(Parameters(Plugin(file, "metrics-data-source")), "path");
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        string metrics = await anonymous.GetStringAsync(metricsPath, Cancellation);
        foreach (string spec in (string[])["queuedRequestsSpec", "runningRequestsSpec", "kvUsageSpec", "cacheInfoSpec"])
        {
            string name = Scalar(engine, spec).Split('{')[0];
            Assert.Contains($"# TYPE {name} gauge\n", metrics, StringComparison.Ordinal);
        }
        Match info = Assert.Single(Regex.Matches(metrics, $@"^{Regex.Escape(Scalar(engine, "cacheInfoSpec"))}\{{(?<labels>[^}}]*)\}} 1$", RegexOptions.Multiline));
        Dictionary<string, string> labels = Label().Matches(info.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.True(int.Parse(labels[Scalar(engine, "cacheNumBlocksLabelName")], CultureInfo.InvariantCulture) > 0);

        // The picker hashes prompts in blocks of the size the replicas report.
        YamlMappingNode precise = Parameters(Plugin(file, "precise-prefix-cache-scorer"));
        Assert.Equal(labels[Scalar(engine, "cacheBlockSizeLabelName")], Scalar((YamlMappingNode)precise["tokenProcessorConfig"], "blockSize"));
    }

    [Fact]
    public void BothPickersMapTheEngineAlike()
    {
        string[] engines = [.. EppConfigs.Select(f => Serialize(Parameters(Plugin(f, "core-metrics-extractor"))["engineConfigs"]))];
        Assert.Equal(engines[0], engines[1]);
    }

    [Fact]
    public async Task TheReplicasProbesAndRenderPathsAreServed()
    {
        YamlMappingNode container = DbrxContainer();
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        foreach (string probe in (string[])["readinessProbe", "livenessProbe"])
        {
            var get = (YamlMappingNode)((YamlMappingNode)container[probe])["httpGet"];
            Assert.Equal("http", Scalar(get, "port"));
            using HttpResponseMessage response = await anonymous.GetAsync(Scalar(get, "path"), Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal("/health/ready", Scalar((YamlMappingNode)((YamlMappingNode)container["readinessProbe"])["httpGet"], "path"));

        // The token producer posts to these under its base URL (llm-d-inference-scheduler's vllm_http.go).
        foreach (string file in EppConfigs)
        {
            YamlMappingNode producer = Parameters(Plugin(file, "token-producer"));
            Assert.Equal(Argument(container, "--model-id"), Scalar(producer, "modelName"));
            Assert.Matches(@"^http://[^/]+:8000$", Scalar((YamlMappingNode)producer["vllm"], "http"));
        }
        Assert.Contains("/v1/chat/completions/render", server.Routes);
        Assert.Contains("/v1/completions/render", server.Routes);
    }

    [Fact]
    public void ThePortsAndLabelsAgree()
    {
        YamlMappingNode container = DbrxContainer();
        int http = Port(container, "http");
        Assert.Equal(Argument(container, "--port"), http.ToString(CultureInfo.InvariantCulture));
        YamlMappingNode pool = Document("kubernetes/inferencepool.yaml", "InferencePool");
        Assert.Equal(http.ToString(CultureInfo.InvariantCulture), Scalar((YamlMappingNode)((YamlSequenceNode)Spec(pool)["targetPorts"])[0], "number"));
        Assert.Equal(http.ToString(CultureInfo.InvariantCulture), Scalar(Load("bare-metal/backends.yaml").Single(), "targetPort"));
        Assert.All(Backends(), b => Assert.EndsWith($":{http}", Scalar(b, "address"), StringComparison.Ordinal));

        // The KV events: bound by each replica, subscribed to by the picker on the same port.
        int events = Port(container, "kv-events");
        Assert.Equal($"tcp://*:{events}", Argument(container, "--kv-events"));
        foreach (string file in EppConfigs)
        {
            var kvEvents = (YamlMappingNode)Parameters(Plugin(file, "precise-prefix-cache-scorer"))["kvEventsConfig"];
            var discovery = (YamlMappingNode)kvEvents["podDiscoveryConfig"];
            Assert.Equal(events.ToString(CultureInfo.InvariantCulture), Scalar(discovery, "socketPort"));
            Assert.Equal("true", Scalar(kvEvents, "discoverPods"));
            Assert.StartsWith(Scalar(kvEvents, "topicFilter"), "kv@host:8000@dbrx-instruct", StringComparison.Ordinal);
            string[] selector = Scalar(discovery, "podLabelSelector").Split('=');
            Assert.Equal(selector[1], Scalar(PodLabels(), selector[0]));
            Assert.All(Backends(), b => Assert.Equal(selector[1], Scalar((YamlMappingNode)b["labels"], selector[0])));
        }

        // The pool selects the replicas, which carry the engine type the picker maps, and names the picker's port.
        var matchLabels = (YamlMappingNode)((YamlMappingNode)Spec(pool)["selector"])["matchLabels"];
        Assert.All(matchLabels.Children, l => Assert.Equal(((YamlScalarNode)l.Value).Value, Scalar(PodLabels(), ((YamlScalarNode)l.Key).Value!)));
        Assert.Equal("dbrx", Scalar(PodLabels(), "llm-d.ai/engine-type"));
        var picker = (YamlMappingNode)Spec(pool)["endpointPickerRef"];
        string pickerPort = Scalar((YamlMappingNode)picker["port"], "number");
        YamlMappingNode eppService = Document("kubernetes/epp.yaml", "Service");
        Assert.Equal(Scalar((YamlMappingNode)eppService["metadata"], "name"), Scalar(picker, "name"));
        Assert.Contains(((YamlSequenceNode)Spec(eppService)["ports"]).Cast<YamlMappingNode>(), p => Scalar(p, "port") == pickerPort);
        YamlMappingNode epp = Containers(Document("kubernetes/epp.yaml", "Deployment")).Single();
        Assert.Equal(pickerPort, Argument(epp, "--grpc-port"));
        Assert.Contains("endpoint_picker", File.ReadAllText(Path.Combine(Root, "bare-metal/envoy.yaml")), StringComparison.Ordinal);
        Assert.Contains($"port_value: {pickerPort} }}", File.ReadAllText(Path.Combine(Root, "bare-metal/envoy.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryDbrxServeFlagIsInItsHelp()
    {
        string help = await ServeHelpAsync();
        string[] deployed = [.. ((YamlSequenceNode)DbrxContainer()["args"]).Cast<YamlScalarNode>().Select(a => a.Value!)];
        List<string[]> commands = [deployed];
        foreach (string file in (string[])["README.md", "bare-metal/backends.yaml"])
            commands.AddRange(ServeCommand().Matches(File.ReadAllText(Path.Combine(Root, file))).Select(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(4, commands.Count);
        foreach (string[] command in commands)
        {
            Assert.Equal("serve", command[0]);
            foreach (string flag in command.Where(a => a.StartsWith("--", StringComparison.Ordinal)))
                Assert.Contains($" {flag} <", help, StringComparison.Ordinal);
            Assert.Equal("tcp://*:5557", command[Array.IndexOf(command, "--kv-events") + 1]);
            // The events name the replica by the address its API is reached at: the pod's IP, or the host's.
            if (Array.IndexOf(command, "--kv-events-topic") is int topic and >= 0)
            {
                Assert.Matches(@"^kv@\$\(?(POD_IP|HOST_IP)\)?:8000@dbrx-instruct$", command[topic + 1]);
                command[topic + 1] = "kv@<address>:8000@dbrx-instruct";
            }
        }
        // A bare-metal replica (README.md, backends.yaml) runs as a pod does.
        Assert.Equal(3, commands.Count(c => c.SequenceEqual(deployed)));
    }

    private static async Task<string> ServeHelpAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "dbrx.dll"), "serve", "--help"])
            start.ArgumentList.Add(arg);
        using Process process = Process.Start(start)!;
        string help = await process.StandardOutput.ReadToEndAsync(Cancellation);
        await process.WaitForExitAsync(Cancellation);
        Assert.Equal(0, process.ExitCode);
        return help;
    }

    private static YamlMappingNode DbrxContainer() => Containers(Document("kubernetes/dbrx.yaml", "Deployment")).Single(c => Scalar(c, "name") == "dbrx");

    private static YamlMappingNode PodLabels() =>
        (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)Spec(Document("kubernetes/dbrx.yaml", "Deployment"))["template"])["metadata"])["labels"];

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode deployment) =>
        ((YamlSequenceNode)Spec((YamlMappingNode)Spec(deployment)["template"])["containers"]).Cast<YamlMappingNode>();

    private static IEnumerable<YamlMappingNode> Backends() => ((YamlSequenceNode)Load("bare-metal/backends.yaml").Single()["backends"]).Cast<YamlMappingNode>();

    private static int Port(YamlMappingNode container, string name) =>
        int.Parse(Scalar(((YamlSequenceNode)container["ports"]).Cast<YamlMappingNode>().Single(p => Scalar(p, "name") == name), "containerPort"), CultureInfo.InvariantCulture);

    /// <summary>The value after <paramref name="flag"/> in a container's <c>args</c>.</summary>
    private static string Argument(YamlMappingNode container, string flag)
    {
        var args = ((YamlSequenceNode)container["args"]).Cast<YamlScalarNode>().Select(a => a.Value!).ToList();
        int at = args.IndexOf(flag);
        Assert.True(at >= 0 && at + 1 < args.Count, $"{flag} is not in the container's args.");
        return args[at + 1];
    }

    private static YamlMappingNode Plugin(string file, string type) =>
        ((YamlSequenceNode)Load(file).Single()["plugins"]).Cast<YamlMappingNode>().Single(p => Scalar(p, "type") == type);

    private static YamlMappingNode Parameters(YamlMappingNode plugin) => (YamlMappingNode)plugin["parameters"];

    private static YamlMappingNode Spec(YamlMappingNode node) => (YamlMappingNode)node["spec"];

    private static YamlMappingNode Document(string file, string kind) => Load(file).Single(d => Scalar(d, "kind") == kind);

    private static List<YamlMappingNode> Load(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Root, file)))
            stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static string Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) ? ((YamlScalarNode)value).Value! : throw new Xunit.Sdk.XunitException($"'{key}' is missing at line {node.Start.Line}.");

    private static string Serialize(YamlNode node)
    {
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex Label();

    [GeneratedRegex(@"dbrx (serve --[^\n`]*)")]
    private static partial Regex ServeCommand();
}
