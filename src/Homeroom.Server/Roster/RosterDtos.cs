namespace Homeroom.Server.Roster;

public sealed record SchoolDto(Guid Id, string Name, string? Code, string TimeZone, DateTime CreatedAt)
{
    public static SchoolDto From(School s) => new(s.Id, s.Name, s.Code, s.TimeZone, s.CreatedAt);
}

public sealed record SchoolRequest(string? Name, string? Code, string? TimeZone);

/// <summary>A group: <see cref="DeviceCount"/> counts its devices and its people's devices, each once.</summary>
/// <summary>A group; <see cref="ArchivedAt"/> is set for last year's classes a roster import or rollover archived (kept for history, no longer in effect).</summary>
public sealed record GroupDto(
    Guid Id, Guid? SchoolId, GroupKind Kind, string Name, string? ExternalId, int? GradeLevel, int MemberCount, int DeviceCount, string? SchoolName = null,
    DateTime? ArchivedAt = null);

public sealed record GroupRequest(Guid? SchoolId, GroupKind? Kind, string? Name, string? ExternalId, int? GradeLevel);

public sealed record GroupMembersRequest(IReadOnlyList<Guid>? PersonIds, IReadOnlyList<Guid>? DeviceIds);

/// <summary>A person; <see cref="SourcedId"/> and <see cref="ArchivedAt"/> are set for people a OneRoster import brought.</summary>
public sealed record PersonDto(Guid Id, Guid? SchoolId, PersonKind Kind, string? ExternalId, string GivenName, string FamilyName, string? Email, int? GradeLevel,
    string? SourcedId = null, DateTime? ArchivedAt = null)
{
    public static PersonDto From(Person p) => new(p.Id, p.SchoolId, p.Kind, p.ExternalId, p.GivenName, p.FamilyName, p.Email, p.GradeLevel, p.SourcedId, p.ArchivedAt);
}

public sealed record PersonRequest(Guid? SchoolId, PersonKind? Kind, string? ExternalId, string? GivenName, string? FamilyName, string? Email, int? GradeLevel);
