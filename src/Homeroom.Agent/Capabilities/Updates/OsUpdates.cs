using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Updates;

/// <summary>What the OS said when asked for its pending updates.</summary>
/// <param name="Pending">How many updates it offers.</param>
/// <param name="Security">How many of them are for security.</param>
/// <param name="RebootRequired">Whether a restart is due to finish installed updates.</param>
/// <param name="Error">Why the OS could not be asked (the counts are then zero and mean nothing).</param>
public sealed record OsUpdateScan(int Pending, int Security, bool RebootRequired, string? Error = null);

/// <summary>The outcome of an install: whether it succeeded, and the OS tool's words either way.</summary>
public sealed record OsUpdateInstall(bool Ok, string Result);

/// <summary>
/// The operating system's own updates (docs/desktop-agent.md, OS updates): the pending ones counted for
/// inventory, and all of them installed on <c>installOsUpdates</c>. One implementation per OS.
/// </summary>
public interface IOsUpdatesCapability : ICapability
{
    /// <summary>The status as of the last check and install (null before the first check).</summary>
    OsUpdateStatus? Last { get; }

    /// <summary>Asks the OS for its pending updates and keeps the answer in <see cref="Last"/>.</summary>
    Task<OsUpdateStatus> CheckAsync(CancellationToken cancellationToken);

    /// <summary>Installs every pending update, then checks again.</summary>
    Task<OsUpdateInstall> InstallAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What every OS's implementation shares: one check or install at a time, and the status built from the
/// platform's <see cref="ScanAsync"/> and <see cref="InstallUpdatesAsync"/>, with times from the agent's clock.
/// </summary>
public abstract class OsUpdatesBase(TimeProvider time) : IOsUpdatesCapability
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private OsUpdateStatus? _last;

    public OsUpdateStatus? Last => Volatile.Read(ref _last);

    public abstract IEnumerable<AgentCapability> Describe();

    /// <summary>Null when this device can report and install its updates, else why not.</summary>
    protected abstract string? Unavailable();

    protected abstract Task<OsUpdateScan> ScanAsync(CancellationToken cancellationToken);

    protected abstract Task<OsUpdateInstall> InstallUpdatesAsync(CancellationToken cancellationToken);

    public async Task<OsUpdateStatus> CheckAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await CheckLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<OsUpdateInstall> InstallAsync(CancellationToken cancellationToken)
    {
        if (Unavailable() is { } reason)
        {
            return new(false, reason);
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var outcome = await InstallUpdatesAsync(cancellationToken);
            outcome = outcome with { Result = Cut(outcome.Result) };
            var status = await CheckLockedAsync(cancellationToken);
            Volatile.Write(ref _last, status with { LastInstallAt = time.GetUtcNow(), LastInstallOk = outcome.Ok, LastInstallResult = outcome.Result });
            return outcome;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<OsUpdateStatus> CheckLockedAsync(CancellationToken cancellationToken)
    {
        var previous = Last;
        OsUpdateStatus status;
        if (Unavailable() is { } reason)
        {
            status = new OsUpdateStatus(0, 0, false, null, Error: Cut(reason));
        }
        else
        {
            var scan = await ScanAsync(cancellationToken);
            // A scan whose caller gave up (the connection ended while apt-get ran) is no result: its "stopped" error is
            // not what the machine's updates are, and it would be reported on the next connection.
            cancellationToken.ThrowIfCancellationRequested();
            status = scan.Error is { } error
                ? new OsUpdateStatus(previous?.Pending ?? 0, previous?.Security ?? 0, scan.RebootRequired, previous?.CheckedAt, Error: Cut(error))
                : new OsUpdateStatus(scan.Pending, Math.Min(scan.Security, scan.Pending), scan.RebootRequired, time.GetUtcNow());
        }

        status = status with
        {
            Pending = Math.Clamp(status.Pending, 0, ProtocolLimits.MaxOsUpdates),
            Security = Math.Clamp(status.Security, 0, Math.Clamp(status.Pending, 0, ProtocolLimits.MaxOsUpdates)),
            LastInstallAt = previous?.LastInstallAt,
            LastInstallOk = previous?.LastInstallOk,
            LastInstallResult = previous?.LastInstallResult,
        };
        Volatile.Write(ref _last, status);
        return status;
    }

    /// <summary>Text as the protocol takes it (256 characters).</summary>
    protected static string Cut(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..(ProtocolLimits.MaxShortText - 1)] + "…";
}

/// <summary>Where this build cannot reach the OS's updates: reported as not available, with the reason, and every install fails with it.</summary>
public sealed class UnavailableOsUpdates(string reason, TimeProvider time) : OsUpdatesBase(time)
{
    public override IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.OsUpdates, false, reason)];

    protected override string? Unavailable() => reason;

    protected override Task<OsUpdateScan> ScanAsync(CancellationToken cancellationToken) => Task.FromResult(new OsUpdateScan(0, 0, false, reason));

    protected override Task<OsUpdateInstall> InstallUpdatesAsync(CancellationToken cancellationToken) => Task.FromResult(new OsUpdateInstall(false, reason));
}
