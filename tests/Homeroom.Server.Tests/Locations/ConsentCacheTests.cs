using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Locations;

/// <summary>
/// The location and safety consent caches take each device's answer from the distributor's resolution of it. A device's
/// connect resolves it, so its first location fix and first safety check after connecting read no database: after a
/// restart every device connects at once, and a load per device was most of the catch-up's CPU (docs/performance.md,
/// issue 19). The answers are still the policy's.
/// </summary>
public abstract class ConsentCacheTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task FirstFixAndSafetyCheck_AfterConnecting_LoadNothing_AndFollowThePolicy()
    {
        await AssignToDistrictAsync(new { monitoring = new { location = true, safety = true } });
        var allowed = Host.Clock.GetUtcNow();
        using var loads = new ConsentLoads(Host);
        await using var agent = await Host.ConnectNewAgentAsync();
        await agent.ExpectAsync<PolicyFrame>();

        var consent = Host.GetService<LocationConsent>();
        (await consent.IsMonitoredAsync(agent.DeviceId, CancellationToken.None)).ShouldBeTrue();
        (await consent.CheckAsync(agent.DeviceId, allowed, explicitLocate: true, CancellationToken.None)).ShouldBe(LocationPermission.Allowed);
        (await Host.GetService<SafetyConsent>().CheckAsync(agent.DeviceId, CancellationToken.None)).Reason.ShouldNotBe("monitoring.safety is off");

        loads.Location.ShouldBe(0, "the connect's resolution answers the first location check");
        loads.Safety.ShouldBe(0, "the connect's resolution answers the first safety check");
    }

    [Fact]
    public async Task AProfileChange_ReachesTheCachedAnswers_WithoutALoad()
    {
        var profile = await AssignToDistrictAsync(new { monitoring = new { location = true, safety = true } });
        await using var agent = await Host.ConnectNewAgentAsync();
        var first = await agent.ExpectAsync<PolicyFrame>();
        var consent = Host.GetService<LocationConsent>();
        (await consent.IsMonitoredAsync(agent.DeviceId, CancellationToken.None)).ShouldBeTrue();
        using var loads = new ConsentLoads(Host);

        using (var changed = await Host.Client.PutAsJsonAsync($"/api/profiles/{profile}", new { name = "Consent", settings = new { monitoring = new { location = false, safety = false } } }))
        {
            changed.EnsureSuccessStatusCode();
        }

        (await agent.ExpectAsync<PolicyFrame>()).Version.ShouldBeGreaterThan(first.Version);

        (await consent.IsMonitoredAsync(agent.DeviceId, CancellationToken.None)).ShouldBeFalse();
        (await Host.GetService<SafetyConsent>().CheckAsync(agent.DeviceId, CancellationToken.None)).Reason.ShouldBe("monitoring.safety is off");
        loads.Location.ShouldBe(0);
        loads.Safety.ShouldBe(0);
    }

    [Fact]
    public async Task AnUnknownDevice_IsRefused_AndCountsALoad()
    {
        using var loads = new ConsentLoads(Host);

        (await Host.GetService<LocationConsent>().IsMonitoredAsync(Guid.NewGuid(), CancellationToken.None)).ShouldBeFalse();

        loads.Location.ShouldBe(1);
    }

    private async Task<Guid> AssignToDistrictAsync(object settings)
    {
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Consent", settings });
        var id = profile.GetProperty("id").GetGuid();
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = id, level = "district" });
        return id;
    }

    /// <summary>Counts this host's <c>homeroom.policy.consent_loads</c> (only its own meter: other tests' servers run beside it).</summary>
    private sealed class ConsentLoads : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _location;
        private long _safety;

        public ConsentLoads(HomeroomHost host)
        {
            var factory = host.GetService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "homeroom.policy.consent_loads" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "consent", Value: "location" })
                    {
                        Interlocked.Add(ref _location, value);
                    }
                    else if (tag is { Key: "consent", Value: "safety" })
                    {
                        Interlocked.Add(ref _safety, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Location => Interlocked.Read(ref _location);

        public long Safety => Interlocked.Read(ref _safety);

        public void Dispose() => _listener.Dispose();
    }
}

public sealed class ConsentCacheSqliteTests() : ConsentCacheTests(DatabaseProvider.Sqlite);

public sealed class ConsentCachePostgresTests() : ConsentCacheTests(DatabaseProvider.Postgres);
