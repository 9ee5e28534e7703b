using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Hosting;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Who is acting and what part of the district they reach: district administrators (and accounts
/// limited to no school) everything; an account limited to a school only that school; a teacher only
/// the students, devices and classes of their own classes. Every query and use case takes a scope as
/// a required argument and reads through it, in the API and the console alike; the edge check
/// (<see cref="StaffAuthorizationHandler"/>) uses the same definitions.
/// </summary>
public sealed record StaffScope(Guid AccountId, string Username, string DisplayName, StaffRole Role, Guid? SchoolId, Guid? PersonId)
{
    /// <summary>The server itself (out-of-bounds alerts, the demo): district-wide, named "system" in the audit log.</summary>
    public static readonly StaffScope System = new(Guid.Empty, "system", "Homeroom", StaffRole.DistrictAdmin, null, null);

    /// <summary>The scope of an authenticated staff principal.</summary>
    public static StaffScope Of(ClaimsPrincipal user) =>
        TryOf(user, out var scope) ? scope : throw new InvalidOperationException("The request is not authenticated as a staff member.");

    public static bool TryOf(ClaimsPrincipal? user, [NotNullWhen(true)] out StaffScope? scope)
    {
        scope = null;
        if (user?.Identity?.IsAuthenticated != true
            || !Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id)
            || user.FindFirstValue(ClaimTypes.Name) is not { } name
            || !Enum.TryParse<StaffRole>(user.FindFirstValue(StaffUser.RoleClaim), ignoreCase: false, out var role)
            || !Enum.IsDefined(role))
        {
            return false;
        }

        var school = Guid.TryParse(user.FindFirstValue(StaffUser.SchoolClaim), out var s) ? s : (Guid?)null;
        var person = Guid.TryParse(user.FindFirstValue(StaffUser.PersonClaim), out var p) ? p : (Guid?)null;
        var display = user.FindFirstValue(StaffUser.DisplayNameClaim) is { Length: > 0 } d ? d : name;
        scope = new StaffScope(id, name, display, role, role == StaffRole.DistrictAdmin ? null : school, person)
        {
            MustSetUpTwoStep = user.HasClaim(c => c.Type == StaffUser.TwoStepSetupClaim),
        };
        return true;
    }

    /// <summary>Binds an endpoint's <c>StaffScope</c> parameter to the signed-in staff member.</summary>
    public static ValueTask<StaffScope?> BindAsync(HttpContext context) =>
        ValueTask.FromResult(TryOf(context.User, out var scope) ? scope : null);

    /// <summary>The staff member as the issuer of commands and the actor of audit entries.</summary>
    public StaffUser User => new(AccountId, Username);

    /// <summary>
    /// True while the district requires two-step sign-in of this account and it is not set up: then only
    /// its own account (where it is set up) is open to it, whatever the role.
    /// </summary>
    public bool MustSetUpTwoStep { get; init; }

    /// <summary>Whether the role has a permission (only <see cref="Permission.OwnAccount"/> while <see cref="MustSetUpTwoStep"/>).</summary>
    public bool Can(Permission permission) => Permissions.Has(Role, permission) && (!MustSetUpTwoStep || permission == Permission.OwnAccount);

    /// <summary>True when nothing is filtered out.</summary>
    public bool IsDistrictWide => Role == StaffRole.DistrictAdmin || (Role != StaffRole.Teacher && SchoolId is null);

    /// <summary>Whether the scope reaches a school; <c>null</c> (a district-level resource) only district-wide scopes reach.</summary>
    public bool IncludesSchool(Guid? schoolId) =>
        IsDistrictWide || (schoolId is { } id && Role != StaffRole.Teacher && SchoolId == id);

    /// <summary>Refuses (403) a resource placed in, or moved to or from, a school outside the scope.</summary>
    public void EnsureIncludesSchool(Guid? schoolId, string field)
    {
        if (!IncludesSchool(schoolId))
        {
            throw new ForbiddenException("Outside your school",
                schoolId is null
                    ? $"{field}: only district-wide staff may act on resources that belong to no school."
                    : $"{field}: that school is outside your scope.");
        }
    }

    /// <summary>Refuses (403) when the role lacks a permission (use cases check the permission they need even when the edge did).</summary>
    public void EnsureCan(Permission permission)
    {
        if (!Can(permission))
        {
            throw new ForbiddenException("Forbidden", "Your role does not allow this.");
        }
    }

    /// <summary>The classes a teacher teaches (their roster person's groups; none without a person).</summary>
    public IQueryable<Guid> OwnClassIds(HomeroomDbContext db)
    {
        var person = PersonId ?? Guid.Empty;
        return db.GroupMembers.Where(m => m.PersonId == person).Select(m => m.GroupId);
    }

    /// <summary>
    /// The devices staff of this scope may see and act on. A desktop's browser extension (a companion, <see cref="Device.CompanionOf"/>)
    /// is never one of them: it is shown and acted on through its desktop only, so it is neither listed nor counted twice.
    /// </summary>
    public IQueryable<Device> Devices(HomeroomDbContext db)
    {
        var devices = db.Devices.AsNoTracking().Where(d => d.CompanionOf == null);
        if (IsDistrictWide)
        {
            return devices;
        }

        if (Role == StaffRole.Teacher)
        {
            return devices.InGroups(db, OwnClassIds(db));
        }

        var school = SchoolId;
        return devices.Where(d => d.SchoolId == school);
    }

    public IQueryable<Group> Groups(HomeroomDbContext db)
    {
        var groups = db.Groups.AsNoTracking();
        if (IsDistrictWide)
        {
            return groups;
        }

        if (Role == StaffRole.Teacher)
        {
            var classes = OwnClassIds(db);
            return groups.Where(g => classes.Contains(g.Id));
        }

        var school = SchoolId;
        return groups.Where(g => g.SchoolId == school);
    }

    public IQueryable<Person> People(HomeroomDbContext db)
    {
        var people = db.People.AsNoTracking();
        if (IsDistrictWide)
        {
            return people;
        }

        if (Role == StaffRole.Teacher)
        {
            var classes = OwnClassIds(db);
            return people.Where(p => db.GroupMembers.Any(m => classes.Contains(m.GroupId) && m.PersonId == p.Id));
        }

        var school = SchoolId;
        return people.Where(p => p.SchoolId == school);
    }

    public IQueryable<School> Schools(HomeroomDbContext db)
    {
        var schools = db.Schools.AsNoTracking();
        if (IsDistrictWide)
        {
            return schools;
        }

        if (Role == StaffRole.Teacher)
        {
            var classSchools = Groups(db).Select(g => g.SchoolId);
            return schools.Where(s => classSchools.Contains(s.Id));
        }

        var school = SchoolId;
        return schools.Where(s => s.Id == school);
    }

    /// <summary>Staff accounts: a school's accounts for its staff; a teacher only their own.</summary>
    public IQueryable<StaffAccount> Accounts(HomeroomDbContext db)
    {
        var accounts = db.StaffAccounts.AsNoTracking();
        if (IsDistrictWide)
        {
            return accounts;
        }

        if (Role == StaffRole.Teacher)
        {
            var self = AccountId;
            return accounts.Where(a => a.Id == self);
        }

        var school = SchoolId;
        return accounts.Where(a => a.SchoolId == school);
    }

    /// <summary>Enrollment tokens that enroll into the scope's school (directly or through a group of it).</summary>
    public IQueryable<EnrollmentToken> EnrollmentTokens(HomeroomDbContext db)
    {
        var tokens = db.EnrollmentTokens.AsNoTracking();
        if (IsDistrictWide)
        {
            return tokens;
        }

        if (Role == StaffRole.Teacher)
        {
            return tokens.Where(_ => false);
        }

        var school = SchoolId;
        return tokens.Where(t => t.SchoolId == school
            || (t.SchoolId == null && t.GroupId != null && db.Groups.Any(g => g.Id == t.GroupId && g.SchoolId == school)));
    }

    /// <summary>Commands that reached at least one device of the scope.</summary>
    public IQueryable<Command> Commands(HomeroomDbContext db)
    {
        var commands = db.Commands.AsNoTracking();
        if (IsDistrictWide)
        {
            return commands;
        }

        var devices = Devices(db).Select(d => d.Id);
        return commands.Where(c => db.CommandDeliveries.Any(x => x.CommandId == c.Id && devices.Contains(x.DeviceId)));
    }

    /// <summary>Deliveries to the scope's devices.</summary>
    public IQueryable<CommandDelivery> Deliveries(HomeroomDbContext db)
    {
        var deliveries = db.CommandDeliveries.AsNoTracking();
        if (IsDistrictWide)
        {
            return deliveries;
        }

        var devices = Devices(db).Select(d => d.Id);
        return deliveries.Where(x => devices.Contains(x.DeviceId));
    }

    /// <summary>Alerts about the scope's devices.</summary>
    public IQueryable<Alert> Alerts(HomeroomDbContext db)
    {
        var alerts = db.Alerts.AsNoTracking();
        if (IsDistrictWide)
        {
            return alerts;
        }

        var devices = Devices(db).Select(d => d.Id);
        return alerts.Where(a => devices.Contains(a.DeviceId));
    }

    /// <summary>Audit entries about the scope's school (by its staff, or on its resources); a teacher only their own.</summary>
    public IQueryable<AuditEntry> AuditEntries(HomeroomDbContext db)
    {
        var entries = db.AuditLog.AsNoTracking();
        if (IsDistrictWide)
        {
            return entries;
        }

        if (Role == StaffRole.Teacher)
        {
            var self = AccountId;
            return entries.Where(e => e.ActorId == self);
        }

        var school = SchoolId;
        return entries.Where(e => e.SchoolId == school);
    }

    /// <summary>Zones the scope may change: its school's (district zones only district-wide).</summary>
    public IQueryable<Zone> ManageableZones(HomeroomDbContext db)
    {
        var zones = db.Zones.AsNoTracking();
        if (IsDistrictWide)
        {
            return zones;
        }

        var school = Role == StaffRole.Teacher ? Guid.Empty : SchoolId;
        return zones.Where(z => z.SchoolId == school);
    }

    /// <summary>Profiles the scope may change: its school's (district profiles only district-wide).</summary>
    public IQueryable<Profile> ManageableProfiles(HomeroomDbContext db)
    {
        var profiles = db.Profiles.AsNoTracking();
        if (IsDistrictWide)
        {
            return profiles;
        }

        var school = Role == StaffRole.Teacher ? Guid.Empty : SchoolId;
        return profiles.Where(p => p.SchoolId == school);
    }

    /// <summary>Profiles the scope may assign: district profiles and its school's.</summary>
    public IQueryable<Profile> AssignableProfiles(HomeroomDbContext db)
    {
        var profiles = db.Profiles.AsNoTracking();
        if (IsDistrictWide)
        {
            return profiles;
        }

        var school = Role == StaffRole.Teacher ? Guid.Empty : SchoolId;
        return profiles.Where(p => p.SchoolId == null || p.SchoolId == school);
    }

    /// <summary>
    /// Whether the scope may place or change an assignment at this level and scope key: its school, or a
    /// group or device of it. District and grade assignments reach every school, so only district-wide
    /// staff change them. A teacher changes none.
    /// </summary>
    public async Task<bool> MayAssignAsync(HomeroomDbContext db, Rules.Policies.ScopeLevel level, string? scopeKey, CancellationToken cancellationToken)
    {
        if (IsDistrictWide)
        {
            return true;
        }

        if (Role == StaffRole.Teacher || !Guid.TryParse(scopeKey, out var id))
        {
            return false;
        }

        return level switch
        {
            Rules.Policies.ScopeLevel.School => IncludesSchool(id),
            Rules.Policies.ScopeLevel.Group => await Groups(db).AnyAsync(g => g.Id == id, cancellationToken),
            Rules.Policies.ScopeLevel.Device => await Devices(db).AnyAsync(d => d.Id == id, cancellationToken),
            _ => false,
        };
    }
}
