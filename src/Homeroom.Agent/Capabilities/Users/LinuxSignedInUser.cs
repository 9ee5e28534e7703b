using System.Runtime.Versioning;

namespace Homeroom.Agent.Capabilities.Users;

/// <summary>
/// The user of the active graphical session on Linux. A connected user-session helper is the strongest signal: the
/// kernel vouches for its uid (<c>SO_PEERCRED</c>) and the service took it as the session's user. With no helper
/// connected, systemd-logind is asked (<c>loginctl list-sessions</c>, then <c>show-session</c>) for the active local
/// graphical session of class <c>user</c>. Where several users' sessions have helpers (fast user switching), the one
/// logind says is active wins. Without a helper or logind (no systemd), nobody is reported.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxSignedInUser(Session.SessionHost sessions, IOsCommandRunner runner, TimeProvider time, string? loginctl, string sessionsDirectory = LinuxSignedInUser.LogindSessionsDirectory)
    : ISignedInUserCapability
{
    /// <summary>Where logind keeps a file per session; it replaces a session's file whenever the session changes.</summary>
    public const string LogindSessionsDirectory = "/run/systemd/sessions";

    private static readonly TimeSpan LoginctlLimit = TimeSpan.FromSeconds(5);

    // loginctl is run again only when logind's directory changed or this long passed: asking every few seconds costs nothing then.
    private static readonly TimeSpan LogindRecheck = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _asking = new(1, 1);
    private (DateTime Stamp, DateTimeOffset At, string? Account)? _logind;

    /// <summary>Where loginctl is on this machine, or null.</summary>
    public static string? FindLoginctl() => ((string[])["/usr/bin/loginctl", "/bin/loginctl"]).FirstOrDefault(File.Exists);

    public async Task<string?> CurrentAccountAsync(CancellationToken cancellationToken)
    {
        var helperUsers = sessions.HelperUsers.OrderBy(h => h.Display, StringComparer.Ordinal).Select(h => UnixAccounts.NameOf(h.UserId)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (helperUsers.Count == 1)
        {
            return helperUsers[0];
        }

        var active = await LogindActiveUserAsync(cancellationToken);
        return helperUsers.Count == 0 || (active is not null && helperUsers.Contains(active, StringComparer.Ordinal)) ? active : helperUsers[0];
    }

    private async Task<string?> LogindActiveUserAsync(CancellationToken cancellationToken)
    {
        if (loginctl is null || !Directory.Exists(sessionsDirectory))
        {
            return null;
        }

        await _asking.WaitAsync(cancellationToken);
        try
        {
            var stamp = Directory.GetLastWriteTimeUtc(sessionsDirectory);
            var now = time.GetUtcNow();
            if (_logind is { } known && known.Stamp == stamp && now - known.At < LogindRecheck)
            {
                return known.Account;
            }

            var list = await runner.RunCapturedAsync(new OsCommand(loginctl, ["list-sessions", "--no-legend", "--no-pager"], LoginctlLimit) { CaptureStandardError = false }, cancellationToken);
            if (!list.Finished || list.ExitCode != 0)
            {
                return null; // not remembered: asked again next time
            }

            string? account = null;
            if (LogindSessions.ParseSessionIds(list.Output) is { Count: > 0 } ids)
            {
                var show = await runner.RunCapturedAsync(
                    new OsCommand(loginctl, [.. ShowSessionArguments(ids)], LoginctlLimit) { CaptureStandardError = false }, cancellationToken);
                if (!show.Finished || show.ExitCode != 0)
                {
                    return null;
                }

                account = LogindSessions.ActiveGraphicalUser(LogindSessions.ParseShowSession(show.Output));
            }

            _logind = (stamp, now, account);
            return account;
        }
        finally
        {
            _asking.Release();
        }
    }

    private static IEnumerable<string> ShowSessionArguments(IReadOnlyList<string> ids)
    {
        yield return "show-session";
        yield return "--no-pager";
        foreach (var id in ids)
        {
            yield return id;
        }

        foreach (var property in LogindSessions.Properties)
        {
            yield return "-p";
            yield return property;
        }
    }
}
