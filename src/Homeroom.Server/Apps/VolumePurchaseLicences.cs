namespace Homeroom.Server.Apps;

/// <summary>
/// Where a device's licence for a paid App Store app comes from before Homeroom asks the device to install
/// it. Without Apple School Manager connected, licences are counted locally only (<see cref="LocalVolumePurchaseLicences"/>);
/// with it, Apple's Apps and Books service assigns the licence to the device's serial number first.
/// </summary>
public interface IVolumePurchaseLicences
{
    /// <summary>True when licences are really assigned by Apple, not only counted here.</summary>
    bool AssignedByApple { get; }

    /// <summary>Assigns one licence of the app (its App Store adam id) to the device with that serial number.</summary>
    Task<VolumeLicenceResult> AssignAsync(string adamId, string serialNumber, CancellationToken cancellationToken);

    /// <summary>Gives the device's licence of the app back to the district's pool.</summary>
    Task<VolumeLicenceResult> ReleaseAsync(string adamId, string serialNumber, CancellationToken cancellationToken);
}

/// <summary>What became of a licence request; <see cref="Reason"/> says why in words an admin can act on.</summary>
public sealed record VolumeLicenceResult(VolumeLicenceOutcome Outcome, string? Reason = null);

public enum VolumeLicenceOutcome
{
    /// <summary>The device holds the licence (or gave it back, for a release).</summary>
    Done,

    /// <summary>No licence is left to assign: the device's status is "no licence" and no install is attempted.</summary>
    NoLicence,

    /// <summary>The service is busy or unreachable (rate limit, expired session, outage): try again later.</summary>
    RetryLater,

    /// <summary>Refused for good (unknown app, unknown serial number): the device's status is failed with the reason.</summary>
    Failed,
}

/// <summary>The default: nothing to ask anyone, the local count of licences is the only ledger.</summary>
public sealed class LocalVolumePurchaseLicences : IVolumePurchaseLicences
{
    public bool AssignedByApple => false;

    public Task<VolumeLicenceResult> AssignAsync(string adamId, string serialNumber, CancellationToken cancellationToken) =>
        Task.FromResult(new VolumeLicenceResult(VolumeLicenceOutcome.Done));

    public Task<VolumeLicenceResult> ReleaseAsync(string adamId, string serialNumber, CancellationToken cancellationToken) =>
        Task.FromResult(new VolumeLicenceResult(VolumeLicenceOutcome.Done));
}
