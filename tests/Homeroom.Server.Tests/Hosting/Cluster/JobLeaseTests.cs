using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

[CollectionDefinition(nameof(JobLeaseClusterTests), DisableParallelization = true)]
public sealed class JobLeaseClusterCollection;

/// <summary>
/// Two server nodes on one PostgreSQL database share their periodic jobs through leases: a job runs on one node at a
/// time, a node that dies loses the job when its lease expires and one that stops gives it up at once, a node whose
/// clock runs ahead cannot take a lease early, and of two nodes racing for an expired lease exactly one wins.
/// Timed in fractions of a second, so they run in the lane of their own (<see cref="AloneInProcess"/>), not beside the
/// other server tests' hosts competing for the two cores.
/// </summary>
[Collection(nameof(JobLeaseClusterTests))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public sealed class JobLeaseClusterTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private static string[] Node(string name, int leaseIntervals) =>
        [$"Homeroom:Cluster:NodeName={name}", $"Homeroom:Cluster:LeaseIntervals={leaseIntervals}"];

    [Fact]
    public async Task TwoNodes_OneDatabase_EachRunHappensOnceAcrossBoth()
    {
        var record = new RunRecord();
        var job = RecordingJob.In("cluster-once", Interval, record);
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, job, Node("node-a", 25));
        await using var b = await a.StartAnotherNodeAsync(job, Node("node-b", 25));
        var onA = RecordingJob.Of(a, "cluster-once");
        var onB = RecordingJob.Of(b, "cluster-once");
        await Poll.UntilAsync(() => Task.FromResult(onB.Runs + onB.Skips >= 3));

        var from = DateTime.UtcNow;
        var skipsBefore = onA.Skips + onB.Skips;
        await Task.Delay(Interval * 15);
        var runs = record.Since(from);
        var window = DateTime.UtcNow - from;

        // Both nodes tick every interval; one of them runs the job each time, the other skips.
        runs.Select(r => r.Node).Distinct().ShouldHaveSingleItem();
        runs.Count.ShouldBeGreaterThanOrEqualTo(5);
        runs.Count.ShouldBeLessThanOrEqualTo((int)(window / Interval) + 2);
        (onA.Skips + onB.Skips - skipsBefore).ShouldBeGreaterThanOrEqualTo(5);
    }

    [Fact]
    public async Task HolderKilled_TheOtherNodeTakesTheJobWhenTheLeaseExpires()
    {
        var record = new RunRecord();
        var job = RecordingJob.In("cluster-kill", Interval, record);
        var lease = Interval * 10;
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, job, Node("node-a", 10));
        await using var b = await a.StartAnotherNodeAsync(job, Node("node-b", 10));
        var (holder, other) = await HolderAndOtherAsync(a, b, "cluster-kill");

        await holder.KillAsync();
        var killedAt = DateTime.UtcNow;
        var lastOnHolder = record.Runs.Last(r => r.Node == holder.Name).At;
        await Poll.UntilAsync(() => Task.FromResult(record.Runs.Any(r => r.Node == other.Name && r.At >= killedAt)), TimeSpan.FromSeconds(15));
        var firstOnOther = record.Runs.First(r => r.Node == other.Name && r.At >= killedAt).At;

        // Nothing released the dead node's lease: the other waited for it to expire, then took the job within a tick.
        firstOnOther.ShouldBeGreaterThanOrEqualTo(lastOnHolder + lease - TimeSpan.FromMilliseconds(100));
        (firstOnOther - killedAt).ShouldBeLessThan(lease + Interval + TimeSpan.FromSeconds(2));
        await Poll.UntilAsync(() => Task.FromResult(record.Runs.Count(r => r.Node == other.Name && r.At >= killedAt) >= 5));
    }

    [Fact]
    public async Task HolderStopped_ReleasesItsLease_TheOtherNodeTakesTheJobAtItsNextTick()
    {
        var record = new RunRecord();
        var job = RecordingJob.In("cluster-stop", Interval, record);
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, job, Node("node-a", 50));
        await using var b = await a.StartAnotherNodeAsync(job, Node("node-b", 50));
        var (holder, other) = await HolderAndOtherAsync(a, b, "cluster-stop");

        var stoppedAt = DateTime.UtcNow;
        await holder.Host.StopAsync();
        await Poll.UntilAsync(() => Task.FromResult(record.Runs.Any(r => r.Node == other.Name && r.At >= stoppedAt)), TimeSpan.FromSeconds(15));

        // Long before the 10 s lease would have run out.
        (record.Runs.First(r => r.Node == other.Name && r.At >= stoppedAt).At - stoppedAt).ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task NodeWithAClockHoursAhead_CannotTakeALeaseHeldByAnother()
    {
        var record = new RunRecord();
        var job = RecordingJob.In("cluster-skew", Interval, record);
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, job, Node("node-a", 25));
        await using var b = await a.StartAnotherNodeAsync(job, Node("node-b", 25));
        var (holder, other) = await HolderAndOtherAsync(a, b, "cluster-skew");
        other.Host.Clock.Advance(TimeSpan.FromHours(5));
        var onOther = RecordingJob.Of(other.Host, "cluster-skew");
        var from = DateTime.UtcNow;
        var skipsBefore = onOther.Skips;

        await Poll.UntilAsync(() => Task.FromResult(onOther.Skips >= skipsBefore + 10), TimeSpan.FromSeconds(30));

        // By its own clock the holder's lease ran out hours ago; by the database's it has seconds left, and it is renewed.
        var runs = record.Since(from);
        runs.ShouldAllBe(r => r.Node == holder.Name);
        runs.Count.ShouldBeGreaterThanOrEqualTo(5);
    }

    [Fact]
    public async Task TwoNodesRacingForAnExpiredLease_ExactlyOneWinsEveryRound()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, Node("node-a", 3));
        await using var b = await a.StartAnotherNodeAsync(null, Node("node-b", 3));
        var leasesA = a.GetService<JobLeases>();
        var leasesB = b.GetService<JobLeases>();
        await using var sql = new NpgsqlConnection(a.Database.PostgresConnectionString);
        await sql.OpenAsync();

        for (var round = 0; round < 300; round++)
        {
            var name = $"race-{round}";
            if (round % 2 == 1)
            {
                // A lease a dead node held, expired a second ago; in the even rounds there is no row yet.
                await using var expired = new NpgsqlCommand(
                    "INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES (@name, 'gone/0', now() - interval '1 hour', now() - interval '1 second')", sql);
                expired.Parameters.AddWithValue("name", name);
                await expired.ExecuteNonQueryAsync();
            }

            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var takeA = Task.Run(async () => { await go.Task; return await leasesA.TryTakeAsync(name, TimeSpan.FromMinutes(1), CancellationToken.None); });
            var takeB = Task.Run(async () => { await go.Task; return await leasesB.TryTakeAsync(name, TimeSpan.FromMinutes(1), CancellationToken.None); });
            go.SetResult();
            var won = await Task.WhenAll(takeA, takeB).WaitAsync(HomeroomHost.Timeout);

            won.Count(w => w).ShouldBe(1, $"round {round}: a {won[0]}, b {won[1]}");
            await using var holder = new NpgsqlCommand("SELECT holder FROM job_leases WHERE name = @name", sql);
            holder.Parameters.AddWithValue("name", name);
            ((string)(await holder.ExecuteScalarAsync())!).ShouldBe(won[0] ? leasesA.Node.Holder : leasesB.Node.Holder);
        }

        // The winner renews its own lease; the other still cannot take it.
        (await leasesA.TryTakeAsync("race-0", TimeSpan.FromMinutes(1), CancellationToken.None)).ShouldBe(await IsHeldByAsync(sql, "race-0", leasesA));
        (await leasesB.TryTakeAsync("race-0", TimeSpan.FromMinutes(1), CancellationToken.None)).ShouldBe(await IsHeldByAsync(sql, "race-0", leasesB));
    }

    private sealed record ClusterMember(HomeroomHost Host, string Name)
    {
        public Task KillAsync() => Host.KillAsync();
    }

    /// <summary>
    /// Waits until both nodes ticked a few times and one of them alone has run the job (usually the first node, which
    /// started first; on a busy machine a late tick may have handed the lease over during the second one's start).
    /// </summary>
    private static async Task<(ClusterMember Holder, ClusterMember Other)> HolderAndOtherAsync(HomeroomHost a, HomeroomHost b, string job)
    {
        var onA = RecordingJob.Of(a, job);
        var onB = RecordingJob.Of(b, job);
        await Poll.UntilAsync(() => Task.FromResult(onA.Skips + onB.Skips >= 3 && onA.Runs + onB.Runs >= 3));
        var aHolds = await IsHeldByAsync(a, job);
        return aHolds ? (new ClusterMember(a, "node-a"), new ClusterMember(b, "node-b")) : (new ClusterMember(b, "node-b"), new ClusterMember(a, "node-a"));
    }

    private static async Task<bool> IsHeldByAsync(HomeroomHost host, string job)
    {
        await using var sql = new NpgsqlConnection(host.Database.PostgresConnectionString);
        await sql.OpenAsync();
        return await IsHeldByAsync(sql, job, host.GetService<JobLeases>());
    }

    private static async Task<bool> IsHeldByAsync(NpgsqlConnection sql, string name, JobLeases leases)
    {
        await using var holder = new NpgsqlCommand("SELECT holder FROM job_leases WHERE name = @name", sql);
        holder.Parameters.AddWithValue("name", name);
        return (string)(await holder.ExecuteScalarAsync())! == leases.Node.Holder;
    }
}

