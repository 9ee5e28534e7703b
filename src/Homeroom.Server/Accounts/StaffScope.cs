using System.Security.Claims;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

/// <summary>
/// What part of the district a staff member sees: district administrators everything; an account
/// limited to a school only that school's devices, groups and people; a teacher only the students
/// and devices of their own classes. Every list and lookup of devices, groups and people goes
/// through here, in the API and in the console alike.
/// </summary>
public sealed record StaffScope(Guid AccountId, StaffRole Role, Guid? SchoolId, Guid? PersonId)
{
    public static StaffScope Of(ClaimsPrincipal user) => new(
        StaffUser.From(user).Id,
        Permissions.RoleOf(user),
        Guid.TryParse(user.FindFirstValue(StaffUser.SchoolClaim), out var school) ? school : null,
        StaffUser.PersonOf(user));

    /// <summary>True when nothing is filtered out.</summary>
    public bool IsDistrictWide => Role == StaffRole.DistrictAdmin || (Role != StaffRole.Teacher && SchoolId is null);

    /// <summary>The classes a teacher teaches (empty for a teacher without a roster person).</summary>
    public IQueryable<Guid> OwnClassIds(HomeroomDbContext db)
    {
        var person = PersonId ?? Guid.Empty;
        return db.GroupMembers.Where(m => m.PersonId == person).Select(m => m.GroupId);
    }

    public IQueryable<Device> Devices(HomeroomDbContext db)
    {
        var devices = db.Devices.AsNoTracking();
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

    /// <summary>Whether the scope includes this school (a command or token for a whole school).</summary>
    public bool IncludesSchool(Guid schoolId) => IsDistrictWide || (Role != StaffRole.Teacher && SchoolId == schoolId);
}
