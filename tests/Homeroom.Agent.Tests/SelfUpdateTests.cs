using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Homeroom.Agent.Tests.Support;
using Homeroom.Server.Data;
using Homeroom.Server.SelfUpdates;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Self-update with the real agent program against a real server over loopback, the test standing in for the
/// service manager (it starts the program again when it exits with <see cref="AgentCli.RestartForUpdate"/>, as
/// systemd's Restart=on-failure does). A build with a wrong signature, a download cut short and one whose bytes
/// differ from the signed hash are refused with the old program untouched and running; a build that cannot start is
/// rolled back; a good one replaces the program (the old kept as .previous) and the device reconnects with the new version.
/// In the package-database collection: the running agent checks apt for OS updates when it connects. The programs are
/// <see cref="AgentPrograms"/>' (the package's, then the update's).
/// </summary>
[Collection(PackageDatabaseCollection.Name)]
public sealed class SelfUpdateTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("homeroom-selfupdate-run-").FullName;
    private HomeroomHost _host = null!;
    private ServiceManager? _service;
    private byte[] _version1 = null!;
    private byte[] _version2 = null!;

    private string Program => Path.Combine(_work, "bin", "homeroom-agent");

    private string State => Path.Combine(_work, "state");

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        Directory.CreateDirectory(Path.Combine(_work, "bin"));
        var installed = await AgentPrograms.PackagedProgramAsync();
        File.Copy(installed, Program);
        _version1 = await File.ReadAllBytesAsync(installed);
        _version2 = await File.ReadAllBytesAsync(await AgentPrograms.UpdateProgramAsync());
    }

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _host.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task TamperedTruncatedOrUnstartableBuilds_AreRefusedOrRolledBack_TheOldProgramKeepsRunning()
    {
        var device = await EnrollAndStartAsync();

        // A build whose manifest was signed by another key.
        var forged = await UploadAsync("1.0.1", [.. _version2, 1]);
        await using (var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var build = await db.Set<AgentBuild>().SingleAsync(b => b.Id == forged.Id);
            build.Signature = Convert.ToBase64String(other.SignData(Encoding.UTF8.GetBytes("forged"), HashAlgorithmName.SHA256));
            await db.SaveChangesAsync();
        }

        (await FinishedUpdateAsync(device, forged.Id, "failed")).ShouldContain("signature does not verify");
        await ShouldStillRunVersion1Async(device);

        // A download cut short: the server's copy lost its second half.
        var truncated = await UploadAsync("1.0.2", [.. _version2, 2]);
        var truncatedFile = StoredFile(truncated.Sha256);
        await File.WriteAllBytesAsync(truncatedFile, (await File.ReadAllBytesAsync(truncatedFile))[..(_version2.Length / 2)]);
        (await FinishedUpdateAsync(device, truncated.Id, "failed")).ShouldContain("truncated");
        await ShouldStillRunVersion1Async(device);

        // Bytes that are not the ones signed (same size, one byte changed).
        var tampered = await UploadAsync("1.0.3", [.. _version2, 3]);
        var tamperedFile = StoredFile(tampered.Sha256);
        var bytes = await File.ReadAllBytesAsync(tamperedFile);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(tamperedFile, bytes);
        (await FinishedUpdateAsync(device, tampered.Id, "failed")).ShouldContain("SHA-256 does not match");
        await ShouldStillRunVersion1Async(device);
        File.Exists(Program + ".previous").ShouldBeFalse("nothing was replaced, so nothing was kept aside");

        // A signed, intact build that exits at once: started three times, then the old program is put back.
        var unstartable = await UploadAsync("1.0.4", await File.ReadAllBytesAsync("/bin/false"));
        var rolledBack = await FinishedUpdateAsync(device, unstartable.Id, "failed");
        rolledBack.ShouldContain("rolled back to 1.0.0");
        rolledBack.ShouldContain("3 attempt(s)");
        await ShouldStillRunVersion1Async(device);
        var marker = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(State, "update", "update.json"))).RootElement;
        marker.GetProperty("state").GetString().ShouldBe("rolledBack");
        marker.GetProperty("attempts").GetInt32().ShouldBe(3);
        _service!.Exits.ShouldBeEmpty("the agent never stopped");
    }

    [Fact]
    public async Task SignedNewerBuild_ReplacesTheProgram_KeepsThePrevious_AndTheDeviceReconnectsWithTheNewVersion()
    {
        var device = await EnrollAndStartAsync();
        var build = await UploadAsync("2.0.0", _version2);
        (await FinishedUpdateAsync(device, build.Id, "succeeded")).ShouldBe("updated from 1.0.0 to 2.0.0; the new version connected");

        await Poll.UntilAsync(async () => await AgentVersionAsync(device) == "homeroom-agent/2.0.0", HomeroomHost.Timeout);
        (await File.ReadAllBytesAsync(Program)).ShouldBe(_version2);
        (await File.ReadAllBytesAsync(Program + ".previous")).ShouldBe(_version1);
        _service!.Exits.ShouldBe([AgentCli.RestartForUpdate], _service.Output);
        File.Exists(Path.Combine(State, "update", "staging")).ShouldBeFalse();

        // The new program is the one serving: it answers a command.
        var ping = await _host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", arguments = new { }, deviceIds = new[] { device } });
        await Poll.UntilAsync(async () => (await CommandAsync(device, ping.GetProperty("id").GetGuid())) is { } c && c.GetProperty("status").GetString() == "succeeded", HomeroomHost.Timeout);
    }

    private async Task<Guid> EnrollAndStartAsync()
    {
        var token = await _host.CreateTokenAsync(maxUses: 1);
        var (code, output) = await AgentPrograms.RunAsync(Program, HomeroomHost.Timeout, "enroll", "--server", _host.BaseAddress.ToString(), "--token", token, "--state", State);
        code.ShouldBe(0, output);
        var device = Guid.Parse(output.Split("Enrolled as device ")[1][..36]);
        _service = ServiceManager.Start(Program, "run", "--state", State, "--session-socket", $"homeroom-selfupdate/{Guid.NewGuid():N}");
        await Poll.UntilAsync(async () => await AgentVersionAsync(device) == "homeroom-agent/1.0.0", HomeroomHost.Timeout);
        return device;
    }

    private async Task ShouldStillRunVersion1Async(Guid device)
    {
        (await File.ReadAllBytesAsync(Program)).ShouldBe(_version1);
        _service!.Running.ShouldBeTrue(_service.Output);
        await Poll.UntilAsync(async () => await AgentVersionAsync(device) == "homeroom-agent/1.0.0"
            && (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}")).GetProperty("online").GetBoolean(), HomeroomHost.Timeout);
    }

    private sealed record Uploaded(Guid Id, string Sha256);

    // Uploads a build and makes it current, which offers it to the (older) agent.
    private async Task<Uploaded> UploadAsync(string version, byte[] file)
    {
        using var content = new ByteArrayContent(file);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        using var response = await _host.Client.PostAsync($"/api/agent-updates?rid=linux-x64&version={version}", content);
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var build = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new Uploaded(build.GetProperty("id").GetGuid(), build.GetProperty("sha256").GetString()!);
    }

    private string StoredFile(string sha256) => Path.Combine(_host.Database.DataDirectory, "agent-updates", sha256);

    // Makes the build current and waits for the device's agentUpdate command for it to end; its result or error.
    private async Task<string> FinishedUpdateAsync(Guid device, Guid build, string status)
    {
        var before = await UpdateCommandsAsync(device);
        (await _host.Client.PostAsync($"/api/agent-updates/{build}/current", null)).EnsureSuccessStatusCode();
        JsonElement command = default;
        await Poll.UntilAsync(async () =>
        {
            var commands = await UpdateCommandsAsync(device);
            command = commands.FirstOrDefault(c => !before.Any(b => b.GetProperty("commandId").GetGuid() == c.GetProperty("commandId").GetGuid()));
            return command.ValueKind == JsonValueKind.Object && command.GetProperty("status").GetString() is "succeeded" or "failed" or "expired";
        }, TimeSpan.FromMinutes(3));
        command.GetProperty("status").GetString().ShouldBe(status, command + "\n" + _service!.Output);
        return command.GetProperty(status == "succeeded" ? "result" : "error").GetString()!;
    }

    private async Task<List<JsonElement>> UpdateCommandsAsync(Guid device) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}/commands")).GetProperty("items").EnumerateArray()
            .Where(c => c.GetProperty("kind").GetString() == "agentUpdate").ToList();

    private async Task<JsonElement?> CommandAsync(Guid device, Guid command) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}/commands")).GetProperty("items").EnumerateArray()
            .Where(c => c.GetProperty("commandId").GetGuid() == command).Select(c => (JsonElement?)c).FirstOrDefault();

    private async Task<string?> AgentVersionAsync(Guid device) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}")).GetProperty("agentVersion").GetString();

    /// <summary>What systemd's Restart=on-failure does for the test: runs the program, and again when it exits with anything but 0.</summary>
    private sealed class ServiceManager : IAsyncDisposable
    {
        private readonly string _program;
        private readonly string[] _arguments;
        private readonly StringBuilder _output = new();
        private readonly CancellationTokenSource _stop = new();
        private Process? _process;
        private Task _loop = Task.CompletedTask;

        private ServiceManager(string program, string[] arguments) => (_program, _arguments) = (program, arguments);

        /// <summary>The exit codes of the runs that ended (restarted after each but 0).</summary>
        public List<int> Exits { get; } = [];

        public bool Running => _process is { HasExited: false };

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static ServiceManager Start(string program, params string[] arguments)
        {
            var manager = new ServiceManager(program, arguments);
            manager._loop = Task.Run(manager.LoopAsync);
            return manager;
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var start = new ProcessStartInfo(_program) { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var argument in _arguments)
                {
                    start.ArgumentList.Add(argument);
                }

                start.Environment.Remove("DOTNET_ROOT");
                using var process = new Process { StartInfo = start };
                process.OutputDataReceived += (_, e) => Append(e.Data);
                process.ErrorDataReceived += (_, e) => Append(e.Data);
                process.Start();
                _process = process;
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                try
                {
                    await process.WaitForExitAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopped: the program is ended here, before this loop disposes its Process (waiting on a disposed
                    // Process from another thread never completes).
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
                    _process = null;
                    return;
                }

                _process = null;
                Exits.Add(process.ExitCode);
                Append($"[exited with {process.ExitCode}]");
                if (process.ExitCode == 0)
                {
                    return;
                }
            }
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(HomeroomHost.Timeout);
            _stop.Dispose();
        }
    }
}
