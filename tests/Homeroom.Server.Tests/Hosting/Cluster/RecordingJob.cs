using System.Collections.Concurrent;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>Which node ran a job and when (real time, whatever the node's clock says).</summary>
public sealed record JobRun(string Node, DateTime At);

/// <summary>The runs of one test job across every node that has it, in order.</summary>
public sealed class RunRecord
{
    private readonly ConcurrentQueue<JobRun> _runs = new();

    public void Add(string node) => _runs.Enqueue(new JobRun(node, DateTime.UtcNow));

    public IReadOnlyList<JobRun> Runs => _runs.ToArray();

    public IReadOnlyList<JobRun> Since(DateTime from) => _runs.Where(r => r.At >= from).ToArray();
}

/// <summary>A once-per-cluster job that only records the node it ran on: what the lease decides, and nothing else.</summary>
public sealed class RecordingJob(string name, TimeSpan interval, RunRecord record, JobLeases leases, TimeProvider time, ILogger<RecordingJob> logger)
    : PeriodicTask(interval, leases, time, logger)
{
    private readonly string _node = leases.Node.Name;

    public override string JobName => name;

    protected override Task RunOnceAsync(CancellationToken cancellationToken)
    {
        record.Add(_node);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Registers a job named <paramref name="name"/> in a host, recording into <paramref name="record"/>; <see cref="Of"/>
    /// finds it. Added as a hosted service of its own (AddHostedService keeps one per class).
    /// </summary>
    public static Action<IServiceCollection> In(string name, TimeSpan interval, RunRecord record) => services =>
    {
        services.AddKeyedSingleton(name, (sp, _) => new RecordingJob(
            name, interval, record, sp.GetRequiredService<JobLeases>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RecordingJob>>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredKeyedService<RecordingJob>(name));
    };

    /// <summary>The job named <paramref name="name"/> in <paramref name="host"/>.</summary>
    public static RecordingJob Of(HomeroomHost host, string name) => host.Services.GetRequiredKeyedService<RecordingJob>(name);
}
