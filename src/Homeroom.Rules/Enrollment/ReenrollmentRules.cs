namespace Homeroom.Rules.Enrollment;

/// <summary>Whether an enrollment for a platform and serial that already has a device record may take it over.</summary>
public enum ReenrollmentVerdict
{
    /// <summary>No device has this platform and serial: a new device is enrolled.</summary>
    NewDevice,

    /// <summary>The device proved it is itself (it presented its current credential).</summary>
    SameDevice,

    /// <summary>An administrator approved a re-enrollment of this device (a wiped or replaced agent) and the approval has not lapsed.</summary>
    Approved,

    /// <summary>The device exists and is not revoked, and nothing proves the request comes from it.</summary>
    NeedsProof,

    /// <summary>The device is revoked; it stays revoked until an administrator approves a re-enrollment.</summary>
    Revoked,

    /// <summary>The token belongs to another school than the device: a re-enrollment never moves a device between schools.</summary>
    OtherSchool,
}

/// <summary>The facts of an existing device that decide a re-enrollment.</summary>
/// <param name="SchoolId">The device's school; null when it belongs to no school.</param>
/// <param name="Revoked">Whether an administrator revoked the device.</param>
/// <param name="ApprovedUntil">Until when an administrator's re-enrollment approval holds; null when there is none.</param>
public readonly record struct ExistingDevice(Guid? SchoolId, bool Revoked, DateTime? ApprovedUntil);

/// <summary>
/// Pure rules for enrolling a platform and serial that may already be enrolled. A serial number is not
/// a secret: whoever holds any enrollment token can type one. So an existing device is taken over
/// only by itself (its current credential) or with an administrator's approval for that device, a
/// revoked device stays revoked until an administrator approves it, and a token of one school never
/// moves another school's device.
/// </summary>
public static class ReenrollmentRules
{
    /// <summary>Decides an enrollment at <paramref name="now"/> (UTC).</summary>
    /// <param name="device">The device with this platform and serial, or null.</param>
    /// <param name="tokenSchoolId">The school the token enrolls into (its own or its group's); null for a district-wide token.</param>
    /// <param name="provedIdentity">Whether the request proved it comes from the enrolled device (its current credential).</param>
    /// <param name="now">The time of the request (UTC).</param>
    public static ReenrollmentVerdict Check(ExistingDevice? device, Guid? tokenSchoolId, bool provedIdentity, DateTime now)
    {
        if (device is not { } existing)
        {
            return ReenrollmentVerdict.NewDevice;
        }

        if (tokenSchoolId is { } school && existing.SchoolId is { } current && school != current)
        {
            return ReenrollmentVerdict.OtherSchool;
        }

        var approved = existing.ApprovedUntil is { } until && now < until;
        if (existing.Revoked)
        {
            return approved ? ReenrollmentVerdict.Approved : ReenrollmentVerdict.Revoked;
        }

        if (provedIdentity)
        {
            return ReenrollmentVerdict.SameDevice;
        }

        return approved ? ReenrollmentVerdict.Approved : ReenrollmentVerdict.NeedsProof;
    }
}
