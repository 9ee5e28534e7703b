using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>
/// This server process as one node of a cluster: <see cref="Id"/> is new at every process start (so a restarted node
/// is a different holder than the one that crashed), <see cref="Name"/> is for people (logs, <c>job_leases.holder</c>):
/// <c>Homeroom:Cluster:NodeName</c>, or the machine name and process id. Logged once at start.
/// </summary>
public sealed class ClusterNode(IOptions<ClusterOptions> options, Data.DatabaseOptions database, ILogger<ClusterNode> logger) : IHostedService
{
    public Guid Id { get; } = Guid.NewGuid();

    public string Name { get; } = options.Value.NodeName is { Length: > 0 } name ? name : $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>What <c>job_leases.holder</c> says: the name, and the id that tells this start from an earlier one of the same name.</summary>
    public string Holder => $"{Name}/{Id:N}";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ClusterLog.NodeStarted(logger, Name, Id, database.Provider);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Settings of this node in a cluster (<c>Homeroom:Cluster</c>). A single server needs none of them.</summary>
public sealed class ClusterOptions
{
    public const string Section = "Homeroom:Cluster";

    /// <summary>The node's name in logs and leases; empty: the machine name and process id.</summary>
    [MaxLength(100)]
    [RegularExpression(@"^[A-Za-z0-9._:-]*$", ErrorMessage = "NodeName may hold letters, digits and . _ : - only.")]
    public string NodeName { get; set; } = "";

    /// <summary>
    /// How many of its own intervals a once-per-cluster job's lease lasts. The holder renews it at every run, so it
    /// keeps the job while it lives; a node that dies without releasing it holds it at most this long. At least 2, so a
    /// late timer tick never loses the lease to another node.
    /// </summary>
    [Range(2, 100)]
    public int LeaseIntervals { get; set; } = 3;
}

/// <summary>Validates <see cref="ClusterOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class ClusterOptionsValidator : IValidateOptions<ClusterOptions>;

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 29001, Level = LogLevel.Information, Message = "Cluster node {Name} ({Id}) started on {Provider}; once-per-cluster jobs run under leases in the database")]
    public static partial void NodeStarted(ILogger logger, string name, Guid id, Data.DatabaseProvider provider);

    [LoggerMessage(EventId = 29002, Level = LogLevel.Information, Message = "{Job} runs on this node now (it holds the job's lease)")]
    public static partial void LeaseTaken(ILogger logger, string job);

    [LoggerMessage(EventId = 29003, Level = LogLevel.Information, Message = "{Job} runs on another node now (another node holds the job's lease)")]
    public static partial void LeaseHeldElsewhere(ILogger logger, string job);

    [LoggerMessage(EventId = 29004, Level = LogLevel.Warning, Message = "Could not release this node's job leases at stop; other nodes take the jobs when the leases expire")]
    public static partial void ReleaseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 29005, Level = LogLevel.Information, Message = "Removed {Count} job leases left by earlier processes (a SQLite database has one node)")]
    public static partial void SqliteLeasesCleared(ILogger logger, int count);
}
