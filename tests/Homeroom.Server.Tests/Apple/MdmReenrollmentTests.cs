using System.Net;
using System.Text.Json;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apple;

/// <summary>
/// An enrolled Apple device is taken over only by itself (the identity it is bound to) or with an
/// administrator's approval: any token plus a serial or UDID is not enough, a revoked device stays
/// revoked, schools are never crossed, and a refusal is a clear 4xx that changes nothing stored.
/// </summary>
public abstract class MdmReenrollmentTests(DatabaseProvider provider) : IAsyncLifetime
{
    private readonly List<VirtualAppleDevice> _devices = [];

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(provider);

    public async Task DisposeAsync()
    {
        _devices.ForEach(d => d.Dispose());
        await Host.DisposeAsync();
    }

    private VirtualAppleDevice Device(string udid, string serial, string product = "iPad13,18")
    {
        var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, udid, serial, product);
        _devices.Add(device);
        return device;
    }

    private async Task<(VirtualAppleDevice Device, Guid Id)> EnrolledAsync(string udid, string serial, string? token = null)
    {
        var device = Device(udid, serial);
        await device.InstallEnrollmentProfileAsync(token ?? await Host.CreateTokenAsync());
        using (var authenticate = await device.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        }

        (await device.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        return (device, await IdOfAsync(serial));
    }

    private async Task<Guid> IdOfAsync(string serial) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();

    private async Task<T> WithDbAsync<T>(Func<HomeroomDbContext, Task<T>> work)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await work(db);
    }

    // The lead's "approve re-enrollment" action writes this column; here the test writes it.
    private Task ApproveAsync(Guid id) => WithDbAsync(db =>
        db.Devices.Where(d => d.Id == id).ExecuteUpdateAsync(s => s.SetProperty(d => d.ReenrollmentApprovedUntil, (DateTime?)Host.Clock.GetUtcNow().UtcDateTime.AddHours(1))));

    private sealed record Stored(string Udid, string Thumbprint, string? PushToken, DateTime EnrolledAt, string CredentialHash, Guid? SchoolId, Guid? TokenId, DateTime? RevokedAt, int AppleRows, int Devices);

    private Task<Stored> StoredAsync(Guid id) => WithDbAsync(async db =>
    {
        var apple = await db.AppleDevices.AsNoTracking().SingleAsync(a => a.DeviceId == id);
        var device = await db.Devices.AsNoTracking().SingleAsync(d => d.Id == id);
        return new Stored(apple.Udid, apple.IdentityThumbprint, apple.PushToken, device.EnrolledAt, device.CredentialHash, device.SchoolId, device.EnrollmentTokenId, device.RevokedAt,
            await db.AppleDevices.CountAsync(), await db.Devices.CountAsync());
    });

    // An Authenticate that differs from the device's earlier ones, so it is not answered as a replay.
    private static Task<HttpResponseMessage> AuthenticateAgainAsync(VirtualAppleDevice device) => device.SendAsync(device.CheckInUrl!.PathAndQuery, new()
    {
        ["MessageType"] = "Authenticate", ["UDID"] = device.Udid, ["SerialNumber"] = device.Serial, ["ProductName"] = device.ProductName, ["Topic"] = "com.apple.mgmt.External.homeroom",
        ["DeviceName"] = "Authenticate " + Guid.NewGuid().ToString("N"),
    });

    private static async Task ShouldBeRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        using (response)
        {
            response.StatusCode.ShouldBe(status);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await response.Content.ReadAsStringAsync()).ShouldContain(reason);
        }
    }

    [Fact]
    public async Task Authenticate_AnyTokenPlusAnEnrolledSerial_IsRefused_AndNothingChanges()
    {
        var (victim, id) = await EnrolledAsync("00008030-VICTIM000001", "VICTIM0001");
        var before = await StoredAsync(id);

        // Another device (its own UDID, a fresh identity from a profile of any token) claims the victim's serial.
        var attacker = Device("00008030-ATTACK000001", "VICTIM0001");
        await attacker.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        await ShouldBeRefusedAsync(await attacker.AuthenticateAsync(), HttpStatusCode.Forbidden, "approve its re-enrollment");

        (await StoredAsync(id)).ShouldBe(before);
        (await victim.PollAsync()).ShouldBeGreaterThanOrEqualTo(0); // still managed with its own identity
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=mdm.authenticate")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task Authenticate_AnEnrolledUdidWithAnotherSerial_IsRefused_AndCreatesNothing()
    {
        var (_, id) = await EnrolledAsync("00008030-BOUND0000001", "BOUND00001");
        var before = await StoredAsync(id);

        var claimant = Device("00008030-BOUND0000001", "NEWSERIAL1");
        await claimant.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        await ShouldBeRefusedAsync(await claimant.AuthenticateAsync(), HttpStatusCode.Conflict, "enrolled as another device");

        (await StoredAsync(id)).ShouldBe(before);
    }

    [Fact]
    public async Task Authenticate_ReinstalledProfile_NeedsApproval_ThenRebindsOnceAndTheOldIdentityStops()
    {
        var (device, id) = await EnrolledAsync("00008030-REINSTALL001", "REINST0001");
        var oldIdentity = device.Identity;
        var before = await StoredAsync(id);

        // The same iPad, profile removed and installed again: a new identity for the same UDID and serial.
        var reinstalled = Device(device.Udid, device.Serial);
        await reinstalled.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        await ShouldBeRefusedAsync(await reinstalled.AuthenticateAsync(), HttpStatusCode.Forbidden, "approve its re-enrollment");
        (await StoredAsync(id)).ShouldBe(before);

        await ApproveAsync(id);
        using (var approved = await reinstalled.AuthenticateAsync())
        {
            approved.StatusCode.ShouldBe(HttpStatusCode.OK, await approved.Content.ReadAsStringAsync());
        }

        var after = await StoredAsync(id);
        after.Thumbprint.ShouldBe(MdmIdentity.Thumbprint(reinstalled.Identity));
        after.PushToken.ShouldBeNull();
        after.Devices.ShouldBe(before.Devices);
        (await WithDbAsync(db => db.Devices.SingleAsync(d => d.Id == id))).ReenrollmentApprovedUntil.ShouldBeNull(); // one approval, one re-enrollment
        device.Identity = oldIdentity;
        await ShouldBeRefusedAsync(await device.SendAsync("/mdm/connect", new() { ["UDID"] = device.Udid, ["Status"] = "Idle" }), HttpStatusCode.Forbidden, "not enrolled with this identity");
        (await reinstalled.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);

        // The approval is spent: another new identity is refused again.
        var third = Device(device.Udid, device.Serial);
        await third.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        await ShouldBeRefusedAsync(await third.AuthenticateAsync(), HttpStatusCode.Forbidden, "approve its re-enrollment");
    }

    [Fact]
    public async Task Authenticate_RevokedDevice_StaysRevokedUntilApproved()
    {
        var (device, id) = await EnrolledAsync("00008030-REVOKED00001", "REVOKE0001");
        (await Host.Client.PostAsync($"/api/devices/{id}/revoke", null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var before = await StoredAsync(id);

        // Its own identity, and a fresh one with a token: both refused while revoked.
        await ShouldBeRefusedAsync(await AuthenticateAgainAsync(device), HttpStatusCode.Forbidden, "revoked");
        await ShouldBeRefusedAsync(await device.TokenUpdateAsync(), HttpStatusCode.Forbidden, "not enrolled");
        var fresh = Device(device.Udid, device.Serial);
        await fresh.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        await ShouldBeRefusedAsync(await fresh.AuthenticateAsync(), HttpStatusCode.Forbidden, "revoked");
        (await StoredAsync(id)).ShouldBe(before);

        await ApproveAsync(id);
        (await fresh.AuthenticateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await StoredAsync(id)).RevokedAt.ShouldBeNull();
        (await fresh.PollAsync()).ShouldBeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public async Task Authenticate_TokenOfAnotherSchool_NeverMovesTheDevice_EvenWhenApproved()
    {
        var north = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North Elementary", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        var south = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "South Elementary", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        var (device, id) = await EnrolledAsync("00008030-SCHOOL000001", "SCHOOL0001", await Host.CreateTokenAsync(schoolId: north));
        await ApproveAsync(id);
        var before = await StoredAsync(id);
        before.SchoolId.ShouldBe(north);

        var moved = Device(device.Udid, device.Serial);
        await moved.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync(schoolId: south));
        await ShouldBeRefusedAsync(await moved.AuthenticateAsync(), HttpStatusCode.Forbidden, "another school");

        (await StoredAsync(id)).ShouldBe(before);
    }

    [Fact]
    public async Task Authenticate_SameIdentityAfterCheckOut_IsTheSameDevice()
    {
        var (device, id) = await EnrolledAsync("00008030-CHECKOUT0001", "CHECKO0001");
        (await device.CheckOutAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.SendAsync("/mdm/connect", new() { ["UDID"] = device.Udid, ["Status"] = "Idle" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        using (var again = await AuthenticateAgainAsync(device))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        }

        (await WithDbAsync(db => db.AppleDevices.SingleAsync(a => a.DeviceId == id))).CheckedOutAt.ShouldBeNull();
        (await device.PollAsync()).ShouldBeGreaterThanOrEqualTo(0);
    }
}

public sealed class MdmReenrollmentSqliteTests() : MdmReenrollmentTests(DatabaseProvider.Sqlite);

public sealed class MdmReenrollmentPostgresTests() : MdmReenrollmentTests(DatabaseProvider.Postgres);
