using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Updates;

/// <summary>How an update ended: whether the new program now runs (the old one steps aside), and what to report.</summary>
public sealed record UpdateOutcome(bool Installed, string Result);

/// <summary>
/// Replaces the agent's own program with a build the server signed (<c>agentUpdate</c>). Nothing is replaced before
/// everything is checked: the manifest's signature against the key pinned at first contact, a newer version for this
/// runtime, then the download, into <c>update/staging</c> in the state directory, cut off beyond the manifest's size and
/// refused when shorter or when its SHA-256 differs. Then the running program is kept as <c>&lt;program&gt;.previous</c>,
/// the new one takes its name (an atomic rename on Linux and macOS), and it must prove itself: started as
/// <c>homeroom-agent probe</c>, it must connect with the device's credential and be welcomed within
/// <see cref="AgentOptions.UpdateTrialTimeout"/>. After <see cref="AgentOptions.UpdateAttempts"/> failed starts the previous
/// program is put back and the build is remembered as rolled back (never tried again). Each attempt is recorded in
/// <c>update/update.json</c> before it starts, so the record survives a crash of the agent itself.
/// </summary>
public sealed class SelfUpdater(AgentOptions options, AgentPaths paths, HttpClient http, ILogger<SelfUpdater> logger) : ICapability
{
    /// <summary>The runtime this program was built for (<c>linux-x64</c>, <c>win-x64</c>, <c>osx-arm64</c>, <c>osx-x64</c>).</summary>
    public static string Runtime => RuntimeInformation.RuntimeIdentifier;

    /// <summary>The program file updates replace.</summary>
    public string? Program => options.UpdateProgram ?? Environment.ProcessPath;

    /// <summary>Where the previous program is kept after an update.</summary>
    public string PreviousProgram => Program + ".previous";

    private string Directory => Path.Combine(paths.StateDirectory, "update");

    private string MarkerFile => Path.Combine(Directory, "update.json");

    public IEnumerable<AgentCapability> Describe() => [Unavailable() is { } reason ? new(CapabilityNames.SelfUpdate, false, reason) : new(CapabilityNames.SelfUpdate, true)];

    /// <summary>Why this agent cannot update itself, or null.</summary>
    public string? Unavailable()
    {
        var name = Path.GetFileNameWithoutExtension(Program);
        return name != "homeroom-agent"
            ? "this agent is not an installed single-file program (it runs from a development build); update it with its package"
            : !AgentUpdates.Runtimes.Contains(Runtime) ? $"no builds are made for this runtime ({Runtime})" : null;
    }

    /// <summary>
    /// Checks, downloads and installs the build an <c>agentUpdate</c> command offers. <paramref name="standAside"/> is
    /// called once the new program is in place and before it is started, so the new one is the device's only connection.
    /// </summary>
    public async Task<UpdateOutcome> ApplyAsync(
        IReadOnlyDictionary<string, string>? arguments, byte[]? publicKey, AgentSecrets secrets, Func<Task> standAside, CancellationToken cancellationToken)
    {
        if (Unavailable() is { } unavailable)
        {
            return new(false, $"agentUpdate: {unavailable}");
        }

        var current = AgentUpdates.VersionOfAgent(AgentOptions.Version) ?? "0.0.0";
        if (AgentUpdates.Verify(arguments, publicKey, Runtime, current, out var manifest) is { } refused)
        {
            AgentLog.UpdateRefused(logger, refused);
            return new(false, $"update refused: {refused}; nothing was replaced");
        }

        var marker = ReadMarker();
        if (marker is { State: UpdateMarker.RolledBack } && marker.Sha256 == manifest!.Sha256)
        {
            return new(false, $"update refused: version {manifest.Version} was rolled back on this device before ({marker.Detail}); nothing was replaced");
        }

        EnsureDirectory();
        var staging = Path.Combine(Directory, "staging");
        if (await DownloadAsync(manifest!, secrets, staging, cancellationToken) is { } problem)
        {
            File.Delete(staging);
            AgentLog.UpdateRefused(logger, problem);
            return new(false, $"update refused: {problem}; nothing was replaced");
        }

        var program = Program!;
        Install(staging, program);
        await standAside();
        string? failure = null;
        for (var attempt = 1; attempt <= options.UpdateAttempts; attempt++)
        {
            WriteMarker(new UpdateMarker(manifest!.Sha256, manifest.Version, current, UpdateMarker.Trying, attempt, failure));
            failure = await TryStartAsync(program, cancellationToken);
            if (failure is null)
            {
                File.Delete(MarkerFile);
                AgentLog.Updated(logger, current, manifest.Version);
                return new(true, $"updated from {current} to {manifest.Version}; the new version connected");
            }

            AgentLog.UpdateAttemptFailed(logger, manifest.Version, attempt, failure);
        }

        // The new program never got through: the previous one takes its name back.
        File.Move(PreviousProgram, program, overwrite: true);
        var detail = $"version {manifest!.Version} did not connect within {options.UpdateTrialTimeout.TotalSeconds:0} s in {options.UpdateAttempts} attempt(s); last: {failure}";
        WriteMarker(new UpdateMarker(manifest.Sha256, manifest.Version, current, UpdateMarker.RolledBack, options.UpdateAttempts, detail));
        AgentLog.RolledBack(logger, current, detail);
        return new(false, $"rolled back to {current}: {detail}");
    }

