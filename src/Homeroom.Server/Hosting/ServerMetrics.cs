using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Activity;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Devices;
using Homeroom.Server.Locations;
using OpenTelemetry.Metrics;

namespace Homeroom.Server.Hosting;

/// <summary>
/// This node's own numbers, for an operator's Prometheus: agents connected, frames received by kind,
/// protocol violations by close code, the depth of each write queue, how long a command takes from
/// the staff action to the frame leaving for the device, and each periodic job's ticks (run here or skipped
/// while another node holds its lease). Instruments cost nothing until something
/// listens; the scrape endpoint (<see cref="ServerMetricsEndpoint"/>) exists only when a scrape token
/// is configured.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Homeroom.Server";

    private readonly Meter _meter;
    private readonly Counter<long> _frames;
    private readonly Counter<long> _violations;
    private readonly Histogram<double> _commandDelivery;
    private readonly Counter<long> _jobTicks;
    private readonly Counter<long> _consentLoads;
    private readonly Counter<long> _enrollmentsDeferred;

    public ServerMetrics(
        IMeterFactory meters,
        ConnectionRegistry registry,
        ConnectStormCompaction compaction,
        ActivityWriter activity,
        LocationTrackWriter locations,
        AppSnapshotWriter appSnapshots,
        InventoryWriter inventory,
        CommandStatusWriter commandStatus)
    {
        _meter = meters.Create(MeterName);
        _meter.CreateObservableGauge("homeroom.agents.connected", () => registry.Count, "{connection}", "Agents connected to this node over WebSockets.");
        _meter.CreateObservableCounter("homeroom.gc.compactions", () => new Measurement<long>(compaction.Compactions, new KeyValuePair<string, object?>("trigger", "connect_storm")),
            "{collection}", "Full compacting collections this node ran to give memory back to the OS, by what started them (a connect storm that ended).");
        _meter.CreateObservableGauge("homeroom.writer.queue", () => new Measurement<int>[]
        {
            new(activity.Pending, new KeyValuePair<string, object?>("writer", "activity")),
            new(locations.Pending, new KeyValuePair<string, object?>("writer", "locations")),
            new(appSnapshots.Pending, new KeyValuePair<string, object?>("writer", "app_snapshots")),
            new(inventory.Pending, new KeyValuePair<string, object?>("writer", "inventory")),
            new(commandStatus.Pending, new KeyValuePair<string, object?>("writer", "command_status")),
        }, "{item}", "Items waiting in each batching writer's queue.");
        _frames = _meter.CreateCounter<long>("homeroom.agent.frames", "{frame}", "Frames received from agents, by kind.");
        _violations = _meter.CreateCounter<long>("homeroom.agent.violations", "{connection}", "Agent connections closed for breaking the protocol, by close code.");
        _jobTicks = _meter.CreateCounter<long>("homeroom.job.ticks", "{tick}", "Periodic jobs' ticks on this node, by job: ran here, or skipped while another node held the job's lease.");
        _consentLoads = _meter.CreateCounter<long>("homeroom.policy.consent_loads", "{load}", "Devices whose policy a consent check had to load from the database (a cache miss), by consent: location or safety.");
        _enrollmentsDeferred = _meter.CreateCounter<long>("homeroom.enrollments.deferred", "{request}", "Enrollments answered 503 with Retry-After because this node already had Homeroom:Agents:ConcurrentEnrollments in progress for longer than EnrollmentWaitSeconds.");
        _commandDelivery = _meter.CreateHistogram<double>(
            "homeroom.command.delivery", "s", "From a command's issue to its frame leaving for a device; on_connect for devices that were offline, backplane for devices on another node.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400] });
    }

    /// <summary>A text frame, counted under its protocol type (heartbeat, inventory, activity, …).</summary>
    public void FrameReceived(AgentFrame frame) => _frames.Add(1, new KeyValuePair<string, object?>("kind", KindOf(frame)));

    public void BinaryFrameReceived() => _frames.Add(1, new KeyValuePair<string, object?>("kind", "binary"));

    public void Violation(int closeCode) => _violations.Add(1, new KeyValuePair<string, object?>("code", closeCode));

    /// <summary>A command frame left for a device; <paramref name="path"/> is <c>live</c>, <c>on_connect</c> or <c>backplane</c> (<see cref="CommandDispatcher"/>).</summary>
    public void CommandSent(TimeSpan sinceIssue, string path) =>
        _commandDelivery.Record(Math.Max(0, sinceIssue.TotalSeconds), new KeyValuePair<string, object?>("path", path));

    /// <summary>A periodic job's tick: it ran on this node, or another node held its lease (<see cref="Cluster.JobLeases"/>).</summary>
    public void JobTick(string job, bool ran) =>
        _jobTicks.Add(1, new KeyValuePair<string, object?>("job", job), new KeyValuePair<string, object?>("result", ran ? "ran" : "skipped"));

    /// <summary>A consent check missed its cache and loaded the device's scope and policy (<see cref="Locations.LocationConsent"/>, <see cref="Safety.SafetyConsent"/>).</summary>
    public void ConsentLoad(string consent) => _consentLoads.Add(1, new KeyValuePair<string, object?>("consent", consent));

    /// <summary>An enrollment waited its whole turn and was sent away to try again (<see cref="Enrollment.EnrollDevice"/>).</summary>
    public void EnrollmentDeferred() => _enrollmentsDeferred.Add(1);

    public void Dispose() => _meter.Dispose();

    private static string KindOf(AgentFrame frame) => frame switch
    {
        HeartbeatFrame => FrameTypes.Heartbeat,
        InventoryFrame => FrameTypes.Inventory,
        ActivityFrame => FrameTypes.Activity,
        SignalsFrame => FrameTypes.Signals,
        CommandStatusFrame => FrameTypes.CommandStatus,
        PolicyStatusFrame => FrameTypes.PolicyStatus,
        SafetyCaptureFrame => FrameTypes.SafetyCapture,
        _ => "other",
    };
}

