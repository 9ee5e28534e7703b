using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>
/// The PostgreSQL LISTEN/NOTIFY backplane between server nodes on one database (configuration section
/// <c>Homeroom:Backplane</c>). It runs only on PostgreSQL; a SQLite server is one node and has none.
/// </summary>
public sealed class BackplaneOptions : IValidatableObject
{
    public const string Section = "Homeroom:Backplane";

    /// <summary>Off leaves every node serving only its own devices (commands for others wait for their next connection).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Largest notification payload sent. PostgreSQL refuses payloads of 8,000 bytes or more.</summary>
    [Range(BackplaneMessages.MinPayloadBytes, BackplaneMessages.MaxPayloadBytes)]
    public int MaxPayloadBytes { get; set; } = 7_900;

    /// <summary>Device ids waiting to be published at most; beyond it they are dropped and every node sweeps instead.</summary>
    [Range(1, 10_000_000)]
    public int MaxQueuedDevices { get; set; } = 200_000;

    /// <summary>Received notifications waiting to be handled at most; beyond it they are dropped and this node sweeps instead.</summary>
    [Range(1, 1_000_000)]
    public int MaxQueuedNotifications { get; set; } = 4_096;

    /// <summary>First wait before the listener connects again after losing PostgreSQL; doubles up to <see cref="ReconnectMaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Seconds of silence after which the listener's connection sends a keep-alive query, so a dead link is noticed.</summary>
    [Range(1, 3600)]
    public int KeepAliveSeconds { get; set; } = 10;

    /// <summary>
    /// How often each node also sweeps on its own (every connected device with pending commands gets them), for what no
    /// notice announced: commands a node stored just before it died, its notice not yet sent. 0 turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Devices whose pending deliveries are read together (one query) after a notification or sweep.</summary>
    public const int DeliveryBatch = 200;

    /// <summary>Batches of devices (up to <see cref="DeliveryBatch"/> each) one node delivers to at the same time after a notification or sweep.</summary>
    [Range(1, 256)]
    public int DeliveryParallelism { get; set; } = 8;

    /// <summary>
    /// How often a node publishes what changed about its devices for the other nodes' classroom tiles (online, locked,
    /// focus, current page): changes within one interval go out as one row and one notice per device.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:10")]
    public TimeSpan LiveStateInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a node says it is alive (an <c>h</c> notice), so the others keep showing its devices online.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A node not heard for this long is taken for gone: its devices show offline (unknown) on the others.</summary>
    [Range(typeof(TimeSpan), "00:00:00.300", "00:30:00")]
    public TimeSpan NodeSilenceTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ReconnectMinDelay > ReconnectMaxDelay)
        {
            yield return new ValidationResult("The first reconnect delay must be at most the longest.", [nameof(ReconnectMinDelay)]);
        }

        if (NodeSilenceTimeout < HeartbeatInterval * 2)
        {
            yield return new ValidationResult("A node must be silent for at least two heartbeats before it is taken for gone.", [nameof(NodeSilenceTimeout)]);
        }
    }
}

/// <summary>Validates <see cref="BackplaneOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class BackplaneOptionsValidator : IValidateOptions<BackplaneOptions>;
