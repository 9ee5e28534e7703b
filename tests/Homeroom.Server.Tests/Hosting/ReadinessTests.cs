using System.Net;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting;

/// <summary>
/// <c>GET /readyz</c>, what a load balancer asks before it sends a node anything: 200 "ready" only when the node
/// started, its start-up work is done, its database answers and it is not stopping; otherwise 503 and one word.
/// </summary>
public abstract class ReadinessTests(DatabaseProvider provider)
{
    protected DatabaseProvider Provider { get; } = provider;

    protected static async Task<(HttpStatusCode Status, string Body)> ProbeAsync(HomeroomHost host)
    {
        using var anonymous = host.CreateClient();
        using var response = await anonymous.GetAsync(new Uri("/readyz", UriKind.Relative)).WaitAsync(HomeroomHost.Timeout);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_AfterStart_Answers200Ready_AndHealthzStaysTheLivenessCheck()
    {
        await using var host = await HomeroomHost.StartAsync(Provider);

        var (status, body) = await ProbeAsync(host);
        using var anonymous = host.CreateClient();
        using var health = await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative));

        status.ShouldBe(HttpStatusCode.OK);
        body.ShouldBe("ready");
        health.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Readyz_WhileStartupWorkIsUnfinished_Answers503Starting_AndReadyOnceDone()
    {
        await using var host = await HomeroomHost.StartAsync(Provider);
        var hold = host.GetService<Readiness>().HoldStartup();

        var held = await ProbeAsync(host);
        hold.Dispose();
        hold.Dispose();
        var released = await ProbeAsync(host);

        held.ShouldBe((HttpStatusCode.ServiceUnavailable, "starting"));
        released.ShouldBe((HttpStatusCode.OK, "ready"));
    }

    [Fact]
    public async Task Readyz_OnceStoppingBegins_Answers503AtOnce_WhileTheServerStillListens()
    {
        await using var host = await HomeroomHost.StartAsync(Provider);
        (await ProbeAsync(host)).Status.ShouldBe(HttpStatusCode.OK);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var probed = new ManualResetEventSlim();
        // Holds the shutdown at its first step (the stopping callbacks run before any service or the listener stops),
        // so the probe below reaches a server that is stopping and still listening, as a load balancer's check would.
        host.GetService<IHostApplicationLifetime>().ApplicationStopping.Register(() =>
        {
            stopping.TrySetResult();
            probed.Wait(HomeroomHost.Timeout);
        });

        var stop = Task.Run(host.StopAsync);
        await stopping.Task.WaitAsync(HomeroomHost.Timeout);
        var (status, body) = await ProbeAsync(host);
        probed.Set();
        await stop.WaitAsync(HomeroomHost.Timeout);

        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        body.ShouldBe("stopping");
    }

    [Fact]
    public async Task Stopping_WithADrainDelay_Answers503AtOnce_AndKeepsItsAgentsUntilTheDelayIsOver()
    {
        await using var host = await HomeroomHost.StartAsync(Provider, "Homeroom:Readiness:DrainDelay=00:00:03");
        await using var agent = await host.ConnectNewAgentAsync();
        var closed = agent.WaitForCloseAsync(TimeSpan.FromSeconds(20));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stop = Task.Run(host.StopAsync);
        await Poll.UntilAsync(async () => (await ProbeAsync(host)).Body == "stopping", TimeSpan.FromSeconds(2));
        var stillOpen = agent.State == System.Net.WebSockets.WebSocketState.Open;
        var (code, reason) = await closed;
        var heldFor = clock.Elapsed;
        await stop.WaitAsync(HomeroomHost.Timeout);

        stillOpen.ShouldBeTrue("the agent is held while the load balancer sees the 503");
        heldFor.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2.5));
        code.ShouldBe(Homeroom.Contracts.Agents.AgentCloseCodes.ServerShuttingDown, reason);
    }
}

public sealed class ReadinessSqliteTests() : ReadinessTests(DatabaseProvider.Sqlite);

/// <summary>
/// On PostgreSQL the database can really refuse a node: its test database stops allowing connections and the node's
/// sessions are ended, as when the database server is down for the node. (A SQLite file cannot be made to refuse a
/// process that holds it open, so that variant has no such case.)
/// </summary>
public sealed class ReadinessPostgresTests() : ReadinessTests(DatabaseProvider.Postgres)
{
    [Fact]
    public async Task Readyz_WhileTheDatabaseRefusesConnections_Answers503_AndReadyAgainAfter()
    {
        await using var host = await HomeroomHost.StartAsync(Provider);
        (await ProbeAsync(host)).ShouldBe((HttpStatusCode.OK, "ready"));
        var name = new NpgsqlConnectionStringBuilder(host.Database.PostgresConnectionString).Database!;
        var admin = new NpgsqlConnectionStringBuilder(host.Database.PostgresConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;

        await ExecuteAsync(admin, $"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false");
        try
        {
            // Ended again at every look: a session whose start overlapped the ALTER (a pool opening one under load) can
            // outlive the first round, and the node would rightly stay ready through it. Only the node's own sessions: an
            // autovacuum worker on the database is the superuser's, and may not be ended by the test's role.
            await Poll.UntilAsync(async () =>
            {
                await ExecuteAsync(admin, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND usename = current_user AND backend_type = 'client backend'");
                return await ProbeAsync(host) == (HttpStatusCode.ServiceUnavailable, "unavailable");
            }, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await ExecuteAsync(admin, $"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true");
        }

        await Poll.UntilAsync(async () => await ProbeAsync(host) == (HttpStatusCode.OK, "ready"), TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// A node whose every pooled connection is taken (a connect storm) is busy, not cut off: were it reported unavailable,
    /// the balancer would send the whole storm to the other nodes (the node kill test saw 13 devices of 240 on one node).
    /// </summary>
    [Fact]
    public async Task Readyz_WhileEveryConnectionOfTheNodesPoolIsTaken_StaysReady()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(Provider);
        var small = new NpgsqlConnectionStringBuilder(database.PostgresConnectionString) { MaxPoolSize = 3 }.ConnectionString;
        await using var host = await HomeroomHost.StartNodeAsync(
            database, HomeroomHost.NewDataDirectory(), $"ConnectionStrings:Postgres={small}", "Homeroom:Readiness:ReuseFor=00:00:00");
        (await ProbeAsync(host)).ShouldBe((HttpStatusCode.OK, "ready"));

        var taken = new List<HomeroomDbContext>();
        var factory = host.GetService<IDbContextFactory<HomeroomDbContext>>();
        try
        {
            // Taken until one more waits in vain (the node's own jobs may hold some: the insights folder keeps its lease's).
            var exhausted = false;
            while (!exhausted && taken.Count <= 3)
            {
                var db = await factory.CreateDbContextAsync();
                taken.Add(db);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await db.Database.OpenConnectionAsync(wait.Token);
                }
                catch (Exception e) when (wait.IsCancellationRequested && e is OperationCanceledException or InvalidOperationException)
                {
                    exhausted = true;
                }
            }

            exhausted.ShouldBeTrue("the node's pool of 3 is exhausted");

            (await ProbeAsync(host)).ShouldBe((HttpStatusCode.OK, "ready"));
        }
        finally
        {
            foreach (var db in taken)
            {
                await db.DisposeAsync();
            }
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