/// <summary>Settings of the Prometheus endpoint (<c>Homeroom:Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public const int MinimumTokenLength = 32;

    /// <summary>
    /// The bearer token a scraper sends (<c>Authorization: Bearer …</c>), at least 32 characters. Empty: no
    /// metrics endpoint at all. Only a hash of it is kept in memory once the server has started.
    /// </summary>
    public string ScrapeToken { get; set; } = "";
}

/// <summary>
/// <c>GET /metrics</c> in Prometheus' text format (OpenTelemetry's exporter): this node's
/// <see cref="ServerMetrics"/>, ASP.NET Core's request and Kestrel connection metrics and the runtime's.
/// Not for staff and not in the API document: a scraper presents the configured token, compared in constant
/// time; without it the answer is 401 with a ProblemDetails body.
/// </summary>
public static class ServerMetricsEndpoint
{
    public const string Path = "/metrics";

    public static IServiceCollection AddServerMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMetrics();
        services.AddSingleton<ServerMetrics>();
        var options = configuration.GetSection("Homeroom:Metrics").Get<MetricsOptions>() ?? new MetricsOptions();
        if (options.ScrapeToken.Length == 0)
        {
            return services;
        }

        if (options.ScrapeToken.Length < MetricsOptions.MinimumTokenLength)
        {
            throw new InvalidOperationException($"Homeroom:Metrics:ScrapeToken must be at least {MetricsOptions.MinimumTokenLength} characters (or empty for no metrics endpoint).");
        }

        services.AddSingleton(new ScrapeToken(SHA256.HashData(Encoding.UTF8.GetBytes(options.ScrapeToken))));
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ServerMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Checks the token before the exporter answers; maps the endpoint only when a token is configured.</summary>
    public static WebApplication UseServerMetrics(this WebApplication app)
    {
        if (app.Services.GetService<ScrapeToken>() is not { } token)
        {
            return app;
        }

        app.UseWhen(context => context.Request.Path.Equals(Path, StringComparison.OrdinalIgnoreCase), branch => branch.Use(async (context, next) =>
        {
            if (!token.Matches(context.Request.Headers.Authorization.ToString()))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Results.Problem(
                    statusCode: StatusCodes.Status401Unauthorized,
                    title: "A scrape token is required",
                    detail: "Send the token configured as Homeroom:Metrics:ScrapeToken as a bearer token.").ExecuteAsync(context);
                return;
            }

            await next(context);
        }));
        return app;
    }

    public static void MapServerMetrics(this WebApplication app)
    {
        if (app.Services.GetService<ScrapeToken>() is not null)
        {
            app.MapPrometheusScrapingEndpoint(Path).AllowAnonymous();
        }
    }

    private sealed class ScrapeToken(byte[] hash)
    {
        public bool Matches(string authorization)
        {
            const string scheme = "Bearer ";
            if (authorization.Length > 512 || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim())), hash);
        }
    }
}
