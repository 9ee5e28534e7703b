using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Classroom;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Classroom;

public sealed record ClassSummary(Guid Id, string Name, Guid? SchoolId, int Members);

/// <summary>One tile of the classroom: a device of the class and the student it belongs to.</summary>
public sealed record ClassDevice(Guid DeviceId, string DeviceName, DevicePlatform Platform, Guid? StudentId, string StudentName);

/// <summary>
/// The teacher's classroom, in one place for the API and the console: which classes a staff member
/// may use (a teacher only their own; others those of their school or district), whether a class is
/// in session, its devices, and the actions a teacher takes on them. Teachers act only during class
/// (a scheduled meeting or an ad-hoc session); ending a session also ends focus mode and viewing.
/// </summary>
public sealed class Classroom(IDbContextFactory<HomeroomDbContext> dbFactory, ScreenViews views, IssueCommand issue, AuditTrail audit, TimeProvider time)
{
    /// <summary>The command kinds a teacher may send to their class.</summary>
    public static readonly IReadOnlySet<string> TeacherKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        CommandKinds.Lock, CommandKinds.Unlock, CommandKinds.Message, CommandKinds.OpenUrl, CommandKinds.CloseTab, CommandKinds.Focus, CommandKinds.EndFocus,
    };

    /// <summary>Classroom commands live only as long as a lesson.</summary>
    public static readonly TimeSpan CommandTimeToLive = TimeSpan.FromMinutes(15);

    /// <summary>Staff who may use classrooms at all.</summary>
    public static bool MayUseClassrooms(StaffRole role) => role is StaffRole.Teacher or StaffRole.DistrictAdmin or StaffRole.SchoolAdmin;

    public static async Task<bool> MayUseAsync(StaffScope scope, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken) =>
        MayUseClassrooms(scope.Role) && await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken);

    /// <summary>The classes this staff member may open, by name.</summary>
    public async Task<List<ClassSummary>> ClassesAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        if (!MayUseClassrooms(scope.Role))
        {
            return [];
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Groups(db).Where(g => g.Kind == GroupKind.Class).OrderBy(g => g.Name)
            .Select(g => new ClassSummary(g.Id, g.Name, g.SchoolId, db.GroupMembers.Count(m => m.GroupId == g.Id)))
            .Take(500)
            .ToListAsync(cancellationToken);
    }

    public async Task<SessionState> StateAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        return await ClassSessionEndpoints.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken) ?? throw new NotFoundException("No such class.");
    }

    /// <summary>The class's devices (assigned to it, or to its students), with the student of each, by student name.</summary>
    public async Task<List<ClassDevice>> DevicesAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        return await DevicesAsync(db, groupId, cancellationToken);
    }

    internal static async Task<List<ClassDevice>> DevicesAsync(HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        var devices = await db.Devices.AsNoTracking().Manageable().InGroup(db, groupId)
            .Select(d => new
            {
                d.Id,
                d.Name,
                d.Platform,
                d.AssignedPersonId,
                Student = db.People.Where(p => p.Id == d.AssignedPersonId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefault(),
            })
            .ToListAsync(cancellationToken);
        return devices.Select(d => new ClassDevice(d.Id, d.Name, d.Platform, d.AssignedPersonId, d.Student ?? d.Name))
            .OrderBy(d => d.StudentName, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>Sends a classroom command to the whole class or some of its devices. Only during class.</summary>
    public async Task<IssuedCommand> CommandAsync(
        StaffScope scope, StaffUser user, Guid groupId, string kind, IReadOnlyDictionary<string, string>? arguments, IReadOnlyList<Guid>? deviceIds,
        CancellationToken cancellationToken = default)
    {
        if (!TeacherKinds.Contains(kind))
        {
            throw new RequestValidationException(new() { ["kind"] = [$"A classroom sends one of {string.Join(", ", TeacherKinds)}."] });
        }

        List<Guid> targets;
        SessionState state;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            state = await EnsureInSessionAsync(scope, db, groupId, cancellationToken);
            var classDevices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToHashSet();
            if (deviceIds is { Count: > 0 } && deviceIds.Any(d => !classDevices.Contains(d)))
            {
                throw new ForbiddenException("Not in this class", "Some of these devices are not in this class.");
            }

            targets = deviceIds is { Count: > 0 } ? [.. deviceIds.Distinct()] : [.. classDevices];
        }

        if (targets.Count == 0)
        {
            throw new RequestValidationException(new() { ["target"] = ["This class has no devices."] });
        }

        // Focus mode lasts at most until the session ends.
        if (kind == CommandKinds.Focus && state.Until is { } until && arguments is not null && !arguments.ContainsKey("until"))
        {
            arguments = new Dictionary<string, string>(arguments) { ["until"] = until.ToString("O", System.Globalization.CultureInfo.InvariantCulture) };
        }

        return await issue.ExecuteAsync(user, kind, arguments, new CommandTarget(targets, null, null), CommandTimeToLive, cancellationToken, scope);
    }

    /// <summary>Starts watching the class's screens; only during class. Returns the devices watched.</summary>
    public async Task<List<Guid>> StartViewingAsync(StaffScope scope, string viewerName, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var state = await EnsureInSessionAsync(scope, db, groupId, cancellationToken);
        var devices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToList();
        await views.StartAsync(groupId, viewerName, state.Until!.Value, devices);
        audit.Record(db, "class.screen-view.start", "group", groupId.ToString(), $"{devices.Count} devices until {state.Until:u}");
        await db.SaveChangesAsync(cancellationToken);
        return devices;
    }

    public async Task StopViewingAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        await views.StopAsync(groupId);
        audit.Record(db, "class.screen-view.stop", "group", groupId.ToString());
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Starts an ad-hoc session of 1 to 120 minutes.</summary>
    public async Task<SessionState> StartSessionAsync(StaffScope scope, StaffUser user, Guid groupId, int minutes, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        var isClass = await db.Groups.AnyAsync(g => g.Id == groupId && g.Kind == GroupKind.Class, cancellationToken);
        var validation = new Validation().Range("minutes", minutes, 1, (int)ClassSessions.MaxAdHoc.TotalMinutes)
            .Check(isClass, "group", "Only a class has sessions.");
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var now = time.GetUtcNow().UtcDateTime;
        db.ClassSessions.Add(new ClassSessionRecord { Id = Guid.CreateVersion7(), GroupId = groupId, StartsAt = now, EndsAt = now.AddMinutes(minutes), StartedBy = user.Username });
        audit.Record(db, "class.session.start", "group", groupId.ToString(), $"{minutes} minutes");
        await db.SaveChangesAsync(cancellationToken);
        return (await ClassSessionEndpoints.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken))!;
    }

    /// <summary>Ends the session now: viewing stops, focus mode ends, and an ad-hoc session is closed.</summary>
    public async Task EndSessionAsync(StaffScope scope, StaffUser user, Guid groupId, CancellationToken cancellationToken = default)
    {
        List<Guid> devices;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
            devices = (await DevicesAsync(db, groupId, cancellationToken)).Select(d => d.DeviceId).ToList();
            var now = time.GetUtcNow().UtcDateTime;
            await db.ClassSessions.Where(s => s.GroupId == groupId && s.EndsAt > now && s.StartsAt <= now)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.EndsAt, now), cancellationToken);
            audit.Record(db, "class.session.end", "group", groupId.ToString());
            await db.SaveChangesAsync(cancellationToken);
        }

        await views.StopAsync(groupId);
        if (devices.Count > 0)
        {
            await issue.ExecuteAsync(user, CommandKinds.EndFocus, null, new CommandTarget(devices, null, null), CommandTimeToLive, cancellationToken, scope);
        }
    }

    private static async Task EnsureMayUseAsync(StaffScope scope, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        if (!await MayUseAsync(scope, db, groupId, cancellationToken))
        {
            throw await db.Groups.AnyAsync(g => g.Id == groupId, cancellationToken)
                ? new ForbiddenException("Not your class", "You can use only your own classes.")
                : new NotFoundException("No such class.");
        }
    }

    private async Task<SessionState> EnsureInSessionAsync(StaffScope scope, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken)
    {
        await EnsureMayUseAsync(scope, db, groupId, cancellationToken);
        var state = await ClassSessionEndpoints.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken) ?? throw new NotFoundException("No such class.");
        if (!state.InSession || state.Until is null)
        {
            throw new ForbiddenException("The class is not in session", $"Only during class: {state.Reason}.");
        }

        return state;
    }
}
