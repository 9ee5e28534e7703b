using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Scripts;

/// <summary>How a script ended: its exit code (null when killed at its time limit) and the end of each output.</summary>
public sealed record ScriptOutcome(int? ExitCode, bool TimedOut, int Milliseconds, string Stdout, string Stderr, bool OutputTruncated);

/// <summary>
/// Runs approved scripts (<c>runScript</c>) once <see cref="ScriptSigning.Verify"/> has passed them, and only then: the
/// body is written to an owner-only file in the state directory's <c>scripts</c> folder, run by the platform's
/// interpreter (PowerShell on Windows, bash on Linux, sh on macOS) as the agent's own user, with its input closed, its
/// standard output and error kept apart (the last <see cref="ScriptLimits.MaxOutputChars"/> characters of each), killed
/// with its child processes at the time limit, and deleted afterwards.
/// </summary>
public sealed class ScriptRunner(AgentPaths paths, TimeProvider time) : ICapability
{
    /// <summary>This device's platform as scripts name it.</summary>
    public static string Platform => AgentOptions.Platform.ToString().ToLowerInvariant();

    public IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.Scripts, true)];

    public async Task<ScriptOutcome> RunAsync(Guid commandId, VerifiedScript script, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(paths.StateDirectory, "scripts");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var file = Path.Combine(directory, commandId.ToString("N") + (script.Platform == ScriptPlatforms.Windows ? ".ps1" : ".sh"));
        AgentPaths.WriteAtomically(file, script.Body);
        try
        {
            return await RunFileAsync(Interpreter(script.Platform, file), directory, script.TimeLimit, cancellationToken);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Cuts the outputs until the frame fits a text frame of <paramref name="maxBytes"/> (JSON escaping can grow text sixfold).</summary>
    public static ScriptResultFrame Fit(ScriptResultFrame frame, int maxBytes)
    {
        while (JsonSerializer.SerializeToUtf8Bytes<AgentFrame>(frame, AgentJsonContext.Default.AgentFrame).Length > maxBytes
            && (frame.Stdout.Length > 0 || frame.Stderr.Length > 0))
        {
            frame = frame with { Stdout = frame.Stdout[(frame.Stdout.Length / 2)..], Stderr = frame.Stderr[(frame.Stderr.Length / 2)..], OutputTruncated = true };
        }

        return frame;
    }

    private static (string FileName, string[] Arguments) Interpreter(string platform, string file) => platform switch
    {
        ScriptPlatforms.Windows => ("powershell.exe", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", file]),
        ScriptPlatforms.Linux when File.Exists("/bin/bash") => ("/bin/bash", [file]),
        _ => ("/bin/sh", [file]),
    };

    private async Task<ScriptOutcome> RunFileAsync((string FileName, string[] Arguments) interpreter, string directory, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(interpreter.FileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var argument in interpreter.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var stdout = new Tail();
        var stderr = new Tail();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => stdout.Add(e.Data);
        process.ErrorDataReceived += (_, e) => stderr.Add(e.Data);
        var started = time.GetTimestamp();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ScriptOutcome(127, false, 0, "", $"{interpreter.FileName} could not be started: {e.Message}", false);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
        }

        // Drains the redirected output; bounded, in case something the script started outside its tree keeps a pipe open.
        using (var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await process.WaitForExitAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var milliseconds = (int)Math.Min(int.MaxValue, time.GetElapsedTime(started).TotalMilliseconds);
        var (outText, outCut) = stdout.Read();
        var (errText, errCut) = stderr.Read();
        return new ScriptOutcome(timedOut ? null : process.ExitCode, timedOut, milliseconds, outText, errText, outCut || errCut);
    }

    // The last MaxOutputChars characters of a stream, line by line.
    private sealed class Tail
    {
        private readonly StringBuilder _text = new();
        private bool _cut;

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_text)
            {
                _text.Append(line).Append('\n');
                if (_text.Length > ScriptLimits.MaxOutputChars)
                {
                    _text.Remove(0, _text.Length - ScriptLimits.MaxOutputChars);
                    _cut = true;
                }
            }
        }

        public (string Text, bool Cut) Read()
        {
            lock (_text)
            {
                return (_text.ToString(), _cut);
            }
        }
    }
}