/// <summary>A single SQLite server runs its jobs under leases too, and a restart after a crash does not wait for the dead process's leases.</summary>
public sealed class JobLeaseSqliteTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task SingleNode_HoldsItsJobsLeases_AndAfterACrashTheRestartedServerRunsThemAtOnce()
    {
        var record = new RunRecord();
        var job = RecordingJob.In("single", Interval, record);
        // Leases of 50 intervals: 10 s for the test job, days for the hourly retention jobs.
        await using var first = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, job, "Homeroom:Cluster:NodeName=first", "Homeroom:Cluster:LeaseIntervals=50");
        await Poll.UntilAsync(() => Task.FromResult(record.Runs.Count >= 3));
        var held = await HoldersAsync(first);
        held.Keys.ShouldContain("single");
        held.Keys.ShouldContain("AuditRetention");
        held.Keys.ShouldContain("AppleAppInventorySchedule"); // once per cluster too, though not a retention job
        held.Keys.ShouldContain("AppleSchoolManagerSchedule");
        held.Keys.ShouldContain("PolicySchedule"); // the policy passes a clock starts
        held.Keys.ShouldNotContain("PresenceTracker"); // runs on every node, without a lease
        held.Values.ShouldAllBe(h => h.StartsWith("first/", StringComparison.Ordinal));

        await first.KillAsync();
        var killedAt = DateTime.UtcNow;
        await using var second = await first.StartAnotherNodeAsync(job, "Homeroom:Cluster:NodeName=second", "Homeroom:Cluster:LeaseIntervals=50");
        await Poll.UntilAsync(() => Task.FromResult(record.Runs.Any(r => r.Node == "second")), TimeSpan.FromSeconds(5));

        (record.Runs.First(r => r.Node == "second").At - killedAt).ShouldBeLessThan(TimeSpan.FromSeconds(5));
        (await HoldersAsync(second)).Values.ShouldAllBe(h => h.StartsWith("second/", StringComparison.Ordinal));
    }

    private static async Task<Dictionary<string, string>> HoldersAsync(HomeroomHost host)
    {
        await using var connection = new SqliteConnection(host.Database.Options.SqliteConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, holder FROM job_leases";
        await using var reader = await command.ExecuteReaderAsync();
        var holders = new Dictionary<string, string>();
        while (await reader.ReadAsync())
        {
            holders[reader.GetString(0)] = reader.GetString(1);
        }

        return holders;
    }
}
