using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Classroom;
using Homeroom.Server.Data;
using Homeroom.Server.Diagnostics;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Support;

public sealed record HelpRequestDto(
    Guid Id, Guid DeviceId, string DeviceName, Guid? PersonId, string? StudentName, Guid? SchoolId, Guid? GroupId, string? ClassName,
    string? Note, bool HasScreenshot, string Status, Guid? AssignedToId, string? AssignedToName, DateTime CreatedAt, DateTime UpdatedAt, DateTime? ResolvedAt);

public sealed record HelpEventDto(DateTime At, string Actor, string Kind, string? Status, string? Text);

/// <summary>
/// One request with its thread, and its device's newest diagnostics in brief with a request under way
/// (<see cref="Diagnostics"/>): only for staff who may run diagnostics on that device, null for everyone else.
/// </summary>
public sealed record HelpRequestDetailDto(HelpRequestDto Request, IReadOnlyList<HelpEventDto> Thread, DeviceDiagnosticsSummaryDto? Diagnostics);

/// <summary>A class's help requests for its teacher: only while the class is in session.</summary>
public sealed record ClassHelpDto(Guid GroupId, bool InSession, IReadOnlyList<HelpRequestDto> Requests);

public sealed record HelpNoteRequest(string? Text);

/// <summary>
/// Help requests from students, in one place for the agent gateway, the API and the console: stores a
/// request and routes it (to the teacher of the student's class in session now, else to the school's IT
/// queue), and the staff's actions on it (assign, note, escalate, resolve), each audited and told to the
/// device and to open console pages. A request reaching the IT queue asks its device for diagnostics
/// (<see cref="HelpRequestDiagnostics"/>).
/// </summary>
public sealed class HelpRequests(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ConnectionRegistry connections,
    HelpRequestNotifier notifier,
    HelpRequestDiagnostics diagnostics,
    DiagnosticsStore reports,
    AuditTrail audit,
    IOptions<SupportOptions> options,
    TimeProvider time)
{
    public const int MaxNoteLength = 2000;

    /// <summary>Statuses the queue filters by: <c>open</c> (everything not resolved), <c>all</c>, or one status.</summary>
    public static readonly IReadOnlyList<string> Filters = ["open", "all", .. HelpStatuses.All];

    /// <summary>Stores a request from a device (once per agent request id) and routes it; the answer for the device.</summary>
    public async Task<HelpRequestAckFrame> AcceptAsync(Guid deviceId, HelpRequestFrame frame, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var requests = db.Set<HelpRequest>();
        if (await requests.Where(r => r.DeviceId == deviceId && r.ClientId == frame.RequestId).Select(r => r.Status).FirstOrDefaultAsync(cancellationToken) is { } known)
        {
            return new HelpRequestAckFrame(frame.RequestId, known);
        }

        if (await requests.CountAsync(r => r.DeviceId == deviceId && r.Status != HelpStatuses.Resolved, cancellationToken) >= options.Value.MaxOpenPerDevice)
        {
            return new HelpRequestAckFrame(frame.RequestId, Refused: HelpRefusals.TooManyOpen);
        }

        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId)
            .Select(d => new { d.SchoolId, PersonId = d.SignedInPersonId ?? d.AssignedPersonId }).FirstAsync(cancellationToken);
        var groupId = await ClassInSessionAsync(db, deviceId, device.PersonId, time.GetUtcNow(), cancellationToken);
        var request = new HelpRequest
        {
            Id = Guid.CreateVersion7(),
            DeviceId = deviceId,
            ClientId = frame.RequestId,
            PersonId = device.PersonId,
            SchoolId = device.SchoolId,
            GroupId = groupId,
            Note = string.IsNullOrWhiteSpace(frame.Note) ? null : frame.Note.Trim().Replace('\0', '\uFFFD'),
            HasScreenshot = frame.Screenshot is not null,
            Status = groupId is null ? HelpStatuses.ItQueue : HelpStatuses.WithTeacher,
            CreatedAt = now,
            UpdatedAt = now,
        };
        requests.Add(request);
        if (frame.Screenshot is { } image)
        {
            db.Set<HelpScreenshot>().Add(new HelpScreenshot { RequestId = request.Id, Content = image });
        }

        db.Set<HelpRequestEvent>().Add(Event(request.Id, now, "student", "created", request.Status, null));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same request stored by a resend a moment before: answer as for any resend.
            var raced = await Known(deviceId, frame.RequestId, cancellationToken);
            if (raced is null)
            {
                throw;
            }

            return new HelpRequestAckFrame(frame.RequestId, raced);
        }

        // Before the change is told, so an open IT queue reads the request with its diagnostics under way, and before
        // the answer, so a device's requests are decided in the order they came.
        if (request.Status == HelpStatuses.ItQueue)
        {
            await diagnostics.RequestIfStaleAsync(request.Id, deviceId, cancellationToken);
        }

        notifier.Publish(new HelpRequestChange(request.Id, deviceId, request.SchoolId, request.GroupId, request.Status));
        return new HelpRequestAckFrame(frame.RequestId, request.Status);
    }

    private async Task<string?> Known(Guid deviceId, Guid clientId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Set<HelpRequest>().Where(r => r.DeviceId == deviceId && r.ClientId == clientId).Select(r => r.Status).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// The class of the device (or its student) in session now that has a teacher (a staff member among
    /// its people), by name; null when none is, and the request goes to the IT queue.
    /// </summary>
    internal static async Task<Guid?> ClassInSessionAsync(HomeroomDbContext db, Guid deviceId, Guid? personId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var person = personId ?? Guid.Empty;
        var classes = await db.Groups.AsNoTracking()
            .Where(g => g.Kind == GroupKind.Class && g.ArchivedAt == null
                && (db.GroupDevices.Any(m => m.GroupId == g.Id && m.DeviceId == deviceId) || db.GroupMembers.Any(m => m.GroupId == g.Id && m.PersonId == person))
                && db.GroupMembers.Any(m => m.GroupId == g.Id && db.People.Any(p => p.Id == m.PersonId && p.Kind == PersonKind.Staff)))
            .OrderBy(g => g.Name).Select(g => g.Id).Take(20).ToListAsync(cancellationToken);
        foreach (var id in classes)
        {
            if (await ClassSchedules.StateAsync(db, id, now, cancellationToken) is { InSession: true })
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>Tells a device that has just connected where its recent requests are (those changed in the last day).</summary>
    public async Task SendRecentAsync(AgentConnection connection, CancellationToken cancellationToken = default)
    {
        var since = time.GetUtcNow().UtcDateTime.AddDays(-1);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var recent = await db.Set<HelpRequest>().AsNoTracking().Where(r => r.DeviceId == connection.DeviceId && r.UpdatedAt >= since)
            .OrderBy(r => r.CreatedAt).Take(20).Select(r => new { r.ClientId, r.Status, r.AssignedToId, r.ResolvedAt }).ToListAsync(cancellationToken);
        foreach (var r in recent)
        {
            await connection.SendAsync(new HelpStatusFrame(r.ClientId, r.Status, r.AssignedToId is not null || r.ResolvedAt is not null));
        }
    }

    /// <summary>The IT queue of the scope, oldest first within a status filter (see <see cref="Filters"/>).</summary>
    public async Task<List<HelpRequestDto>> ListAsync(StaffScope scope, string? status, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageHelpRequests);
        var filter = string.IsNullOrEmpty(status) ? "open" : status;
        if (!Filters.Contains(filter))
        {
            throw new RequestValidationException(new() { ["status"] = [$"One of {string.Join(", ", Filters)}."] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = scope.HelpRequests(db);
        query = filter switch
        {
            "open" => query.Where(r => r.Status != HelpStatuses.Resolved),
            "all" => query,
            _ => query.Where(r => r.Status == filter),
        };
        var rows = await query.OrderBy(r => r.Status == HelpStatuses.WithTeacher).ThenBy(r => r.CreatedAt).Take(500).ToListAsync(cancellationToken);
        return await ToDtosAsync(db, rows, cancellationToken);
    }

    /// <summary>A class's requests for its teacher, newest first, only while the class is in session (an empty list otherwise).</summary>
    public async Task<ClassHelpDto> ForClassAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.UseClassroom);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            throw new NotFoundException("No such class.");
        }

        var state = await ClassSchedules.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken);
        if (state is not { InSession: true })
        {
            return new ClassHelpDto(groupId, false, []);
        }

        var rows = await db.Set<HelpRequest>().AsNoTracking().Where(r => r.GroupId == groupId && r.Status != HelpStatuses.Resolved)
            .OrderByDescending(r => r.CreatedAt).Take(200).ToListAsync(cancellationToken);
        return new ClassHelpDto(groupId, true, await ToDtosAsync(db, rows, cancellationToken));
    }

    /// <summary>
    /// One request with its thread, and its device's diagnostics in brief for staff who may run diagnostics on that device
    /// (never a teacher); null when not in the scope (or, for a teacher, when its class is not in session).
    /// </summary>
    public async Task<HelpRequestDetailDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureMayView(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await FindAsync(scope, db, id, cancellationToken) is not { } request)
        {
            return null;
        }

        var thread = await db.Set<HelpRequestEvent>().AsNoTracking().Where(e => e.RequestId == id).OrderBy(e => e.At).ThenBy(e => e.Id)
            .Take(500).Select(e => new HelpEventDto(e.At, e.Actor, e.Kind, e.Status, e.Text)).ToListAsync(cancellationToken);
        // The device's school decides, as on the device's page: a request may outlive its device's move to another school.
        var report = scope.Can(Permission.RunDiagnostics) ? await reports.SummaryAsync(scope, request.DeviceId, cancellationToken) : null;
        return new HelpRequestDetailDto((await ToDtosAsync(db, [request], cancellationToken))[0], thread, report);
    }

    /// <summary>The attached screenshot (JPEG); null when there is none or the request is not in the scope. Every view is audited.</summary>
    public async Task<byte[]?> ScreenshotAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureMayView(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await FindAsync(scope, db, id, cancellationToken) is not { } request)
        {
            return null;
        }

        var content = await db.Set<HelpScreenshot>().AsNoTracking().Where(s => s.RequestId == id).Select(s => s.Content).FirstOrDefaultAsync(cancellationToken);
        if (content is null)
        {
            return null;
        }

        audit.Record(db, "support.screenshot.read", "helpRequest", id.ToString(), null, request.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return content;
    }

    /// <summary>Assigns the request to the caller (a technician taking it).</summary>
    public Task<HelpRequestDto?> AssignToMeAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageHelpRequests);
        return ChangeAsync(scope, id, r =>
        {
            if (r.AssignedToId == scope.AccountId)
            {
                return null;
            }

            r.AssignedToId = scope.AccountId;
            r.AssignedToName = scope.DisplayName;
            return ("assigned", null, $"to {scope.DisplayName}");
        }, cancellationToken);
    }

    /// <summary>Adds a note to the request's thread.</summary>
    public Task<HelpRequestDto?> AddNoteAsync(StaffScope scope, Guid id, HelpNoteRequest request, CancellationToken cancellationToken = default)
    {
        EnsureMayView(scope);
        var text = request.Text?.Trim();
        var validation = new Validation().Required("text", text, MaxNoteLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return ChangeAsync(scope, id, _ => ("note", null, text), cancellationToken);
    }

    /// <summary>The teacher sends the request on to the school's IT queue (nothing changes when it is already there).</summary>
    public Task<HelpRequestDto?> EscalateAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.UseClassroom);
        return ChangeAsync(scope, id, r =>
        {
            if (r.Status == HelpStatuses.Resolved)
            {
                throw new ConflictException("The request is already resolved.");
            }

            if (r.Status != HelpStatuses.WithTeacher)
            {
                return null;
            }

            r.Status = HelpStatuses.Escalated;
            return ("escalated", HelpStatuses.Escalated, null);
        }, cancellationToken);
    }

    /// <summary>Resolves the request (nothing changes when it already is).</summary>
    public Task<HelpRequestDto?> ResolveAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureMayView(scope);
        return ChangeAsync(scope, id, r =>
        {
            if (r.Status == HelpStatuses.Resolved)
            {
                return null;
            }

            r.Status = HelpStatuses.Resolved;
            r.ResolvedAt = time.GetUtcNow().UtcDateTime;
            return ("resolved", HelpStatuses.Resolved, null);
        }, cancellationToken);
    }

    private static void EnsureMayView(StaffScope scope)
    {
        if (!scope.Can(Permission.ManageHelpRequests) && !scope.Can(Permission.UseClassroom))
        {
            throw new ForbiddenException("Forbidden", "Your role does not allow this.");
        }
    }

    // A teacher reaches a request of their class only while that class is in session (the classroom's rule);
    // staff of the IT queue reach their school's at any time.
    private async Task<HelpRequest?> FindAsync(StaffScope scope, HomeroomDbContext db, Guid id, CancellationToken cancellationToken, bool tracked = false)
    {
        // The scope's query is a no-tracking one (and EF applies that to a whole query that contains it):
        // a request about to change is attached afterwards, so its changes are saved.
        var request = await scope.HelpRequests(db).Where(r => r.Id == id).FirstOrDefaultAsync(cancellationToken);
        if (request is null)
        {
            return null;
        }

        if (tracked)
        {
            db.Set<HelpRequest>().Attach(request);
        }

        if (!scope.Can(Permission.ManageHelpRequests)
            && (request.GroupId is not { } groupId || await ClassSchedules.StateAsync(db, groupId, time.GetUtcNow(), cancellationToken) is not { InSession: true }))
        {
            throw new ForbiddenException("The class is not in session", "A teacher sees their class's help requests only during class.");
        }

        return request;
    }

    private async Task<HelpRequestDto?> ChangeAsync(
        StaffScope scope, Guid id, Func<HelpRequest, (string Kind, string? Status, string? Text)?> change, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await FindAsync(scope, db, id, cancellationToken, tracked: true) is not { } request)
        {
            return null;
        }

        if (change(request) is { } happened)
        {
            var now = time.GetUtcNow().UtcDateTime;
            request.UpdatedAt = now;
            db.Set<HelpRequestEvent>().Add(Event(id, now, scope.DisplayName, happened.Kind, happened.Status, happened.Text));
            audit.Record(db, $"support.request.{happened.Kind}", "helpRequest", id.ToString(), happened.Kind == "note" ? null : happened.Text, request.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
            if (happened.Status == HelpStatuses.Escalated)
            {
                await diagnostics.RequestIfStaleAsync(request.Id, request.DeviceId, cancellationToken);
            }

            notifier.Publish(new HelpRequestChange(request.Id, request.DeviceId, request.SchoolId, request.GroupId, request.Status));
            if (happened.Kind != "note" && connections.Get(request.DeviceId) is { } connection)
            {
                await connection.SendAsync(new HelpStatusFrame(request.ClientId, request.Status, request.AssignedToId is not null || request.ResolvedAt is not null));
            }
        }

        return (await ToDtosAsync(db, [request], cancellationToken))[0];
    }

    private static HelpRequestEvent Event(Guid requestId, DateTime at, string actor, string kind, string? status, string? text) =>
        new() { Id = Guid.CreateVersion7(), RequestId = requestId, At = at, Actor = actor, Kind = kind, Status = status, Text = text };

    private static async Task<List<HelpRequestDto>> ToDtosAsync(HomeroomDbContext db, List<HelpRequest> rows, CancellationToken cancellationToken)
    {
        var deviceIds = rows.Select(r => r.DeviceId).Distinct().ToList();
        var personIds = rows.Where(r => r.PersonId != null).Select(r => r.PersonId!.Value).Distinct().ToList();
        var groupIds = rows.Where(r => r.GroupId != null).Select(r => r.GroupId!.Value).Distinct().ToList();
        var devices = await db.Devices.AsNoTracking().Where(d => deviceIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => d.Name, cancellationToken);
        var people = await db.People.AsNoTracking().Where(p => personIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.GivenName + " " + p.FamilyName, cancellationToken);
        var groups = await db.Groups.AsNoTracking().Where(g => groupIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.Name, cancellationToken);
        return rows.Select(r => new HelpRequestDto(
            r.Id, r.DeviceId, devices.GetValueOrDefault(r.DeviceId) ?? "", r.PersonId, r.PersonId is { } p ? people.GetValueOrDefault(p) : null,
            r.SchoolId, r.GroupId, r.GroupId is { } g ? groups.GetValueOrDefault(g) : null, r.Note, r.HasScreenshot, r.Status,
            r.AssignedToId, r.AssignedToName, r.CreatedAt, r.UpdatedAt, r.ResolvedAt)).ToList();
    }
}
