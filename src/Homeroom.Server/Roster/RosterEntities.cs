using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>The district this installation serves. There is exactly one row.</summary>
public sealed class District
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string TimeZone { get; set; }
    public DateTime CreatedAt { get; set; }

    /// <summary>The district's time zone id, read from its row (the first by id); null when there is no row.</summary>
    public static Task<string?> TimeZoneIdAsync(IQueryable<District> districts, CancellationToken cancellationToken) =>
        districts.AsNoTracking().OrderBy(d => d.Id).Select(d => (string?)d.TimeZone).FirstOrDefaultAsync(cancellationToken);
}

/// <summary>
/// One district-wide setting staff change in the console (table <c>district_settings</c>, one row per name; the
/// <see cref="District"/> row exists only in the demo). Which names exist is up to their owners, for example
/// <see cref="Diagnostics.DiagnosticSites"/>.
/// </summary>
public sealed class DistrictSetting
{
    public required string Name { get; set; }
    public required string Value { get; set; }
    public DateTime UpdatedAt { get; set; }
    public required string UpdatedBy { get; set; }
}

public sealed class School
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string? Code { get; set; }
    public required string TimeZone { get; set; }
    /// <summary>The OneRoster org this school was imported from (null when made by hand).</summary>
    public string? SourcedId { get; set; }
    public DateTime CreatedAt { get; set; }
}

public enum GroupKind
{
    Grade,
    Class,
    Cart,
    SparePool,
    Custom,
}

/// <summary>A set of people and/or devices: a grade, a class, a device cart, a spare pool or anything else.</summary>
public sealed class Group
{
    public Guid Id { get; set; }
    public Guid? SchoolId { get; set; }
    public GroupKind Kind { get; set; }
    public required string Name { get; set; }
    public string? ExternalId { get; set; }
    public int? GradeLevel { get; set; }
    /// <summary>The OneRoster class this group was imported from (null when made by hand).</summary>
    public string? SourcedId { get; set; }
    /// <summary>When the roster stopped listing it; an archived class keeps its members and history.</summary>
    public DateTime? ArchivedAt { get; set; }
    public DateTime CreatedAt { get; set; }
}

public enum PersonKind
{
    Student,
    Staff,
}

public sealed class Person
{
    public Guid Id { get; set; }
    public Guid? SchoolId { get; set; }
    public PersonKind Kind { get; set; }
    public string? ExternalId { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string? Email { get; set; }
    public int? GradeLevel { get; set; }
    /// <summary>The OneRoster user this person was imported from (null when made by hand).</summary>
    public string? SourcedId { get; set; }
    /// <summary>When the roster stopped listing them; an archived person keeps their devices and history.</summary>
    public DateTime? ArchivedAt { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class GroupMember
{
    public Guid GroupId { get; set; }
    public Guid PersonId { get; set; }
}

public sealed class GroupDevice
{
    public Guid GroupId { get; set; }
    public Guid DeviceId { get; set; }
}
