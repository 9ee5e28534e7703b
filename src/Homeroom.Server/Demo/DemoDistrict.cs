using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Classroom;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Roster;
using Homeroom.Simulator.Fleet;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Demo;

/// <summary>
/// Seeds a demo district whose devices are exactly the simulated fleet's (same seed, same serials),
/// so when the simulator enrolls, each virtual device lands on its seeded record: assigned to a
/// student, in a class, at a school. Everything it creates is marked: school codes start with
/// <c>DEMO-</c>, people's external ids with <c>demo-</c>, names end with "(demo)" where shown.
/// </summary>
public sealed partial class DemoDistrict(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<DemoOptions> options, TimeProvider time, ILogger<DemoDistrict> logger)
{
    public const string SchoolCodePrefix = "DEMO-";
    public const string ExternalIdPrefix = "demo-";
    public const string TokenName = "Demo fleet (demo)";
    public static readonly GeoPoint Campus = new(41.8781, -87.6298);

    private static readonly string[] GivenNames =
    [
        "Ava", "Liam", "Mia", "Noah", "Emma", "Elijah", "Sofia", "Mateo", "Amara", "Kai", "Zoe", "Lucas", "Aaliyah", "Ethan", "Priya",
        "Diego", "Hana", "Omar", "Isla", "Malik", "Chloe", "Jin", "Layla", "Santiago", "Nora", "Tariq", "Ruby", "Wei", "Leah", "Kofi",
    ];

    private static readonly string[] FamilyNames =
    [
        "Johnson", "Garcia", "Nguyen", "Smith", "Patel", "Brown", "Martinez", "Kim", "Williams", "Lopez", "Okafor", "Davis", "Chen",
        "Hernandez", "Wilson", "Ali", "Anderson", "Rossi", "Thomas", "Kowalski", "Jackson", "Haddad", "White", "Moreno", "Singh",
    ];

    private sealed record SchoolPlan(string Code, string Name, int LowGrade, int HighGrade);

    private static readonly SchoolPlan[] Schools =
    [
        new("DEMO-ES", "Maple Valley Elementary (demo)", -1, 4),
        new("DEMO-MS", "Maple Valley Middle School (demo)", 5, 8),
        new("DEMO-HS", "Maple Valley High School (demo)", 9, 12),
    ];