    /// <summary>Streams the build into <paramref name="staging"/>: null when it is exactly the signed size and hash, else why not.</summary>
    private async Task<string?> DownloadAsync(AgentUpdateManifest manifest, AgentSecrets secrets, string staging, CancellationToken cancellationToken)
    {
        try
        {
            using var request = AgentProtocol.DeviceRequest(secrets.Server, manifest.DownloadPath, secrets.DeviceId!.Value, secrets.Credential!);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return $"the download answered {(int)response.StatusCode}";
            }

            if (response.Content.Headers.ContentLength > manifest.Size)
            {
                return $"the download is larger ({response.Content.Headers.ContentLength} bytes) than its signed size ({manifest.Size} bytes)";
            }

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            }

            long received = 0;
            await using (var source = await response.Content.ReadAsStreamAsync(cancellationToken))
            await using (var file = new FileStream(staging, fileOptions))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    received += read;
                    if (received > manifest.Size)
                    {
                        return $"the download is larger than its signed size ({manifest.Size} bytes): stopped";
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                file.Flush(flushToDisk: true);
            }

            if (received < manifest.Size)
            {
                return $"the download is truncated ({received} of {manifest.Size} bytes)";
            }

            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            return CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(sha256), System.Text.Encoding.ASCII.GetBytes(manifest.Sha256))
                ? null
                : "the download's SHA-256 does not match its signed hash";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return $"the download failed ({e.Message})";
        }
    }

    /// <summary>Keeps the running program as .previous and puts the verified one in its place.</summary>
    private void Install(string staging, string program)
    {
        if (OperatingSystem.IsWindows())
        {
            // A running program cannot be replaced on Windows, but it can be renamed.
            File.Move(program, PreviousProgram, overwrite: true);
            File.Move(staging, program);
            return;
        }

        // The name never points at nothing: the copy is made first, then one rename replaces the program.
        File.Copy(program, PreviousProgram, overwrite: true);
        File.SetUnixFileMode(staging, File.GetUnixFileMode(program) | UnixFileMode.UserExecute);
        File.Move(staging, program, overwrite: true);
    }

    /// <summary>Starts the new program's <c>probe</c>: null when it was welcomed, else what went wrong.</summary>
    private async Task<string?> TryStartAsync(string program, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in (string[])["probe", "--state", paths.StateDirectory, "--timeout", ((int)options.UpdateTrialTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IOException("not started");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return $"it could not be started ({e.Message})";
        }

        using (process)
        {
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(options.UpdateTrialTimeout + TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return "it did not finish its first connection in time";
            }

            if (process.ExitCode == 0)
            {
                return null;
            }

            var said = (await stderr).Trim();
            said = said.Length <= 200 ? said : said[^200..];
            return $"exit code {process.ExitCode}{(said.Length > 0 ? ": " + said : "")}";
        }
    }

    private void EnsureDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private UpdateMarker? ReadMarker()
    {
        try
        {
            return File.Exists(MarkerFile) ? JsonSerializer.Deserialize(File.ReadAllBytes(MarkerFile), AgentStateJsonContext.Default.UpdateMarker) : null;
        }
        catch (JsonException)
        {
            return null; // a damaged record only forgets a rolled-back build
        }
    }

    private void WriteMarker(UpdateMarker marker) =>
        AgentPaths.WriteAtomically(MarkerFile, JsonSerializer.SerializeToUtf8Bytes(marker, AgentStateJsonContext.Default.UpdateMarker));
}

/// <summary>Leaving the process at once, without running any more managed code.</summary>
internal static partial class ProcessExit
{
    /// <summary>
    /// Ends the process with <paramref name="code"/> on Linux and macOS. After a self-update the program's path holds
    /// the new single file, and the runtime maps assemblies it has not loaded yet from that path: a normal shutdown
    /// would read the new file at the old file's offsets and crash (SIGABRT). Everything that must survive (the journal)
    /// is already flushed to disk.
    /// </summary>
    public static void Immediately(int code)
    {
        Console.Out.Flush();
        ExitProcess(code);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitProcess(int code);
}

/// <summary>The record of an update in progress or rolled back (<c>update/update.json</c> in the state directory).</summary>
/// <param name="Sha256">The build's SHA-256.</param>
/// <param name="Version">Its version.</param>
/// <param name="From">The version it replaced.</param>
/// <param name="State"><see cref="Trying"/> or <see cref="RolledBack"/>.</param>
/// <param name="Attempts">Starts of the new program so far.</param>
/// <param name="Detail">What went wrong last.</param>
public sealed record UpdateMarker(string Sha256, string Version, string From, string State, int Attempts, string? Detail)
{
    public const string Trying = "trying";
    public const string RolledBack = "rolledBack";
}
