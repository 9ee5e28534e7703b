using System.Text.Json;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

/// <summary>
/// The simulator's Windows laptops carry the server's package commands as the desktop agent does: a required catalog app
/// is installed after the package tool's time and listed in the next inventory, so the server's status ends installed;
/// a failing tool ends failed with winget's words; a blocked app is removed.
/// </summary>
public sealed class FleetAppsTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Apps:ReconcileInterval=00:00:01");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Fleet.Fleet NewFleet(string token, double failureChance) => new(new FleetOptions
    {
        Server = _host.BaseAddress, EnrollToken = token, Devices = 60, Seed = 5, AlwaysOnline = true, SlowAnswerChance = 0,
        SafetySignals = false, HelpRequests = false, ActivityInterval = TimeSpan.FromSeconds(5),
        PackageFailureChance = failureChance, PackageWork = TimeSpan.FromMilliseconds(300),
    });

    private async Task<Guid> RequiredAppAsync(string package)
    {
        var app = (await _host.PostJsonAsync<JsonElement>("/api/apps", new { name = "Kami " + package, category = "education", windowsPackageId = package }))
            .GetProperty("id").GetGuid();
        (await _host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "required", level = "district" })).EnsureSuccessStatusCode();
        return app;
    }

    private async Task<JsonElement?> StatusAsync(Guid device, Guid app) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}/apps/status")).EnumerateArray()
            .Where(s => s.GetProperty("appId").GetGuid() == app).Cast<JsonElement?>().FirstOrDefault();

    private async Task<bool> ListedAsync(Guid device, string package) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}/apps")).GetProperty("items").EnumerateArray()
            .Any(a => a.GetProperty("appId").GetString() == package);

    [Fact]
    public async Task RequiredApp_IsInstalledOnEveryWindowsLaptop_ListedInItsInventory_AndRemovedWhenBlocked()
    {
        await using var fleet = NewFleet(await _host.CreateTokenAsync(maxUses: 60), failureChance: 0);
        var laptops = fleet.Devices.Where(d => d.Spec.Platform == DevicePlatform.Windows).ToList();
        laptops.Count.ShouldBeGreaterThan(1);
        fleet.Start();
        await Poll.UntilAsync(() => Task.FromResult(laptops.All(d => d.DeviceId is not null)), TimeSpan.FromSeconds(30));

        var app = await RequiredAppAsync("Kami.Kami");

        foreach (var laptop in laptops)
        {
            var id = laptop.DeviceId!.Value;
            await Poll.UntilAsync(async () => await StatusAsync(id, app) is { } s && s.GetProperty("state").GetString() == "installed", TimeSpan.FromSeconds(30));
            (await ListedAsync(id, "Kami.Kami")).ShouldBeTrue();
        }

        // Blocked: each laptop removes it, and its inventory no longer lists it.
        var assignment = (await _host.GetJsonAsync<JsonElement>($"/api/apps/{app}/assignments")).EnumerateArray().Single().GetProperty("id").GetGuid();
        (await _host.Client.DeleteAsync($"/api/app-assignments/{assignment}")).EnsureSuccessStatusCode();
        (await _host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "blocked", level = "district" })).EnsureSuccessStatusCode();
        foreach (var laptop in laptops)
        {
            var id = laptop.DeviceId!.Value;
            await Poll.UntilAsync(async () => await StatusAsync(id, app) is { } s && s.GetProperty("state").GetString() == "removed", TimeSpan.FromSeconds(30));
            (await ListedAsync(id, "Kami.Kami")).ShouldBeFalse();
        }
    }

    [Fact]
    public async Task FailingPackageTool_EndsFailedWithWingetsWords_AndNothingIsListed()
    {
        await using var fleet = NewFleet(await _host.CreateTokenAsync(maxUses: 60), failureChance: 1);
        var laptop = fleet.Devices.First(d => d.Spec.Platform == DevicePlatform.Windows);
        fleet.Start();
        await Poll.UntilAsync(() => Task.FromResult(laptop.DeviceId is not null), TimeSpan.FromSeconds(30));

        var app = await RequiredAppAsync("Kami.Kami");

        var id = laptop.DeviceId!.Value;
        await Poll.UntilAsync(async () => await StatusAsync(id, app) is { } s && s.GetProperty("state").GetString() == "failed", TimeSpan.FromSeconds(30));
        (await StatusAsync(id, app))!.Value.GetProperty("reason").GetString()!.ShouldContain("winget install failed (0x8A150107");
        (await ListedAsync(id, "Kami.Kami")).ShouldBeFalse();
    }
}
