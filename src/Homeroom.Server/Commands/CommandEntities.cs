using System.Linq.Expressions;
using Homeroom.Rules.Commands;

namespace Homeroom.Server.Commands;

public sealed class Command
{
    public Guid Id { get; set; }
    public required string Kind { get; set; }

    /// <summary>The arguments as a JSON object of strings.</summary>
    public required string ArgumentsJson { get; set; }
    public required string TargetType { get; set; }
    public Guid? TargetId { get; set; }
    public int TargetCount { get; set; }
    public required string IssuedBy { get; set; }
    public DateTime IssuedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
}

/// <summary>One command for one device.</summary>
public sealed class CommandDelivery
{
    /// <summary>
    /// Not finished: queued, sent, or acknowledged (a final status the device sent to a node that died before storing
    /// it is asked for again).
    /// </summary>
    public static readonly Expression<Func<CommandDelivery, bool>> Unfinished =
        d => d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent || d.Status == DeliveryStatus.Acknowledged;

    public Guid CommandId { get; set; }
    public Guid DeviceId { get; set; }
    public DeliveryStatus Status { get; set; }
    public DateTime UpdatedAt { get; set; }
    public string? Error { get; set; }
    public string? Result { get; set; }
}
