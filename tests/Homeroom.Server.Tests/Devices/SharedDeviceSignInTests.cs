using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Devices;

/// <summary>
/// A shared (cart) device follows the student signed in on it, as its agent reports in <c>inventory.signedInUser</c>:
/// their policy, their classes and their activity, within seconds; sign-out returns it to the cart's own policy. A
/// 1:1 device and a student of another school change nothing, and a malformed account closes the connection.
/// </summary>
public abstract class SharedDeviceSignInTests(DatabaseProvider provider) : IAsyncLifetime
{
    // The promise: a student switching mid-period has their policy within 5 s.
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(5);

    private HomeroomHost _host = null!;
    private Guid _north;
    private Guid _ada;
    private Guid _ben;
    private Guid _science;
    private Guid _history;

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(provider);
        _host.Clock.MoveToSchoolDayMorning();
        _north = await IdAsync("/api/schools", new { name = "North", timeZone = "UTC" });
        var south = await IdAsync("/api/schools", new { name = "South", timeZone = "UTC" });
        _ada = await IdAsync("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", email = "Ada.Lovelace@north.example.org", gradeLevel = 7, schoolId = _north });
        _ben = await IdAsync("/api/people", new { kind = "student", givenName = "Ben", familyName = "Okafor", externalId = "ben-roster-42", gradeLevel = 9, schoolId = _north });
        await IdAsync("/api/people", new { kind = "student", givenName = "Carl", familyName = "South", email = "carl@south.example.org", gradeLevel = 7, schoolId = south });
        _science = await ClassAsync("Science", _ada);
        _history = await ClassAsync("History", _ben);

        // The cart's own policy (its school's), Ada's through her grade, Ben's through his class.
        await AssignAsync("Cart", "Cart device", "school", _north.ToString());
        await AssignAsync("Grade 7", "Grade seven", "grade", "7");
        await AssignAsync("History", "History class", "group", _history.ToString());
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<Guid> ClassAsync(string name, Guid student)
    {
        var today = _host.Clock.GetUtcNow().UtcDateTime.Date;
        var id = await IdAsync("/api/groups", new { name, kind = "class", schoolId = _north });
        (await _host.PostJsonAsync($"/api/groups/{id}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        (await _host.Client.PutAsJsonAsync($"/api/groups/{id}/schedule", new
        {
            termStart = today.AddDays(-7).ToString("yyyy-MM-dd"),
            termEnd = today.AddDays(30).ToString("yyyy-MM-dd"),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday" }, start = "08:00", end = "15:00" } },
        })).EnsureSuccessStatusCode();
        return id;
    }

    private async Task AssignAsync(string name, string lockMessage, string level, string scopeId)
    {
        var profile = await IdAsync("/api/profiles", new { name, settings = new { device = new { lockMessage } } });
        await IdAsync("/api/assignments", new { profileId = profile, level, scopeId });
    }

    private async Task<TestAgent> DeviceAsync(bool shared, Guid? assignedPersonId = null)
    {
        var agent = await _host.ConnectNewAgentAsync(await _host.CreateTokenAsync(schoolId: _north));
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{agent.DeviceId}", new { shared, assignedPersonId }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        return agent;
    }

    private static InventoryFrame Inventory(SignedInUser? user) =>
        new("ChromeOS", "131.0", "Chromebook 311", "Acer", null, null, null, SignedInUser: user);

    private static string LockMessage(PolicyFrame frame) => frame.Document.GetProperty("device").GetProperty("lockMessage").GetString()!;

    /// <summary>Reads policy frames until one carries <paramref name="lockMessage"/>; fails after <see cref="Within"/>.</summary>
    private static async Task<PolicyFrame> PolicyWithinAsync(TestAgent agent, string lockMessage)
    {
        var deadline = DateTime.UtcNow + Within;
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (agent.LastPolicy is { } last && LockMessage(last) == lockMessage)
            {
                return last;
            }

            var frame = await agent.ExpectAsync<PolicyFrame>(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
            if (LockMessage(frame) == lockMessage)
            {
                return frame;
            }
        }
    }

    /// <summary>The policy the server resolves for the device now (what it would send), by its explanation.</summary>
    private async Task<string> ResolvedLockMessageAsync(Guid deviceId)
    {
        var policy = await _host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
        return policy.GetProperty("settings").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "device.lockMessage").GetProperty("value").GetString()!;
    }

    /// <summary>Sends a frame the server answers and waits for the answer: every frame before it has been handled.</summary>
    private static async Task RoundTripAsync(TestAgent agent, long seq)
    {
        await agent.SendAsync(new ActivityFrame([new ActivityEvent(seq, DateTimeOffset.UtcNow, ActivityKinds.WebVisit, $"https://example.org/{seq}", $"Page {seq}")]));
        (await agent.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBeGreaterThanOrEqualTo(seq);
    }

    private async Task<JsonElement> TilesAsync(Guid classId) =>
        (await _host.GetJsonAsync<JsonElement>($"/api/groups/{classId}/classroom")).GetProperty("tiles");

    [Fact]
    public async Task SharedDevice_SwitchingStudentsMidPeriod_GetsEachStudentsPolicyWithin5s_AndSignOutReturnsTheCartPolicy()
    {
        await using var cart = await DeviceAsync(shared: true);
        (await PolicyWithinAsync(cart, "Cart device")).ShouldNotBeNull();

        await cart.SendAsync(Inventory(new SignedInUser("ada.lovelace@NORTH.example.org", "g-111")));
        await PolicyWithinAsync(cart, "Grade seven");

        // Mid-period, Ben takes the same Chromebook: matched by his roster id, his class's policy follows him.
        await cart.SendAsync(Inventory(new SignedInUser("ben@personal.example.com", "ben-roster-42")));
        await PolicyWithinAsync(cart, "History class");

        await cart.SendAsync(Inventory(null));
        await PolicyWithinAsync(cart, "Cart device");

        var device = await _host.GetJsonAsync<JsonElement>($"/api/devices/{cart.DeviceId}");
        device.GetProperty("shared").GetBoolean().ShouldBeTrue();
        device.GetProperty("signedIn").GetProperty("email").ValueKind.ShouldBe(JsonValueKind.Null);
        device.GetProperty("signedIn").GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);
        var audit = (await _host.GetJsonAsync<JsonElement>($"/api/audit?targetId={cart.DeviceId}")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("action").GetString()).ToList();
        audit.Count(a => a == "device.sign-in").ShouldBe(2);
        audit.Count(a => a == "device.sign-out").ShouldBe(1);
    }

    [Fact]
    public async Task SharedDevice_ShowsTheSignedInStudentInTheirClassroom_AndAttributesTheirActivity()
    {
        await using var cart = await DeviceAsync(shared: true);
        (await TilesAsync(_science)).GetArrayLength().ShouldBe(0);

        await cart.SendAsync(Inventory(new SignedInUser("Ada.Lovelace@north.example.org")));
        await RoundTripAsync(cart, 1);
        var science = await TilesAsync(_science);
        science.GetArrayLength().ShouldBe(1);
        science[0].GetProperty("deviceId").GetGuid().ShouldBe(cart.DeviceId);
        science[0].GetProperty("studentId").GetGuid().ShouldBe(_ada);
        science[0].GetProperty("studentName").GetString().ShouldBe("Ada Lovelace");
        var detail = await _host.GetJsonAsync<JsonElement>($"/api/devices/{cart.DeviceId}");
        detail.GetProperty("signedIn").GetProperty("personName").GetString().ShouldBe("Ada Lovelace");
        detail.GetProperty("signedIn").GetProperty("email").GetString().ShouldBe("ada.lovelace@north.example.org");

        await cart.SendAsync(Inventory(new SignedInUser(null, "ben-roster-42")));
        await RoundTripAsync(cart, 2);
        (await TilesAsync(_science)).GetArrayLength().ShouldBe(0);
        var history = await TilesAsync(_history);
        history.GetArrayLength().ShouldBe(1);
        history[0].GetProperty("studentName").GetString().ShouldBe("Ben Okafor");

        var events = (await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={cart.DeviceId}")).GetProperty("items").EnumerateArray()
            .Select(e => (Seq: e.GetProperty("seq").GetInt64(), Person: e.GetProperty("personId").GetGuid())).OrderBy(e => e.Seq).ToList();
        events.ShouldBe([(1L, _ada), (2L, _ben)]);
    }

    [Fact]
    public async Task SafetyAlert_FromASharedDevice_IsTheSignedInStudents()
    {
        var safety = await IdAsync("/api/profiles", new { name = "Safety everywhere", settings = new { safety = new { atHome = true } } });
        await IdAsync("/api/assignments", new { profileId = safety, level = "district" });
        await using var cart = await DeviceAsync(shared: true);
        await cart.SendAsync(Inventory(new SignedInUser(null, "ben-roster-42")));
        await PolicyWithinAsync(cart, "History class");

        await cart.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, Safety.SafetyTestText.Imminent, "https://www.google.com/search?q=x")]));
        await cart.ExpectAsync<SignalsAckFrame>();

        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var alert = (await db.Set<Homeroom.Server.Safety.SafetyAlert>().AsNoTracking().Where(a => a.DeviceId == cart.DeviceId).ToListAsync()).ShouldHaveSingleItem();
        alert.PersonId.ShouldBe(_ben);
    }

    [Fact]
    public async Task OneToOneDevice_IgnoresTheSignedInUser_AndKeepsItsStudent()
    {
        await using var laptop = await DeviceAsync(shared: false, assignedPersonId: _ada);
        await PolicyWithinAsync(laptop, "Grade seven");

        await laptop.SendAsync(Inventory(new SignedInUser(null, "ben-roster-42")));
        await RoundTripAsync(laptop, 1);

        (await ResolvedLockMessageAsync(laptop.DeviceId)).ShouldBe("Grade seven");
        (await TilesAsync(_history)).GetArrayLength().ShouldBe(0);
        var detail = await _host.GetJsonAsync<JsonElement>($"/api/devices/{laptop.DeviceId}");
        detail.GetProperty("shared").GetBoolean().ShouldBeFalse();
        detail.GetProperty("signedIn").GetProperty("accountId").GetString().ShouldBe("ben-roster-42");
        detail.GetProperty("signedIn").GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);
        var activity = (await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={laptop.DeviceId}")).GetProperty("items");
        activity[0].GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);

        // Marked shared by an administrator, it follows the account already signed in, at once.
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{laptop.DeviceId}", new { shared = true }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        await PolicyWithinAsync(laptop, "History class");
        (await _host.Client.PatchAsJsonAsync($"/api/devices/{laptop.DeviceId}", new { shared = false }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        await PolicyWithinAsync(laptop, "Grade seven");
    }

    [Fact]
    public async Task StudentOfAnotherSchool_MapsToNobody_AndIsAuditedAsUnmatched()
    {
        await using var cart = await DeviceAsync(shared: true);
        await PolicyWithinAsync(cart, "Cart device");

        await cart.SendAsync(Inventory(new SignedInUser("carl@south.example.org")));
        await RoundTripAsync(cart, 1);

        (await ResolvedLockMessageAsync(cart.DeviceId)).ShouldBe("Cart device");
        var detail = await _host.GetJsonAsync<JsonElement>($"/api/devices/{cart.DeviceId}");
        detail.GetProperty("signedIn").GetProperty("email").GetString().ShouldBe("carl@south.example.org");
        detail.GetProperty("signedIn").GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);
        detail.GetProperty("signedIn").GetProperty("personName").ValueKind.ShouldBe(JsonValueKind.Null);
        var unmatched = (await _host.GetJsonAsync<JsonElement>($"/api/audit?action=device.sign-in.unmatched")).GetProperty("items");
        unmatched.GetArrayLength().ShouldBe(1);
        unmatched[0].GetProperty("targetId").GetString().ShouldBe(cart.DeviceId.ToString());
        // What the device reported and nothing more: not whether, or where, such a student exists.
        unmatched[0].GetProperty("details").GetString().ShouldBe("carl@south.example.org: no student of this device's school");
        var activity = (await _host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={cart.DeviceId}")).GetProperty("items");
        activity[0].GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Theory]
    [InlineData("not-an-address", null)]
    [InlineData("ada.lovelace@north.example.org", "id with spaces")]
    [InlineData(null, null)] // stands for an address one character over the limit
    public async Task MalformedOrOversizedSignedInUser_ClosesWith4400_AndStoresNothing(string? email, string? id)
    {
        email ??= new string('a', ProtocolLimits.MaxSignedInEmailLength) + "@north.example.org";
        await using var cart = await DeviceAsync(shared: true);
        await PolicyWithinAsync(cart, "Cart device");

        await cart.SendAsync(Inventory(new SignedInUser(email, id)));

        (await cart.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
        var detail = await _host.GetJsonAsync<JsonElement>($"/api/devices/{cart.DeviceId}");
        detail.GetProperty("signedIn").ValueKind.ShouldBe(JsonValueKind.Null);
        detail.GetProperty("inventoryAt").ValueKind.ShouldBe(JsonValueKind.Null);
        (await ResolvedLockMessageAsync(cart.DeviceId)).ShouldBe("Cart device");
    }
}

public sealed class SharedDeviceSignInSqliteTests() : SharedDeviceSignInTests(DatabaseProvider.Sqlite);

public sealed class SharedDeviceSignInPostgresTests() : SharedDeviceSignInTests(DatabaseProvider.Postgres);
