using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

/// <summary>A simulated cart device switches its signed-in student, and the server follows it (as a demo would show).</summary>
public sealed class FleetSignInTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    [Fact]
    public async Task SignIn_OnASharedSimulatedDevice_TheServerShowsEachStudentThenNobody()
    {
        var school = await IdAsync("/api/schools", new { name = "Lab School", timeZone = "UTC" });
        await IdAsync("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", email = "ada@lab.example.org", schoolId = school });
        await IdAsync("/api/people", new { kind = "student", givenName = "Ben", familyName = "Okafor", email = "ben@lab.example.org", schoolId = school });
        await using var fleet = new Fleet.Fleet(new FleetOptions
        {
            Server = _host.BaseAddress, EnrollToken = await _host.CreateTokenAsync(maxUses: 8, schoolId: school), Devices = 8, Seed = 5, AlwaysOnline = true,
            SlowAnswerChance = 0, SafetySignals = false, HelpRequests = false, ActivityInterval = TimeSpan.FromMilliseconds(200),
        });
        fleet.Start();
        var cart = fleet.Devices.First(d => d.Spec.Platform == DevicePlatform.ChromeOS);
        await Poll.UntilAsync(() => Task.FromResult(cart.Connected && cart.DeviceId is not null), TimeSpan.FromSeconds(30));
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{cart.DeviceId}", new { shared = true }, HomeroomHost.Json)).EnsureSuccessStatusCode();

        async Task<string?> SignedInNameAsync()
        {
            var detail = await _host.GetJsonAsync<JsonElement>($"/api/devices/{cart.DeviceId}");
            return detail.GetProperty("signedIn") is { ValueKind: JsonValueKind.Object } signedIn && signedIn.GetProperty("personName").ValueKind == JsonValueKind.String
                ? signedIn.GetProperty("personName").GetString()
                : null;
        }

        cart.SignIn(new SignedInUser("ada@lab.example.org"));
        await Poll.UntilAsync(async () => await SignedInNameAsync() == "Ada Lovelace", TimeSpan.FromSeconds(10));
        cart.SignIn(new SignedInUser("BEN@lab.example.org"));
        await Poll.UntilAsync(async () => await SignedInNameAsync() == "Ben Okafor", TimeSpan.FromSeconds(10));
        cart.SignIn(null);
        await Poll.UntilAsync(async () => await SignedInNameAsync() is null, TimeSpan.FromSeconds(10));

        var audit = await _host.GetJsonAsync<JsonElement>($"/api/audit?targetId={cart.DeviceId}&action=device.sign-in");
        audit.GetProperty("total").GetInt32().ShouldBe(2);
    }
}