    /// <summary>Seeds the district unless a demo school exists already. Returns true when it seeded.</summary>
    public async Task<bool> SeedAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await db.Schools.AnyAsync(s => s.Code != null && s.Code.StartsWith(SchoolCodePrefix), cancellationToken))
        {
            return false;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var random = new Random(options.Value.Seed);
        var fleet = FleetProfile.Create(options.Value.Devices, options.Value.Seed, Campus);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (!await db.Districts.AnyAsync(cancellationToken))
        {
            db.Districts.Add(new District { Id = Guid.CreateVersion7(), Name = "Maple Valley Unified (demo)", TimeZone = "America/Chicago", CreatedAt = now });
        }

        var schools = Schools.ToDictionary(p => p, p => new School { Id = Guid.CreateVersion7(), Name = p.Name, Code = p.Code, TimeZone = "America/Chicago", CreatedAt = now });
        db.Schools.AddRange(schools.Values);

        // The model has no navigations, so EF cannot order inserts by foreign key: rows are saved in dependency order instead.
        var newGroups = new List<Group>();
        var newPeople = new List<Person>();
        var newDevices = new List<Device>();
        var newMembers = new List<GroupMember>();
        var newGroupDevices = new List<GroupDevice>();
        var grades = new Dictionary<int, Group>();
        var classes = new Dictionary<(int Grade, int Room), Group>();
        var classSizes = new Dictionary<int, int>();
        var people = 0;
        var staffPool = new Queue<Person>();

        SchoolPlan PlanFor(int grade) => Schools.First(p => grade >= p.LowGrade && grade <= p.HighGrade);

        Group GradeGroup(int grade)
        {
            if (!grades.TryGetValue(grade, out var group))
            {
                group = new Group
                {
                    Id = Guid.CreateVersion7(), SchoolId = schools[PlanFor(grade)].Id, Kind = GroupKind.Grade, GradeLevel = grade, CreatedAt = now,
                    Name = grade switch { -1 => "Pre-K", 0 => "Kindergarten", _ => $"Grade {grade}" },
                };
                grades[grade] = group;
                newGroups.Add(group);
            }

            return group;
        }

        Group ClassGroup(int grade)
        {
            var seat = classSizes.GetValueOrDefault(grade);
            classSizes[grade] = seat + 1;
            var room = seat / options.Value.StudentsPerClass;
            if (!classes.TryGetValue((grade, room), out var group))
            {
                var teacher = NewPerson(PersonKind.Staff, null, schools[PlanFor(grade)].Id);
                staffPool.Enqueue(teacher);
                group = new Group
                {
                    Id = Guid.CreateVersion7(), SchoolId = schools[PlanFor(grade)].Id, Kind = GroupKind.Class, GradeLevel = grade, CreatedAt = now,
                    Name = $"{GradeGroup(grade).Name} – Room {100 + ((grade + 1) * 10) + room} ({teacher.FamilyName})",
                };
                classes[(grade, room)] = group;
                newGroups.Add(group);
                newMembers.Add(new GroupMember { GroupId = group.Id, PersonId = teacher.Id });
            }

            return group;
        }

        Person NewPerson(PersonKind kind, int? grade, Guid schoolId)
        {
            people++;
            var given = GivenNames[random.Next(GivenNames.Length)];
            var family = FamilyNames[random.Next(FamilyNames.Length)];
            var person = new Person
            {
                Id = Guid.CreateVersion7(), SchoolId = schoolId, Kind = kind, GradeLevel = grade, CreatedAt = now,
                ExternalId = $"{ExternalIdPrefix}{(kind == PersonKind.Student ? "stu" : "staff")}-{people:D5}",
                GivenName = kind == PersonKind.Staff ? (random.Next(2) == 0 ? "Ms." : "Mr.") : given,
                FamilyName = family,
                Email = $"{given.ToLowerInvariant()}.{family.ToLowerInvariant()}{people}@maplevalley.example.org",
            };
            newPeople.Add(person);
            return person;
        }

        var spares = new Dictionary<Guid, Group>();
        foreach (var spec in fleet)
        {
            Guid schoolId;
            Guid? assignee = null;
            if (spec.IsSpare)
            {
                schoolId = schools[Schools[spec.Index % Schools.Length]].Id;
                if (!spares.TryGetValue(schoolId, out var pool))
                {
                    pool = new Group { Id = Guid.CreateVersion7(), SchoolId = schoolId, Kind = GroupKind.SparePool, Name = "Spare Chromebooks cart", CreatedAt = now };
                    spares[schoolId] = pool;
                    newGroups.Add(pool);
                }
            }
            else if (spec.Grade is { } grade)
            {
                schoolId = schools[PlanFor(grade)].Id;
                var student = NewPerson(PersonKind.Student, grade, schoolId);
                newMembers.Add(new GroupMember { GroupId = GradeGroup(grade).Id, PersonId = student.Id });
                newMembers.Add(new GroupMember { GroupId = ClassGroup(grade).Id, PersonId = student.Id });
                assignee = student.Id;
            }
            else
            {
                // Teacher laptops go to the teachers created with the classes, then to extra staff.
                var teacher = staffPool.Count > 0 ? staffPool.Dequeue() : NewPerson(PersonKind.Staff, null, schools[Schools[spec.Index % Schools.Length]].Id);
                schoolId = teacher.SchoolId!.Value;
                assignee = teacher.Id;
            }

            var device = new Device
            {
                Id = Guid.CreateVersion7(), Name = spec.Name, Platform = spec.Platform, Serial = spec.Serial, Model = spec.Model,
                Manufacturer = spec.Manufacturer, OsVersion = spec.OsVersion, SchoolId = schoolId, AssignedPersonId = assignee,
                State = spec.IsSpare ? DeviceState.Spare : DeviceState.Active, EnrolledAt = now,
                AssetTag = $"MV-{spec.Index + 1:D6}",
                CredentialHash = Secrets.Hash(Secrets.Create("demo_")),
                // The record exists before its simulated agent: approve that agent's first enrollment.
                ReenrollmentApprovedUntil = now.AddYears(10),
            };
            newDevices.Add(device);
            if (spec.IsSpare)
            {
                newGroupDevices.Add(new GroupDevice { GroupId = spares[schoolId].Id, DeviceId = device.Id });
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        db.Groups.AddRange(newGroups);
        db.People.AddRange(newPeople);
        await db.SaveChangesAsync(cancellationToken);
        db.Devices.AddRange(newDevices);
        db.GroupMembers.AddRange(newMembers);
        await db.SaveChangesAsync(cancellationToken);
        db.GroupDevices.AddRange(newGroupDevices);
        db.ClassSchedules.AddRange(classes.Values.Select(c => ClassDay(c.Id, now)));
        await db.SaveChangesAsync(cancellationToken);
        await DemoPolicies.SeedAsync(db, Campus, now, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        Apps.DemoApps.Seed(db, now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        DemoLog.Seeded(logger, schools.Count, classes.Count, people, fleet.Count);
        return true;
    }

    // Every demo class meets all school day, so its classroom is live during school hours (schools' time zone).
    private static ClassScheduleRecord ClassDay(Guid classId, DateTime now)
    {
        var year = now.Month >= 8 ? now.Year : now.Year - 1;
        var schedule = new ClassScheduleDto($"{year}-08-01", $"{year + 1}-06-30", [new ClassMeetingDto(["monday", "tuesday", "wednesday", "thursday", "friday"], "08:00", "15:00")]);
        return new ClassScheduleRecord { GroupId = classId, ScheduleJson = JsonSerializer.Serialize(schedule, JsonSerializerOptions.Web), UpdatedAt = now };
    }

    /// <summary>Creates a fresh, short-lived enrollment token for the demo fleet and returns its secret.</summary>
    public async Task<string> CreateFleetTokenAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        await db.EnrollmentTokens.Where(t => t.Name == TokenName && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), cancellationToken);
        var secret = Secrets.Create("hre_");
        db.EnrollmentTokens.Add(new EnrollmentToken
        {
            Id = Guid.CreateVersion7(), Name = TokenName, SecretHash = Secrets.Hash(secret), SecretHint = secret[^4..],
            ExpiresAt = now.AddHours(12), MaxUses = options.Value.Devices, CreatedAt = now, CreatedBy = "demo",
        });
        await db.SaveChangesAsync(cancellationToken);
        return secret;
    }

    /// <summary>Deletes everything the demo created; other data stays. Returns the number of rows removed.</summary>
    public async Task<int> RemoveAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var schoolIds = await db.Schools.Where(s => s.Code != null && s.Code.StartsWith(SchoolCodePrefix)).Select(s => s.Id).ToListAsync(cancellationToken);
        var tokenIds = await db.EnrollmentTokens.Where(t => t.Name == TokenName).Select(t => t.Id).ToListAsync(cancellationToken);
        var removed = await DemoRollout.RemoveAsync(db, cancellationToken);
        removed += await db.Devices
            .Where(d => (d.SchoolId != null && schoolIds.Contains(d.SchoolId.Value)) || (d.EnrollmentTokenId != null && tokenIds.Contains(d.EnrollmentTokenId.Value)))
            .ExecuteDeleteAsync(cancellationToken);
        removed += await db.People.Where(p => p.ExternalId != null && p.ExternalId.StartsWith(ExternalIdPrefix)).ExecuteDeleteAsync(cancellationToken);
        removed += await db.Groups.Where(g => g.SchoolId != null && schoolIds.Contains(g.SchoolId.Value)).ExecuteDeleteAsync(cancellationToken);
        removed += await db.EnrollmentTokens.Where(t => t.Name == TokenName).ExecuteDeleteAsync(cancellationToken);
        removed += await db.Schools.Where(s => schoolIds.Contains(s.Id)).ExecuteDeleteAsync(cancellationToken);
        removed += await db.Districts.Where(d => d.Name.EndsWith("(demo)")).ExecuteDeleteAsync(cancellationToken);
        removed += await DemoPolicies.RemoveAsync(db, cancellationToken);
        removed += await Apps.DemoApps.RemoveAsync(db, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return removed;
    }
}

internal static partial class DemoLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Seeded the demo district: {Schools} schools, {Classes} classes, {People} people, {Devices} devices")]
    public static partial void Seeded(ILogger logger, int schools, int classes, int people, int devices);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Demo fleet of {Devices} simulated devices started against {Address}")]
    public static partial void FleetStarted(ILogger logger, int devices, string address);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Demo data removed ({Rows} rows) by {Actor}")]
    public static partial void Removed(ILogger logger, int rows, string actor);
}
