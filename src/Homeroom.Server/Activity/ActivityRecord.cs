namespace Homeroom.Server.Activity;

/// <summary>One stored activity event. (device, seq) is unique, which makes resent batches harmless.</summary>
public sealed class ActivityRecord
{
    public long Id { get; set; }
    public Guid DeviceId { get; set; }
    public long Seq { get; set; }
    public DateTime OccurredAt { get; set; }
    public DateTime ReceivedAt { get; set; }
    public required string Kind { get; set; }
    public string? Url { get; set; }
    public string? Title { get; set; }
    public string? AppId { get; set; }
    public int? DurationSeconds { get; set; }
    public string? Detail { get; set; }

    /// <summary>The student signed in on a shared device when the event arrived; null on a 1:1 device (its assigned person is the student).</summary>
    public Guid? PersonId { get; set; }
}
