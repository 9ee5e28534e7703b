using System.Net;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Apple;

/// <summary>
/// The daily installed-apps schedule against the simulator's Apple device over real MDM HTTP: a newly
/// enrolled device is asked at the next look, its answer becomes its app list and app.inventory
/// events (only with monitoring.activity on), and the days are spread over each device's own minute.
/// </summary>
public abstract class AppleAppInventoryTests(DatabaseProvider provider) : IAsyncLifetime
{
    private readonly List<VirtualAppleDevice> _devices = [];

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(provider, "Homeroom:Apple:AppInventoryCheckInterval=00:00:01");

    public async Task DisposeAsync()
    {
        _devices.ForEach(d => d.Dispose());
        await Host.DisposeAsync();
    }

    private async Task<(VirtualAppleDevice Device, Guid Id)> EnrolledAsync()
    {
        var n = _devices.Count + 1;
        var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, $"00008030-{n:D4}B2D3E0C38802E", $"DMPA{n:D6}", "iPad13,18");
        _devices.Add(device);
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        using var authenticate = await device.AuthenticateAsync();
        authenticate.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var token = await device.TokenUpdateAsync();
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
        var id = (await Host.GetJsonAsync<JsonElement>($"/api/devices?q={device.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();
        return (device, id);
    }

    private async Task<T> WithDbAsync<T>(Func<HomeroomDbContext, Task<T>> read)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await read(db);
    }

    private async Task AnswersListAppsAsync(VirtualAppleDevice device) =>
        await Poll.UntilAsync(async () =>
        {
            await device.PollAsync();
            return device.Received.Any(r => r.RequestType == "InstalledApplicationList");
        });

    [Fact]
    public async Task NewDevice_IsAskedForItsApps_AndTheAnswerIsItsAppListAndAppInventoryEvents()
    {
        var (device, id) = await EnrolledAsync();

        await AnswersListAppsAsync(device);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("total").GetInt32() == 4);
        var apps = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("items").EnumerateArray().ToList();
        apps.ShouldAllBe(a => a.GetProperty("source").GetString() == "device");
        apps.ShouldContain(a => a.GetProperty("appId").GetString() == "com.google.Classroom");
        List<ActivityEventRow> events = [];
        await Poll.UntilAsync(async () =>
        {
            events = await WithDbAsync(db => db.ActivityEvents.AsNoTracking().Where(e => e.DeviceId == id)
                .OrderBy(e => e.Seq).Select(e => new ActivityEventRow(e.Seq, e.Kind, e.AppId, e.Title, e.Detail)).ToListAsync());
            return events.Count == 4;
        });
        events.Select(e => e.Seq).ShouldBe([1, 2, 3, 4]);
        events.ShouldAllBe(e => e.Kind == ActivityKinds.AppInventory);
        events.ShouldContain(new ActivityEventRow(events.Single(e => e.AppId == "org.khanacademy.Khan-kids").Seq, ActivityKinds.AppInventory, "org.khanacademy.Khan-kids", "Khan Kids", "4.2.1"));

        // Asked once: the schedule looks every second, and the device is not due again today.
        await device.PollAsync();
        device.Received.Count(r => r.RequestType == "InstalledApplicationList").ShouldBe(1);
        (await WithDbAsync(db => db.Commands.CountAsync(c => c.Kind == CommandKinds.ListApps))).ShouldBe(1);
    }

    [Fact]
    public async Task MonitoringActivityOff_KeepsTheAppListButSendsNoEvents()
    {
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "No activity", settings = new { monitoring = new { activity = false } } });
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
        var (device, id) = await EnrolledAsync();

        await AnswersListAppsAsync(device);

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{id}/apps")).GetProperty("total").GetInt32() == 4);
        // The events' sequence numbers are reserved while the answer is handled, before the device hears back.
        (await WithDbAsync(db => db.Devices.Where(d => d.Id == id).Select(d => d.ActivitySeq).SingleAsync())).ShouldBe(0);
        (await WithDbAsync(db => db.ActivityEvents.CountAsync(e => e.DeviceId == id))).ShouldBe(0);
    }

    private sealed record ActivityEventRow(long Seq, string Kind, string? AppId, string? Title, string? Detail);
}

public sealed class AppleAppInventorySqliteTests() : AppleAppInventoryTests(DatabaseProvider.Sqlite);

public sealed class AppleAppInventoryPostgresTests() : AppleAppInventoryTests(DatabaseProvider.Postgres);

/// <summary>When a device is due: at its own minute of the day, once a day, and at once when never asked.</summary>
public sealed class AppleAppInventoryScheduleTests
{
    private static readonly DateTime Midnight = new(2026, 9, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void IsDue_NeverAsked_IsDueAtOnce() =>
        AppleAppInventorySchedule.IsDue(Guid.CreateVersion7(), null, Midnight.AddHours(13)).ShouldBeTrue();

    [Fact]
    public void IsDue_OncePerDayAtTheDevicesMinute()
    {
        var id = Guid.CreateVersion7();
        var slot = Midnight + AppleAppInventorySchedule.SlotOf(id) + TimeSpan.FromDays(1);
        var asked = slot.AddMinutes(2);

        AppleAppInventorySchedule.IsDue(id, asked, asked.AddHours(1)).ShouldBeFalse();
        AppleAppInventorySchedule.IsDue(id, asked, slot.AddDays(1).AddMinutes(-1)).ShouldBeFalse();
        AppleAppInventorySchedule.IsDue(id, asked, slot.AddDays(1)).ShouldBeTrue();
        // Enrolled (and asked) just before its minute: not asked again an hour later, but the next day.
        AppleAppInventorySchedule.IsDue(id, slot.AddHours(-1), slot).ShouldBeFalse();
        AppleAppInventorySchedule.IsDue(id, slot.AddHours(-1), slot.AddDays(1)).ShouldBeTrue();
    }

    [Fact]
    public void SlotOf_SpreadsADistrictOverTheDay()
    {
        var perHour = new int[24];
        for (var i = 0; i < 24_000; i++)
        {
            perHour[(int)AppleAppInventorySchedule.SlotOf(Guid.CreateVersion7()).TotalHours]++;
        }

        // 1,000 an hour on average; a fair spread stays well within 15 %.
        perHour.ShouldAllBe(n => n > 850 && n < 1150);
    }
}
