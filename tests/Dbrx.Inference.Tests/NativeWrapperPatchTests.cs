using System.Diagnostics;
using System.Security.Cryptography;
using Dbrx.Inference.Tests.Support;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The libstdc++ fix for TorchSharp's native wrapper, run by MSBuild as an application's build runs it (the package's
/// buildTransitive targets after a build that copies the wrapper into its output), and checked with binutils' readelf,
/// which shares no code with the task.
/// </summary>
public sealed class NativeWrapperPatchTests : IDisposable
{
    private const string Version = "GLIBCXX_3.4.32";
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static string Targets => Path.Combine(AppContext.BaseDirectory, "buildTransitive", "Dbrx.Inference.targets");

    /// <summary>The wrapper as TorchSharp ships it, in the NuGet cache (never modified by the fix).</summary>
    private static string CachedWrapper
    {
        get
        {
            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom ? custom
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            Version version = typeof(TorchSharp.torch).Assembly.GetName().Version!;
            return Path.Combine(packages, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Twenty_fresh_builds_all_patch_the_wrapper_and_never_the_nuget_cache()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The wrapper is a Linux library.");
        string cacheHash = Hash(CachedWrapper);
        Assert.Equal("none", Flags(CachedWrapper));
        string expected = SystemLibStdCxxHasVersion() ? "none" : "WEAK";

        // Twenty applications with fresh outputs, built in parallel by one MSBuild (a process each would mostly time
        // the task's compilation).
        var builds = Enumerable.Range(0, 20).Select(i => Path.Combine(dir.Path, $"app{i}")).ToList();
        foreach (string app in builds)
            WriteProject(app, CachedWrapper);
        string all = Path.Combine(dir.Path, "all.proj");
        File.WriteAllText(all, $"""
            <Project>
              <Target Name="Build">
                <MSBuild Projects="{string.Join(';', builds.Select(app => Path.Combine(app, "app.proj")))}" Targets="Build" BuildInParallel="true" />
              </Target>
            </Project>
            """);
        var result = await RunMSBuild(all);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.All(builds, app => Assert.Equal(expected, Flags(OutputWrapper(app))));
        Assert.Equal(cacheHash, Hash(CachedWrapper));
        Assert.Equal("none", Flags(CachedWrapper));

        // A second build of the same output changes nothing.
        string once = Hash(OutputWrapper(builds[0]));
        Assert.Equal(0, (await Build(builds[0], CachedWrapper, clean: false)).ExitCode);
        Assert.Equal(once, Hash(OutputWrapper(builds[0])));
    }

    [Fact]
    public async Task A_system_libstdcxx_that_has_the_version_leaves_the_wrapper_untouched()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The wrapper is a Linux library.");
        string newer = Path.Combine(dir.Path, "libstdc++.so.6");
        File.WriteAllBytes(newer, [.. "\x7fELF ... "u8, .. System.Text.Encoding.ASCII.GetBytes(Version + "\0"), .. "GLIBCXX_3.4.33\0"u8]);
        string app = Path.Combine(dir.Path, "app");
        var result = await Build(app, CachedWrapper, libstdcxx: newer);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(Hash(CachedWrapper), Hash(OutputWrapper(app)));
    }

    [Fact]
    public async Task A_hard_link_into_a_package_folder_is_broken_not_written_through()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && !SystemLibStdCxxHasVersion(), "Patching happens only where libstdc++ lacks the version.");
        string package = Path.Combine(dir.Path, "package", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(package)!);
        File.Copy(CachedWrapper, package);
        string app = Path.Combine(dir.Path, "app");
        var result = await Build(app, package, hardLink: true);
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("WEAK", Flags(OutputWrapper(app)));
        Assert.Equal(Hash(CachedWrapper), Hash(package));
    }

    [Fact]
    public async Task A_corrupt_wrapper_fails_the_build_naming_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && !SystemLibStdCxxHasVersion(), "Patching happens only where libstdc++ lacks the version.");
        string truncated = Path.Combine(dir.Path, "broken", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(truncated)!);
        File.WriteAllBytes(truncated, File.ReadAllBytes(CachedWrapper)[..4096]);
        string app = Path.Combine(dir.Path, "app");
        var result = await Build(app, truncated);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"could not patch {OutputWrapper(app)}", result.Output);
        Assert.Contains("is truncated or corrupt", result.Output);
    }

    private static string OutputWrapper(string app) => Path.Combine(app, "bin", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>
    /// An application's build, reduced to what matters here: its output gets a fresh copy of the wrapper, then the
    /// package's targets run after Build.
    /// </summary>
    private static Task<(int ExitCode, string Output)> Build(string app, string wrapper, bool clean = true, string? libstdcxx = null, bool hardLink = false)
    {
        if (clean && Directory.Exists(app))
            Directory.Delete(app, recursive: true);
        WriteProject(app, wrapper, libstdcxx, hardLink);
        return RunMSBuild(Path.Combine(app, "app.proj"));
    }

    private static void WriteProject(string app, string wrapper, string? libstdcxx = null, bool hardLink = false)
    {
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "app.proj"), $"""
            <Project>
              <PropertyGroup>
                <OutDir>$(MSBuildThisFileDirectory)bin/</OutDir>
                <DbrxSystemLibStdCxx>{libstdcxx}</DbrxSystemLibStdCxx>
              </PropertyGroup>
              <Import Project="{Targets}" />
              <Target Name="Build">
                <Copy SourceFiles="{wrapper}" DestinationFolder="$(OutDir)runtimes/linux-x64/native" UseHardlinksIfPossible="{hardLink}" />
              </Target>
            </Project>
            """);
    }

    private static async Task<(int ExitCode, string Output)> RunMSBuild(string project)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(project)! };
        foreach (string arg in new[] { "msbuild", project, "-nologo", "-nodeReuse:false", "-m", "-v:m", "-t:Build" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>The flags readelf prints for the wrapper's GLIBCXX_3.4.32 requirement: "none" or "WEAK".</summary>
    private static string Flags(string library)
    {
        string line = ReadElfVersions(library).Split('\n').Single(l => l.Contains($"Name: {Version} "));
        return line[(line.IndexOf("Flags: ", StringComparison.Ordinal) + "Flags: ".Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
    }

    private static bool SystemLibStdCxxHasVersion()
    {
        string? system = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        return system is not null && ReadElfVersions(system).Contains($"Name: {Version}\n");
    }

    private static string ReadElfVersions(string library)
    {
        var start = new ProcessStartInfo("readelf") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-V");
        start.ArgumentList.Add(library);
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }

    private static string Hash(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
}
