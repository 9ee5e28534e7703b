using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Connection;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests;

/// <summary>The one way the agent runs an OS tool and reads what it printed, with real programs (<c>/bin/sh</c>).</summary>
public sealed class ProcessRunnerTests : IDisposable
{
    private readonly ProcessRunner _runner = new();
    private readonly string _work = Directory.CreateTempSubdirectory("homeroom-runner-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static OsCommand Shell(string script, TimeSpan? limit = null) => new("/bin/sh", ["-c", script], limit ?? TimeSpan.FromSeconds(30));

    [Fact]
    public async Task RunCapturedAsync_ProgramPrintsAndFails_CapturesBothStreamsAndItsExitCode()
    {
        var run = await _runner.RunCapturedAsync(Shell("echo to-output; echo to-error >&2; exit 3"), CancellationToken.None);

        run.Finished.ShouldBeTrue();
        run.ExitCode.ShouldBe(3);
        run.Output.ShouldContain("to-output\n");
        run.Output.ShouldContain("to-error\n");
    }

    [Fact]
    public async Task RunCapturedAsync_StandardErrorNotCaptured_KeepsOnlyStandardOutput()
    {
        var run = await _runner.RunCapturedAsync(Shell("echo to-output; echo to-error >&2") with { CaptureStandardError = false }, CancellationToken.None);

        run.ExitCode.ShouldBe(0);
        run.Output.ShouldBe("to-output\n");
    }

    [Fact]
    public async Task RunCapturedAsync_Environment_IsAddedToTheProgramsOwn()
    {
        var command = Shell("printf '%s|%s' \"$HOMEROOM_RUNNER_TEST\" \"${PATH:+has-path}\"") with
        {
            Environment = new Dictionary<string, string> { ["HOMEROOM_RUNNER_TEST"] = "given value" },
        };

        var run = await _runner.RunCapturedAsync(command, CancellationToken.None);

        run.Output.ShouldBe("given value|has-path\n");
    }

    [Fact]
    public async Task RunCapturedAsync_ProgramReadsItsInput_InputIsClosedSoItFinishes()
    {
        var run = await _runner.RunCapturedAsync(new("/bin/cat", [], TimeSpan.FromSeconds(30)), CancellationToken.None);

        run.Finished.ShouldBeTrue();
        run.ExitCode.ShouldBe(0);
        run.Output.ShouldBeEmpty();
    }

    [Fact]
    public async Task RunCapturedAsync_LongOutput_KeepsItsEndWithinTheBound()
    {
        var run = await _runner.RunCapturedAsync(Shell("seq 1 200000"), CancellationToken.None);

        run.ExitCode.ShouldBe(0);
        run.Output.Length.ShouldBeLessThanOrEqualTo(ProcessRunner.MaxOutputChars);
        run.Output.ShouldEndWith("\n199999\n200000\n");
        run.Output.ShouldNotStartWith("1\n");
    }

    [Fact]
    public async Task RunCapturedAsync_ProgramMissing_DidNotFinishWithTheReason()
    {
        var missing = Path.Combine(_work, "no-such-tool");

        var run = await _runner.RunCapturedAsync(new(missing, ["--version"], TimeSpan.FromSeconds(30)), CancellationToken.None);

        run.Finished.ShouldBeFalse();
        run.ExitCode.ShouldBe(-1);
        run.Output.ShouldStartWith($"{missing} could not be started");
    }

    [Fact]
    public async Task RunCapturedAsync_OverItsLimit_StopsTheProgramAndItsChildren()
    {
        var pidFile = Path.Combine(_work, "child.pid");
        var command = Shell($"sleep 300 & echo $! > '{pidFile}'; echo started; wait", TimeSpan.FromSeconds(1));

        var run = await _runner.RunCapturedAsync(command, CancellationToken.None);

        run.Finished.ShouldBeFalse();
        run.ExitCode.ShouldBe(-1);
        run.Output.ShouldBe("sh did not finish within 1 s and was stopped");
        var child = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Poll.UntilAsync(() => Task.FromResult(!Running(child)), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task RunCapturedAsync_Cancelled_StopsTheProgram()
    {
        var pidFile = Path.Combine(_work, "shell.pid");
        using var cancel = new CancellationTokenSource();
        var running = _runner.RunCapturedAsync(Shell($"echo $$ > '{pidFile}'; exec sleep 300", TimeSpan.FromMinutes(10)), cancel.Token);
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(pidFile) && new FileInfo(pidFile).Length > 0), TimeSpan.FromSeconds(10));
        var pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        await cancel.CancelAsync();
        var run = await running.WaitAsync(TimeSpan.FromSeconds(10));

        run.Finished.ShouldBeFalse();
        await Poll.UntilAsync(() => Task.FromResult(!Running(pid)), TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("stopping", "stopping")]
    [InlineData("degraded", "degraded")]
    [InlineData("", null)]
    public async Task SystemdStateAsync_SystemctlAnswers_ReadsTheStateFromItsOutputOnly(string printed, string? state)
    {
        var systemctl = Path.Combine(_work, "systemctl");
        await File.WriteAllTextAsync(systemctl, $"#!/bin/sh\n[ \"$1\" = is-system-running ] || exit 2\necho 'Failed to connect to bus: a complaint on standard error' >&2\necho '{printed}'\nexit 1\n");
        File.SetUnixFileMode(systemctl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        (await ShutdownSignal.SystemdStateAsync(_runner, systemctl)).ShouldBe(state);
    }

    [Fact]
    public async Task SystemdStateAsync_SystemctlMissingOrHanging_IsNull()
    {
        var hanging = Path.Combine(_work, "systemctl-hanging");
        await File.WriteAllTextAsync(hanging, "#!/bin/sh\necho stopping\nexec sleep 300\n");
        File.SetUnixFileMode(hanging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        (await ShutdownSignal.SystemdStateAsync(_runner, null)).ShouldBeNull();
        (await ShutdownSignal.SystemdStateAsync(_runner, Path.Combine(_work, "no-systemctl"))).ShouldBeNull();
        (await ShutdownSignal.SystemdStateAsync(_runner, hanging).WaitAsync(TimeSpan.FromSeconds(30))).ShouldBeNull();
    }

    /// <summary>Whether the process still runs (a zombie left for a parent that does not reap it has stopped).</summary>
    private static bool Running(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 1)..].TrimStart().StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
