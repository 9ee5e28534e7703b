using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Devices;

/// <summary>The spare swap and the repair list through the API, on both providers.</summary>
public abstract class SwapDeviceTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost Host { get; set; } = null!;

    private Guid _north, _south, _class, _cart, _northPool, _southPool, _profile;
    private string _northToken = null!, _southToken = null!;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);
        _north = await IdAsync("/api/schools", new { name = "North", timeZone = "UTC" });
        _south = await IdAsync("/api/schools", new { name = "South", timeZone = "UTC" });
        _class = await IdAsync("/api/groups", new { name = "7B", kind = "class", schoolId = _north });
        _cart = await IdAsync("/api/groups", new { name = "Cart 1", kind = "cart", schoolId = _north });
        _northPool = await IdAsync("/api/groups", new { name = "North spares", kind = "sparePool", schoolId = _north });
        _southPool = await IdAsync("/api/groups", new { name = "South spares", kind = "sparePool", schoolId = _south });
        _profile = await IdAsync("/api/profiles", new { name = "Ada's extras", schoolId = _north, settings = new { } });
        _northToken = await Host.CreateTokenAsync(schoolId: _north);
        _southToken = await Host.CreateTokenAsync(schoolId: _south);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<Guid> StudentAsync(string given, string family)
    {
        var id = await IdAsync("/api/people", new { kind = "student", givenName = given, familyName = family, schoolId = _north });
        (await Host.PostJsonAsync($"/api/groups/{_class}/members", new { personIds = new[] { id } })).EnsureSuccessStatusCode();
        return id;
    }

    private async Task<Guid> AssignedDeviceAsync(string serial, Guid student)
    {
        var id = (await Host.EnrollAsync(_northToken, serial)).DeviceId;
        await PatchAsync(id, new { assignedPersonId = student });
        (await Host.PostJsonAsync($"/api/groups/{_cart}/members", new { deviceIds = new[] { id } })).EnsureSuccessStatusCode();
        return id;
    }

    private async Task<Guid> SpareAsync(string serial, bool south = false)
    {
        var id = (await Host.EnrollAsync(south ? _southToken : _northToken, serial)).DeviceId;
        await PatchAsync(id, new { state = "spare" });
        (await Host.PostJsonAsync($"/api/groups/{(south ? _southPool : _northPool)}/members", new { deviceIds = new[] { id } })).EnsureSuccessStatusCode();
        return id;
    }

    private async Task PatchAsync(Guid id, object body)
    {
        using var response = await Host.Client.PatchAsJsonAsync(new Uri($"/api/devices/{id}", UriKind.Relative), body, HomeroomHost.Json).WaitAsync(HomeroomHost.Timeout);
        response.EnsureSuccessStatusCode();
    }

    private async Task<(HttpStatusCode Status, string Body)> SwapAsync(Guid id, object body)
    {
        using var response = await Host.PostJsonAsync($"/api/devices/{id}/swap", body);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> DeviceAsync(Guid id) => await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}");

    private async Task<Guid[]> GroupDevicesAsync(Guid group) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/devices?groupId={group}&pageSize=100")).GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()).ToArray();

    private async Task<HomeroomDbContext> DbAsync() => await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();

    private async Task<(int Swaps, int Repairs)> CountsAsync()
    {
        await using var db = await DbAsync();
        return (await db.AuditLog.CountAsync(a => a.Action == "device.swap"), await db.DeviceRepairs.CountAsync());
    }

    [Fact]
    public async Task Swap_AssignedDeviceWithSpare_MovesAssignmentMembershipsAndPoliciesInOneAuditEntry()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var broken = await AssignedDeviceAsync("BRK-1", ada);
        var spare = await SpareAsync("SPR-1");
        var assignment = await IdAsync("/api/assignments", new { profileId = _profile, level = "device", scopeId = broken.ToString() });

        var candidates = await Host.GetJsonAsync<JsonElement>($"/api/devices/{broken}/swap-candidates");
        var (status, body) = await SwapAsync(broken, new { reason = "Cracked screen" });

        candidates.EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ShouldBe([spare]);
        status.ShouldBe(HttpStatusCode.OK, body);
        var spareNow = await DeviceAsync(spare);
        spareNow.GetProperty("state").GetString().ShouldBe("active");
        spareNow.GetProperty("assignedPersonId").GetGuid().ShouldBe(ada);
        var brokenNow = await DeviceAsync(broken);
        brokenNow.GetProperty("state").GetString().ShouldBe("inRepair");
        brokenNow.GetProperty("assignedPersonId").ValueKind.ShouldBe(JsonValueKind.Null);
        (await GroupDevicesAsync(_cart)).ShouldBe([spare]);
        (await GroupDevicesAsync(_northPool)).ShouldBeEmpty();
        (await Host.GetJsonAsync<JsonElement>($"/api/assignments")).EnumerateArray()
            .Single(a => a.GetProperty("id").GetGuid() == assignment).GetProperty("scopeId").GetString().ShouldBe(spare.ToString());
        var repairs = await Host.GetJsonAsync<JsonElement>("/api/repairs");
        var note = repairs.GetProperty("items").EnumerateArray().Single();
        note.GetProperty("deviceId").GetGuid().ShouldBe(broken);
        note.GetProperty("reason").GetString().ShouldBe("Cracked screen");
        note.GetProperty("personName").GetString().ShouldBe("Ada Lovelace");
        note.GetProperty("replacementDeviceId").GetGuid().ShouldBe(spare);
        note.GetProperty("reportedBy").GetString().ShouldNotBeNullOrEmpty();
        (await CountsAsync()).ShouldBe((1, 1));
    }

    [Fact]
    public async Task Swap_NoSpareLeft_Answers409AndChangesNothing()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var grace = await StudentAsync("Grace", "Hopper");
        var first = await AssignedDeviceAsync("BRK-1", ada);
        var second = await AssignedDeviceAsync("BRK-2", grace);
        await SpareAsync("SPR-1");
        await SpareAsync("SPR-S", south: true);
        (await SwapAsync(first, new { reason = "Cracked screen" })).Status.ShouldBe(HttpStatusCode.OK);

        var (status, body) = await SwapAsync(second, new { reason = "Keyboard" });

        status.ShouldBe(HttpStatusCode.Conflict);
        body.ShouldContain("No spare is available");
        var secondNow = await DeviceAsync(second);
        secondNow.GetProperty("state").GetString().ShouldBe("active");
        secondNow.GetProperty("assignedPersonId").GetGuid().ShouldBe(grace);
        (await GroupDevicesAsync(_cart)).ShouldContain(second);
        (await CountsAsync()).ShouldBe((1, 1));
    }

    [Fact]
    public async Task Swap_SpareOfAnotherSchool_Answers400AndChangesNothing()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var broken = await AssignedDeviceAsync("BRK-1", ada);
        var southSpare = await SpareAsync("SPR-S", south: true);

        var (status, body) = await SwapAsync(broken, new { spareId = southSpare, reason = "Cracked screen" });

        status.ShouldBe(HttpStatusCode.BadRequest);
        body.ShouldContain("another school");
        (await DeviceAsync(broken)).GetProperty("assignedPersonId").GetGuid().ShouldBe(ada);
        (await DeviceAsync(southSpare)).GetProperty("state").GetString().ShouldBe("spare");
        (await GroupDevicesAsync(_southPool)).ShouldBe([southSpare]);
        (await CountsAsync()).ShouldBe((0, 0));
    }

    [Fact]
    public async Task Swap_SpareNotInAPool_Answers400()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var broken = await AssignedDeviceAsync("BRK-1", ada);
        var loose = (await Host.EnrollAsync(_northToken, "LOOSE-1")).DeviceId;
        await PatchAsync(loose, new { state = "spare" });

        var (status, _) = await SwapAsync(broken, new { spareId = loose, reason = "Cracked screen" });

        status.ShouldBe(HttpStatusCode.BadRequest);
        (await CountsAsync()).ShouldBe((0, 0));
    }

    [Fact]
    public async Task Swap_UnassignedDevice_Answers409()
    {
        var device = (await Host.EnrollAsync(_northToken, "FREE-1")).DeviceId;
        await SpareAsync("SPR-1");

        var (status, body) = await SwapAsync(device, new { reason = "Cracked screen" });

        status.ShouldBe(HttpStatusCode.Conflict);
        body.ShouldContain("not assigned");
        (await CountsAsync()).ShouldBe((0, 0));
    }

    [Fact]
    public async Task Swap_NoReason_Answers400()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var broken = await AssignedDeviceAsync("BRK-1", ada);
        await SpareAsync("SPR-1");

        (await SwapAsync(broken, new { reason = " " })).Status.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Swap_TwoBrokenDevicesRaceForOneSpare_ExactlyOneSucceeds()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var grace = await StudentAsync("Grace", "Hopper");
        var first = await AssignedDeviceAsync("BRK-1", ada);
        var second = await AssignedDeviceAsync("BRK-2", grace);
        var spare = await SpareAsync("SPR-1");

        var results = await Task.WhenAll(
            SwapAsync(first, new { spareId = spare, reason = "Cracked screen" }),
            SwapAsync(second, new { spareId = spare, reason = "Keyboard" }));

        results.Select(r => r.Status).Order().ShouldBe([HttpStatusCode.OK, HttpStatusCode.Conflict]);
        var (winner, winnerStudent, loser, loserStudent) = results[0].Status == HttpStatusCode.OK ? (first, ada, second, grace) : (second, grace, first, ada);
        (await DeviceAsync(spare)).GetProperty("assignedPersonId").GetGuid().ShouldBe(winnerStudent);
        (await DeviceAsync(winner)).GetProperty("state").GetString().ShouldBe("inRepair");
        var loserNow = await DeviceAsync(loser);
        loserNow.GetProperty("state").GetString().ShouldBe("active");
        loserNow.GetProperty("assignedPersonId").GetGuid().ShouldBe(loserStudent);
        (await CountsAsync()).ShouldBe((1, 1));
    }

    [Fact]
    public async Task ReturnToPool_RepairedDevice_BecomesASpareAgainAndLeavesTheRepairList()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var broken = await AssignedDeviceAsync("BRK-1", ada);
        await SpareAsync("SPR-1");
        (await SwapAsync(broken, new { reason = "Cracked screen" })).Status.ShouldBe(HttpStatusCode.OK);

        using var wrongPool = await Host.PostJsonAsync($"/api/devices/{broken}/return-to-pool", new { groupId = _southPool });
        using var returned = await Host.PostJsonAsync($"/api/devices/{broken}/return-to-pool", new { groupId = _northPool });
        using var again = await Host.PostJsonAsync($"/api/devices/{broken}/return-to-pool", new { groupId = _northPool });

        wrongPool.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        returned.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await DeviceAsync(broken)).GetProperty("state").GetString().ShouldBe("spare");
        (await GroupDevicesAsync(_northPool)).ShouldBe([broken]);
        (await Host.GetJsonAsync<JsonElement>("/api/repairs")).GetProperty("total").GetInt32().ShouldBe(0);
        await using var db = await DbAsync();
        (await db.DeviceRepairs.SingleAsync()).ReturnedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task List_Search_IgnoresCaseAndFindsTheStudentsName()
    {
        var ada = await StudentAsync("Ada", "Lovelace");
        var device = await AssignedDeviceAsync("BRK-1", ada);
        await SpareAsync("SPR-1");

        var byStudent = await Host.GetJsonAsync<JsonElement>("/api/devices?q=ada%20LOVE");
        var bySerial = await Host.GetJsonAsync<JsonElement>("/api/devices?q=brk-1");

        var row = byStudent.GetProperty("items").EnumerateArray().Single();
        row.GetProperty("id").GetGuid().ShouldBe(device);
        row.GetProperty("assignedPersonName").GetString().ShouldBe("Ada Lovelace");
        row.GetProperty("schoolName").GetString().ShouldBe("North");
        bySerial.GetProperty("items").EnumerateArray().Single().GetProperty("id").GetGuid().ShouldBe(device);
    }
}

public sealed class SwapDeviceSqliteTests() : SwapDeviceTests(DatabaseProvider.Sqlite);

public sealed class SwapDevicePostgresTests() : SwapDeviceTests(DatabaseProvider.Postgres);
