using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Simulator.Fleet;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Demo;

/// <summary>
/// In demo mode, seeds the demo district and, once the server listens, runs the simulated fleet
/// against the server's own address over real WebSockets. Stops with the server, or when the demo
/// is removed.
/// </summary>
public sealed class DemoFleetService(
    DemoDistrict district,
    DemoRollout rollout,
    FilterListStore filterLists,
    ZoneMembership zones,
    PolicyDistributor policies,
    IServer server,
    IHostApplicationLifetime lifetime,
    DatabaseOptions database,
    Hosting.Readiness readiness,
    IOptions<DemoOptions> options,
    ILogger<DemoFleetService> logger) : BackgroundService
{
    private Fleet? _fleet;
    private IDisposable? _seeding;

    public Fleet? Fleet => _fleet;

    /// <summary>Before the server listens: a load balancer's <c>/readyz</c> waits for the demo district to be seeded.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Enabled)
        {
            _seeding = readiness.HoldStartup();
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        if (await district.SeedAsync(stoppingToken))
        {
            await rollout.SeedAsync(stoppingToken);
            await ReloadRulesAsync(stoppingToken);
        }

        // Seeding that failed leaves the node "starting" (and the failure stops the host).
        _seeding?.Dispose();

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken);

        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null)
        {
            return;
        }

        var token = await district.CreateFleetTokenAsync(stoppingToken);
        var startAt = DemoDayStart(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"));
        _fleet = new Fleet(new FleetOptions
        {
            Server = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)),
            EnrollToken = token,
            Devices = options.Value.Devices,
            Seed = options.Value.Seed,
            Speed = options.Value.Speed,
            StartAt = startAt,
            Campus = DemoDistrict.Campus,
            StateFile = Path.Combine(database.DataDirectory, "demo-fleet.json"),
            ConnectConcurrency = 16,
            // The demo rollout's Chromebooks carry on with the update from where its seeded week left them.
            ChromeOsTarget = DemoRollout.TargetVersion,
            ChromeOsTargetBySerial = await rollout.OffersAsync(stoppingToken),
        });
        _fleet.Start();
        DemoLog.FleetStarted(logger, options.Value.Devices, address);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Server stopping.
        }
    }

    /// <summary>
    /// Where the simulated fleet's clock starts: the last school-day mid-morning (10:00 on a weekday) that is not after
    /// now, so students are busy at once and what they do is dated within the reports' days, never ahead of the server's
    /// clock (which would have it dated when it arrives instead, <see cref="Activity.ActivityBatch.MaxClockSkew"/>).
    /// </summary>
    public static DateTimeOffset DemoDayStart(DateTimeOffset now, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var day = local.Date;
        while (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday || new DateTimeOffset(day.AddHours(10), zone.GetUtcOffset(day.AddHours(10))) > now)
        {
            day = day.AddDays(-1);
        }

        var tenOClock = day.AddHours(10);
        return new DateTimeOffset(tenOClock, zone.GetUtcOffset(tenOClock));
    }

    /// <summary>Makes the lists, zones and policies the demo seeded (or removed) take effect.</summary>
    public async Task ReloadRulesAsync(CancellationToken cancellationToken)
    {
        await filterLists.ReloadAsync(cancellationToken);
        await zones.ReloadAsync(cancellationToken);
        policies.RequestAll();
    }

    /// <summary>Stops the simulated fleet (the demo is being removed or the server stops).</summary>
    public async Task StopFleetAsync()
    {
        if (_fleet is { } fleet)
        {
            _fleet = null;
            await fleet.DisposeAsync();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopFleetAsync();
        await base.StopAsync(cancellationToken);
    }
}
