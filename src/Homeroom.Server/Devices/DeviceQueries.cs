using System.Linq.Expressions;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;

namespace Homeroom.Server.Devices;

/// <summary>
/// The device filters every list shares (API, console, command targets, classrooms): the one
/// definition of "a group's devices", "manageable", the search and the sort keys.
/// </summary>
public static class DeviceQueries
{
    /// <summary>Sort keys a list may be ordered by; a leading '-' means descending.</summary>
    public static readonly IReadOnlyDictionary<string, Expression<Func<Device, object?>>> SortKeys =
        new Dictionary<string, Expression<Func<Device, object?>>>(StringComparer.OrdinalIgnoreCase)
        {
            ["name"] = d => d.Name,
            ["serial"] = d => d.Serial,
            ["platform"] = d => d.Platform,
            ["state"] = d => d.State,
            ["model"] = d => d.Model,
            ["osVersion"] = d => d.OsVersion,
            ["assetTag"] = d => d.AssetTag,
            ["lastSeenAt"] = d => d.LastSeenAt,
            ["enrolledAt"] = d => d.EnrolledAt,
        };

    /// <summary>Devices that may receive commands: neither revoked nor retired, nor a desktop's browser extension (reached through its desktop).</summary>
    public static IQueryable<Device> Manageable(this IQueryable<Device> devices) =>
        devices.Where(d => d.RevokedAt == null && d.State != DeviceState.Retired && d.CompanionOf == null);

    /// <summary>
    /// A group's devices: assigned to the group directly, or to one of its people; a shared device with a student
    /// signed in counts as that student's (and not its assigned person's) while they stay signed in.
    /// </summary>
    public static IQueryable<Device> InGroup(this IQueryable<Device> devices, HomeroomDbContext db, Guid groupId) =>
        devices.InMembership(db.GroupDevices.Where(m => m.GroupId == groupId), db.GroupMembers.Where(m => m.GroupId == groupId));

    /// <summary>The devices of any of these groups, in the same sense as <see cref="InGroup"/>.</summary>
    public static IQueryable<Device> InGroups(this IQueryable<Device> devices, HomeroomDbContext db, IQueryable<Guid> groupIds) =>
        devices.InMembership(db.GroupDevices.Where(m => groupIds.Contains(m.GroupId)), db.GroupMembers.Where(m => groupIds.Contains(m.GroupId)));

    // Two uncorrelated IN lists read from the groups' own rows (both tables' keys start with group_id): SQLite looks
    // the few devices up by key and by ix_devices_person, PostgreSQL hashes each list once and probes it per device.
    // Correlated EXISTS read each device's memberships (a class of 30 cost a walk of the whole district), and a join
    // to the lists let PostgreSQL, on tables not yet analysed, pick a nested loop of devices times members.
    private static IQueryable<Device> InMembership(this IQueryable<Device> devices, IQueryable<GroupDevice> placed, IQueryable<GroupMember> members)
    {
        var deviceIds = placed.Select(m => m.DeviceId);
        var personIds = members.Select(m => (Guid?)m.PersonId);
        // A desktop's browser extension (a companion) shares the desktop's student but is never one of a group's devices.
        return devices.Where(d => d.CompanionOf == null && (deviceIds.Contains(d.Id)
            || (d.SignedInPersonId == null && d.AssignedPersonId != null && personIds.Contains(d.AssignedPersonId))
            || (d.SignedInPersonId != null && personIds.Contains(d.SignedInPersonId))));
    }

    /// <summary>
    /// Name, serial, asset tag, model or the assigned person's name containing the text, ignoring case
    /// (lower() on both providers: SQLite folds ASCII letters only).
    /// </summary>
    public static IQueryable<Device> Matching(this IQueryable<Device> devices, HomeroomDbContext db, string text)
    {
        var q = text.ToLowerInvariant();
        return devices.Where(d => d.Name.ToLower().Contains(q) || d.Serial.ToLower().Contains(q)
            || (d.AssetTag != null && d.AssetTag.ToLower().Contains(q)) || (d.Model != null && d.Model.ToLower().Contains(q))
            || (d.AssignedPersonId != null && db.People.Any(p => p.Id == d.AssignedPersonId
                && (p.GivenName.ToLower().Contains(q) || p.FamilyName.ToLower().Contains(q) || (p.GivenName + " " + p.FamilyName).ToLower().Contains(q)))));
    }

    /// <summary>Devices connected now (or not).</summary>
    public static IQueryable<Device> Online(this IQueryable<Device> devices, ConnectionRegistry registry, bool online = true) =>
        devices.Online(registry.OnlineDeviceIds.ToList(), online);

    /// <summary>Devices online now (or not) in the sense of <see cref="PresenceTracker.IsOnline"/>: agents connected, Apple devices in touch over MDM.</summary>
    public static IQueryable<Device> Online(this IQueryable<Device> devices, PresenceTracker presence, bool online = true) =>
        devices.Online(presence.OnlineDeviceIds.ToList(), online);

    private static IQueryable<Device> Online(this IQueryable<Device> devices, List<Guid> onlineIds, bool online) =>
        online ? devices.Where(d => onlineIds.Contains(d.Id)) : devices.Where(d => !onlineIds.Contains(d.Id));

    /// <summary>Ordered by a key of <see cref="SortKeys"/> ('-' for descending), then by id so pages are stable.</summary>
    public static IOrderedQueryable<Device> SortedBy(this IQueryable<Device> devices, string sort)
    {
        var key = SortKeys[sort.TrimStart('-')];
        return sort.StartsWith('-') ? devices.OrderByDescending(key).ThenBy(d => d.Id) : devices.OrderBy(key).ThenBy(d => d.Id);
    }
}
