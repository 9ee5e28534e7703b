using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>
/// Schools, for the API and the console: staff read the schools of their scope; creating, changing
/// and deleting schools is a district matter (<see cref="Permission.ManageSchools"/>).
/// </summary>
public sealed class SchoolDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, SchoolTimeZones timeZones, TimeProvider time)
{
    public const int MaxCodeLength = 32;

    public async Task<PagedResult<SchoolDto>> ListAsync(StaffScope scope, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var schools = scope.Schools(db);
        var total = await schools.CountAsync(cancellationToken);
        var items = await schools.OrderBy(s => s.Name).ThenBy(s => s.Id).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<SchoolDto>(items.Select(SchoolDto.From).ToList(), total);
    }

    public async Task<SchoolDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Schools(db).FirstOrDefaultAsync(s => s.Id == id, cancellationToken) is { } school ? SchoolDto.From(school) : null;
    }

    public async Task<SchoolDto> CreateAsync(StaffScope scope, SchoolRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        Validate(request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = new School
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!.Trim(),
            Code = Code(request.Code),
            TimeZone = request.TimeZone ?? "UTC",
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        await EnsureCodeFreeAsync(db, school.Code, null, cancellationToken);
        await EnsureNameFreeAsync(db, school.Name, null, cancellationToken);
        db.Schools.Add(school);
        audit.Record(db, "school.create", "school", school.Id.ToString(), school.Name, school.Id);
        await SaveAsync(db, school.Name, cancellationToken);
        timeZones.Invalidate();
        return SchoolDto.From(school);
    }

    public async Task<SchoolDto?> UpdateAsync(StaffScope scope, Guid id, SchoolRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        Validate(request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Schools(db).AnyAsync(s => s.Id == id, cancellationToken))
        {
            return null;
        }

        var school = await db.Schools.FirstAsync(s => s.Id == id, cancellationToken);
        var code = Code(request.Code);
        await EnsureCodeFreeAsync(db, code, id, cancellationToken);
        await EnsureNameFreeAsync(db, request.Name!.Trim(), id, cancellationToken);
        var zoneChanged = request.TimeZone is not null && request.TimeZone != school.TimeZone;
        school.Name = request.Name!.Trim();
        school.Code = code;
        school.TimeZone = request.TimeZone ?? school.TimeZone;
        audit.Record(db, "school.update", "school", id.ToString(), $"{school.Name} ({school.TimeZone})", id);
        await SaveAsync(db, school.Name, cancellationToken);
        timeZones.Invalidate();
        if (zoneChanged)
        {
            // Schedules are read in the school's time zone.
            policies.RequestAll();
        }

        return SchoolDto.From(school);
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Schools(db).AnyAsync(s => s.Id == id, cancellationToken))
        {
            return false;
        }

        if (await db.Devices.AnyAsync(d => d.SchoolId == id, cancellationToken))
        {
            throw new ConflictException("The school still has devices; move or retire them first.");
        }

        // An account limited to a school that disappeared would become district-wide: never widen access by deleting.
        if (await db.StaffAccounts.AnyAsync(a => a.SchoolId == id, cancellationToken))
        {
            throw new ConflictException("Staff accounts are limited to this school; move them to another school first.");
        }

        var school = await db.Schools.FirstAsync(s => s.Id == id, cancellationToken);
        db.Schools.Remove(school);
        audit.Record(db, "school.delete", "school", id.ToString(), school.Name, id);
        await db.SaveChangesAsync(cancellationToken);
        timeZones.Invalidate();
        policies.RequestAll();
        return true;
    }

    private static void Validate(SchoolRequest request)
    {
        var validation = new Validation()
            .Required("name", request.Name, RosterLimits.MaxNameLength)
            .Optional("code", request.Code, MaxCodeLength)
            .TimeZone("timeZone", request.TimeZone);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }
    }

    private static string? Code(string? code) => string.IsNullOrWhiteSpace(code) ? null : code.Trim();

    /// <summary>School names are unique in the district, in any case: staff pick schools by name.</summary>
    private static async Task EnsureNameFreeAsync(HomeroomDbContext db, string name, Guid? self, CancellationToken cancellationToken)
    {
        var lower = name.ToLowerInvariant();
        if (await db.Schools.AnyAsync(s => s.Name.ToLower() == lower && s.Id != self, cancellationToken))
        {
            throw new ConflictException($"A school named '{name}' exists; choose another name.");
        }
    }

    /// <summary>Saves; a name or code taken meanwhile by another request (the unique indexes) is the same clear conflict as one found before.</summary>
    private static async Task SaveAsync(HomeroomDbContext db, string name, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            throw new ConflictException($"A school named '{name}' or with that code was created at the same time; nothing was changed.");
        }
    }

    private static async Task EnsureCodeFreeAsync(HomeroomDbContext db, string? code, Guid? self, CancellationToken cancellationToken)
    {
        if (code is not null && await db.Schools.AnyAsync(s => s.Code == code && s.Id != self, cancellationToken))
        {
            throw new ConflictException($"A school with code '{code}' exists.");
        }
    }
}
