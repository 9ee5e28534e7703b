using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Commands;

namespace Homeroom.Server.Diagnostics;

/// <summary>The answer to a diagnostics request: the <c>diagnose</c> command issued.</summary>
public sealed record DiagnosticsRequestedDto(Guid CommandId, Guid DeviceId, DateTime RequestedAt);

/// <summary>The answer to a group's diagnostics request: one <c>diagnose</c> command for every manageable device of the group.</summary>
public sealed record GroupDiagnosticsRequestedDto(Guid CommandId, Guid GroupId, int DeviceCount, DateTime RequestedAt);

/// <summary>
/// Asks one device for a diagnostics report: a <c>diagnose</c> command through <see cref="IssueCommand"/> (stored,
/// journaled, delivered when the device is online, audited as <c>command.issue</c> and <c>device.diagnostics</c>),
/// carrying the district's sites to test (<see cref="DiagnosticSites"/>).
/// </summary>
public sealed class DeviceDiagnostics(IssueCommand issue, DiagnosticSites sites)
{
    /// <summary>How long a request waits for an offline device.</summary>
    public static readonly TimeSpan TimeToLive = TimeSpan.FromHours(1);

    public async Task<DiagnosticsRequestedDto> RequestAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        var issued = await issue.ExecuteAsync(scope, CommandKinds.Diagnose, await ArgumentsAsync(cancellationToken), new CommandTarget([deviceId], null, null), TimeToLive, cancellationToken);
        return new DiagnosticsRequestedDto(issued.Command.Id, deviceId, issued.Command.IssuedAt);
    }

    /// <summary>
    /// Asks every manageable device of a group of the scope for a report: one <c>diagnose</c> command targeting the
    /// group (at most <see cref="CommandOptions.MaxTargets"/> devices, audited once as <c>command.issue</c> on the group).
    /// </summary>
    public async Task<GroupDiagnosticsRequestedDto> RequestGroupAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        var issued = await issue.ExecuteAsync(scope, CommandKinds.Diagnose, await ArgumentsAsync(cancellationToken), new CommandTarget(null, groupId, null), TimeToLive, cancellationToken);
        return new GroupDiagnosticsRequestedDto(issued.Command.Id, groupId, issued.DeviceIds.Count, issued.Command.IssuedAt);
    }

    private async Task<Dictionary<string, string>> ArgumentsAsync(CancellationToken cancellationToken)
    {
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        var current = await sites.CurrentAsync(cancellationToken);
        if (current.Sites.Count > 0)
        {
            arguments["urls"] = string.Join(' ', current.Sites);
        }

        return arguments;
    }
}
