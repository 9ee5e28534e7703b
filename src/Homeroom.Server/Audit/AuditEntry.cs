namespace Homeroom.Server.Audit;

/// <summary>One staff action. The table is append-only; only retention deletes rows.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTime At { get; set; }
    public Guid? ActorId { get; set; }
    public required string ActorName { get; set; }
    public required string Action { get; set; }
    public string? TargetType { get; set; }
    public string? TargetId { get; set; }
    public string? Details { get; set; }
    public string? RemoteAddress { get; set; }

    /// <summary>The school the action concerns (the target's, else the actor's); null for district matters.</summary>
    public Guid? SchoolId { get; set; }
}
