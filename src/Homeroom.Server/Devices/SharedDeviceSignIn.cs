using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>
/// Who is signed in on a device, as its agent reports it (<c>inventory.signedInUser</c>). Every device keeps the
/// account it last reported; only a device marked <see cref="Device.Shared"/> (a cart or lab device) follows it:
/// the account is matched to one student of the device's own school, by e-mail and then by roster id
/// (<see cref="Person.ExternalId"/>), and while they stay signed in that student is the device's person in place
/// of its assigned one: their grade, groups and classes decide its policy and its classroom, and its activity
/// and safety alerts are theirs. An account that matches nobody in the school (unknown, another school's, two
/// students at once) matches nobody and is audited as unmatched; nothing says whether it exists elsewhere.
/// Sign-out (the account absent or empty) returns the device to its own policy.
/// </summary>
public sealed class SharedDeviceSignIn(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    PolicyDistributor policies,
    TimeProvider time,
    ILogger<SharedDeviceSignIn> logger)
{
    // The signed-in student of each shared device that has one, for attributing activity without a read per batch.
    private readonly ConcurrentDictionary<Guid, Guid> _signedIn = new();

    /// <summary>The student signed in on this shared device now, or null (nobody, no match, or a 1:1 device).</summary>
    public Guid? PersonOf(Guid deviceId) => _signedIn.TryGetValue(deviceId, out var person) ? person : null;

    /// <summary>A device connected whose stored signed-in student is <paramref name="personId"/>.</summary>
    public void Connected(Guid deviceId, Guid? personId) => Remember(deviceId, personId);

    /// <summary>
    /// Applies what the agent reported (null: it said nothing, which means nobody is signed in). Stores and
    /// audits a change; on a shared device whose student changed, the policy is resolved again at once.
    /// Returns the student signed in now.
    /// </summary>
    public async Task<Guid?> ObserveAsync(Guid deviceId, SignedInUser? user, CancellationToken cancellationToken = default)
    {
        var email = Clean(user?.Email)?.ToLowerInvariant();
        var accountId = Clean(user?.Id);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return null;
        }

        var accountChanged = email != device.SignedInEmail || accountId != device.SignedInUserId;
        var personId = device.Shared ? await MatchAsync(db, device.SchoolId, email, accountId, cancellationToken) : null;
        if (!accountChanged && personId == device.SignedInPersonId)
        {
            Remember(deviceId, personId);
            return personId;
        }

        var previous = device.SignedInPersonId;
        device.SignedInEmail = email;
        device.SignedInUserId = accountId;
        device.SignedInPersonId = personId;
        if (accountChanged)
        {
            device.SignedInAt = time.GetUtcNow().UtcDateTime;
        }

        // A 1:1 device's account is kept for the device page only; its own student stays its person, so nothing is audited.
        if (device.Shared)
        {
            using (AuditTrail.ActAs(new AuditActor(null, $"device {device.Name}", null, device.SchoolId)))
            {
                var (action, details) = (email, accountId, personId) switch
                {
                    (null, null, _) => ("device.sign-out", previous is { } was ? $"person {was}" : null),
                    (_, _, { } matched) => ("device.sign-in", $"person {matched}"),
                    _ => ("device.sign-in.unmatched", $"{email ?? accountId}: no student of this device's school"),
                };
                audit.Record(db, action, "device", deviceId.ToString(), details, device.SchoolId);
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        Remember(deviceId, personId);
        if (device.Shared && previous != personId)
        {
            DevicesLog.SignedInChanged(logger, deviceId, personId);
            policies.RequestDevice(deviceId);
        }

        return personId;
    }

    /// <summary>
    /// Matches the device's stored account again after an administrator marked it shared, unmarked it or moved it
    /// (part of their unit of work, audited with it); true when its person changed.
    /// </summary>
    internal async Task<bool> RematchAsync(HomeroomDbContext db, Device device, CancellationToken cancellationToken)
    {
        var personId = device.Shared ? await MatchAsync(db, device.SchoolId, device.SignedInEmail, device.SignedInUserId, cancellationToken) : null;
        if (personId == device.SignedInPersonId)
        {
            return false;
        }

        device.SignedInPersonId = personId;
        return true;
    }

    /// <summary>Call once the unit of work of <see cref="RematchAsync"/> is saved.</summary>
    internal void Rematched(Device device) => Remember(device.Id, device.SignedInPersonId);

    // One student of this school with the address (any case), else one with the roster id; two at once is nobody.
    private static async Task<Guid?> MatchAsync(HomeroomDbContext db, Guid? schoolId, string? email, string? accountId, CancellationToken cancellationToken)
    {
        if (schoolId is not { } school)
        {
            return null;
        }

        // A student who left the roster (archived) is not signed in as: the account maps to nobody.
        var students = db.People.AsNoTracking().Where(p => p.SchoolId == school && p.Kind == PersonKind.Student && p.ArchivedAt == null);
        if (email is not null)
        {
            var byEmail = await students.Where(p => p.Email != null && p.Email.ToLower() == email).Select(p => p.Id).OrderBy(id => id).Take(2).ToListAsync(cancellationToken);
            if (byEmail.Count > 0)
            {
                return byEmail.Count == 1 ? byEmail[0] : null;
            }
        }

        if (accountId is not null)
        {
            var byRosterId = await students.Where(p => p.ExternalId == accountId).Select(p => p.Id).OrderBy(id => id).Take(2).ToListAsync(cancellationToken);
            return byRosterId.Count == 1 ? byRosterId[0] : null;
        }

        return null;
    }

    private void Remember(Guid deviceId, Guid? personId)
    {
        if (personId is { } person)
        {
            _signedIn[deviceId] = person;
        }
        else
        {
            _signedIn.TryRemove(deviceId, out _);
        }
    }

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

internal static partial class DevicesLog
{
    [LoggerMessage(EventId = 20001, Level = LogLevel.Information, Message = "Shared device {DeviceId} now follows person {PersonId} (null: its own policy)")]
    public static partial void SignedInChanged(ILogger logger, Guid deviceId, Guid? personId);
}
