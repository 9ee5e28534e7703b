using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Hosting;

/// <summary>
/// Runs alone: OpenTelemetry listens to meters by name, so a server's /metrics counts what every server in the
/// process measured, and the exact counts below held only while no other test's agents connected beside them (the
/// 03:24 clean run of 2026-12-05 timed out on them under parallel tests; alone they pass every time).
/// </summary>
[CollectionDefinition(nameof(ServerMetricsTests), DisableParallelization = true)]
public sealed class ServerMetricsCollection;

/// <summary>The Prometheus endpoint: only with a scrape token, and counting what really happened on the node.</summary>
[Collection(nameof(ServerMetricsTests))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public sealed partial class ServerMetricsTests
{
    private const string Token = "scrape-token-for-tests-0123456789abcdef";

    [Fact]
    public async Task Metrics_WithoutAScrapeTokenConfigured_AreNotServed()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        using var anonymous = Scraper(host, null);
        using var scraper = Scraper(host, Token);

        using var response = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var withAToken = await scraper.GetAsync(new Uri("/metrics", UriKind.Relative));

        // As for any address the server does not have: signed out, the way to the sign-in page; with a bearer it
        // does not know, 401. Never the numbers.
        response.StatusCode.ShouldBe(HttpStatusCode.Found);
        withAToken.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.Content.ReadAsStringAsync()).ShouldNotContain("homeroom_");
        (await withAToken.Content.ReadAsStringAsync()).ShouldNotContain("homeroom_");
    }

    [Fact]
    public async Task Metrics_ATokenShorterThan32Characters_StopsTheStartWithTheReason()
    {
        var error = await Should.ThrowAsync<InvalidOperationException>(() => HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Metrics:ScrapeToken=short"));

        error.Message.ShouldContain("Homeroom:Metrics:ScrapeToken");
    }

    [Fact]
    public async Task Metrics_WithTheToken_CountConnectionsFramesViolationsAndCommandDelivery_AndRefuseOthers()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, $"Homeroom:Metrics:ScrapeToken={Token}");
        foreach (var wrong in new[] { null, "", "not-the-token", Token + "x" })
        {
            using var stranger = Scraper(host, wrong);
            using var refused = await stranger.GetAsync(new Uri("/metrics", UriKind.Relative));
            refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized, $"token '{wrong}'");
            refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadAsStringAsync()).ShouldNotContain("homeroom_");
        }

        await using var agent = await host.ConnectNewAgentAsync();
        await agent.SendAsync(new HeartbeatFrame(new BatteryState(80, false), null, null));
        await agent.SendAsync(new HeartbeatFrame(new BatteryState(79, false), null, null));
        var issued = await host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "message", arguments = new { text = "Hello" }, deviceIds = new[] { agent.DeviceId } });
        (await agent.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(issued.GetProperty("id").GetGuid());

        await using var rogue = await host.ConnectNewAgentAsync();
        await rogue.SendRawAsync("{\"type\":\"no-such-frame\"}"u8.ToArray());
        (await rogue.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.UnknownFrameType);

        using var scraper = Scraper(host, Token);
        string text = "";
        await Poll.UntilAsync(async () =>
        {
            text = await scraper.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return Value(text, "homeroom_agents_connected", null) == 1
                && Value(text, "homeroom_agent_frames_total", "kind=\"heartbeat\"") == 2
                && Value(text, "homeroom_agent_violations_total", $"code=\"{AgentCloseCodes.UnknownFrameType}\"") == 1
                && Value(text, "homeroom_command_delivery_seconds_count", "path=\"live\"") == 1;
        });
        Value(text, "homeroom_writer_queue", "writer=\"activity\"").ShouldNotBeNull();
        text.ShouldContain("http_server_request_duration_seconds");
    }

    [Fact]
    public async Task Metrics_CountEachPeriodicJobsRunsAndSkips()
    {
        var interval = TimeSpan.FromMilliseconds(200);
        await using var host = await HomeroomHost.StartAsync(
            DatabaseProvider.Sqlite,
            services =>
            {
                Cluster.RecordingJob.In("metrics-runs", interval, new Cluster.RunRecord())(services);
                Cluster.RecordingJob.In("metrics-skips", interval, new Cluster.RunRecord())(services);
            },
            $"Homeroom:Metrics:ScrapeToken={Token}");
        var skipping = Cluster.RecordingJob.Of(host, "metrics-skips");
        await Poll.UntilAsync(() => Task.FromResult(skipping.Runs >= 1));

        // Another node takes the second job's lease for a long time.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(host.Database.Options.SqliteConnectionString))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE job_leases SET holder = 'elsewhere/0', expires_at = '9999-12-31T00:00:00.0000000Z' WHERE name = 'metrics-skips'";
            (await command.ExecuteNonQueryAsync()).ShouldBe(1);
        }

        using var scraper = Scraper(host, Token);
        string text = "";
        await Poll.UntilAsync(async () =>
        {
            text = await scraper.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return Value(text, "homeroom_job_ticks_total", "job=\"metrics-runs\"", "result=\"ran\"") >= 3
                && Value(text, "homeroom_job_ticks_total", "job=\"metrics-skips\"", "result=\"skipped\"") >= 3;
        });
        Value(text, "homeroom_job_ticks_total", "job=\"metrics-runs\"", "result=\"skipped\"").ShouldBeNull();
        skipping.Skips.ShouldBeGreaterThanOrEqualTo(3);
    }

    private static HttpClient Scraper(HomeroomHost host, string? token)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.BaseAddress, Timeout = HomeroomHost.Timeout };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels contain every one of <paramref name="labels"/>; null when none.</summary>
    private static double? Value(string exposition, string name, params string?[]? labels)
    {
        foreach (Match match in Sample().Matches(exposition))
        {
            if (match.Groups["name"].Value == name && (labels ?? []).All(label => label is null || match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
