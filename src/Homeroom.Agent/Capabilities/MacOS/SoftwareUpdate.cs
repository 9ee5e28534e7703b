using System.Runtime.Versioning;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.MacOS;

/// <summary>
/// OS updates on macOS through <c>softwareupdate</c>: <c>--list</c> counts the pending ones (a "Security" label or
/// title, such as "Background Security Improvement" or "Security Update 2024-002", marks a security update;
/// "Action: restart" means installing it needs a restart), and <c>--install --all --agree-to-license</c>
/// installs them. On Apple silicon, macOS itself may refuse an install without a volume owner's credentials:
/// the tool's words are reported then, and Apple MDM's declarative enforcement is the way for managed Macs.
/// NEVER RUN: this build was written and compiled on Linux; only <see cref="SoftwareUpdateList.Parse"/> is tested.
/// </summary>
[SupportedOSPlatform("macos")]
public sealed class SoftwareUpdate(IOsCommandRunner runner, TimeProvider time) : OsUpdatesBase(time)
{
    private const string Tool = "/usr/sbin/softwareupdate";
    private static readonly TimeSpan CheckLimit = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan InstallLimit = TimeSpan.FromHours(2);
    private bool _restartDue;

    public override IEnumerable<AgentCapability> Describe() =>
        [Unavailable() is { } reason ? new(CapabilityNames.OsUpdates, false, reason) : new(CapabilityNames.OsUpdates, true)];

    protected override string? Unavailable() => File.Exists(Tool) ? null : "softwareupdate was not found";

    protected override async Task<OsUpdateScan> ScanAsync(CancellationToken cancellationToken)
    {
        var run = await runner.RunCapturedAsync(new(Tool, ["--list"], CheckLimit), cancellationToken);
        if (run.ExitCode != 0)
        {
            return new OsUpdateScan(0, 0, _restartDue, $"softwareupdate --list exited with {run.ExitCode}: {run.Tail(200)}");
        }

        var items = SoftwareUpdateList.Parse(run.Output);
        return new OsUpdateScan(items.Count, items.Count(i => i.Security), _restartDue);
    }

    protected override async Task<OsUpdateInstall> InstallUpdatesAsync(CancellationToken cancellationToken)
    {
        var before = await ScanAsync(cancellationToken);
        if (before.Error is { } error)
        {
            return new(false, error);
        }

        if (before.Pending == 0)
        {
            return new(true, "no updates pending");
        }

        var run = await runner.RunCapturedAsync(new(Tool, ["--install", "--all", "--agree-to-license"], InstallLimit), cancellationToken);
        if (run.ExitCode != 0)
        {
            return new(false, $"softwareupdate --install exited with {run.ExitCode}: {run.Tail(200)}");
        }

        // softwareupdate says when what it installed needs a restart; nothing else on macOS records it for later.
        _restartDue |= run.Output.Contains("restart", StringComparison.OrdinalIgnoreCase);
        return new(true, $"installed {before.Pending} {(before.Pending == 1 ? "update" : "updates")} with softwareupdate{(_restartDue ? "; a restart is required to finish" : "")}");
    }
}

/// <summary>Reads <c>softwareupdate --list</c> (pure, so tested on any OS).</summary>
public static class SoftwareUpdateList
{
    /// <summary>One item of <c>softwareupdate --list</c>.</summary>
    public sealed record SoftwareUpdateItem(string Label, string? Title, string? Version, bool Security, bool Restart);

    /// <summary>
    /// The items of <c>softwareupdate --list</c>: each starts with a <c>* Label: …</c> line, followed by a tab-indented
    /// <c>Title: …, Version: …, Size: …, Recommended: YES, Action: restart,</c> line. "No new software available." lists none.
    /// </summary>
    public static IReadOnlyList<SoftwareUpdateItem> Parse(string output)
    {
        var items = new List<SoftwareUpdateItem>();
        string? label = null;
        Dictionary<string, string>? fields = null;
        void Flush()
        {
            if (label is null)
            {
                return;
            }

            var title = fields?.GetValueOrDefault("Title");
            var security = label.Contains("Security", StringComparison.OrdinalIgnoreCase) || title?.Contains("Security", StringComparison.OrdinalIgnoreCase) == true;
            items.Add(new SoftwareUpdateItem(label, title, fields?.GetValueOrDefault("Version"), security,
                string.Equals(fields?.GetValueOrDefault("Action"), "restart", StringComparison.OrdinalIgnoreCase)));
            label = null;
            fields = null;
        }

        foreach (var raw in output.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var trimmed = line.Trim();
            if (trimmed.StartsWith("* Label:", StringComparison.Ordinal))
            {
                Flush();
                label = trimmed["* Label:".Length..].Trim();
            }
            else if (label is not null && fields is null && trimmed.StartsWith("Title:", StringComparison.Ordinal))
            {
                fields = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var part in trimmed.Split(", "))
                {
                    var colon = part.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        fields[part[..colon].Trim()] = part[(colon + 1)..].Trim().TrimEnd(',');
                    }
                }
            }
        }

        Flush();
        return items;
    }
}
