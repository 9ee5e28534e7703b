using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using MimeKit;

namespace Homeroom.Server.Tests.Safety;

/// <summary>
/// Per-school safety routing (issue 14), on the same hosts as <see cref="SafetyTests"/>: settings round-trip
/// and refuse bad input whole; an unacknowledged imminent alert walks the school's contacts one delay at a
/// time and ends with the district's; acknowledging stops it; quiet hours hold a high alert's e-mail for
/// one summary while an imminent one goes out at once.
/// </summary>
public abstract partial class SafetyTests
{
    private const string HighPhrase = "zorblax gloomfest";

    private Task<HttpResponseMessage> PutSettingsAsync(HttpClient client, Guid school, object body) =>
        client.PutAsJsonAsync(new Uri($"/api/schools/{school}/safety-settings", UriKind.Relative), body, HomeroomHost.Json);

    private async Task<MimeMessage> NextMessageAsync() => await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);

    /// <summary>An alert of the device made imminent whatever the engine rated it (only imminent alerts escalate).</summary>
    private async Task<SafetyAlert> ImminentAlertAsync(TestAgent agent)
    {
        await SendAsync(agent, Signals(Imminent));
        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();
        await DbAsync(db => db.Set<SafetyAlert>().Where(a => a.Id == alert.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.SeverityRank, 4).SetProperty(a => a.Severity, "imminent")));
        return alert;
    }

    [Fact]
    public async Task SafetySettings_RoundTrip_AndBadInputIsRefusedWhole()
    {
        using var lead = await Host.SignInAsNewAccountAsync("lead-settings", "safetyLead", schoolId: _north);
        using var southLead = await Host.SignInAsNewAccountAsync("lead-settings-south", "safetyLead", schoolId: _south);
        using var schoolAdmin = await Host.SignInAsNewAccountAsync("admin-settings", "schoolAdmin", schoolId: _north);
        var body = new
        {
            contacts = new[] { new { name = "Dana Counselor", email = "dana@mail.example.org" }, new { name = "Lee Principal", email = "lee@mail.example.org" } },
            escalateAfterMinutes = 20,
            quietHours = new { start = "22:00", end = "06:30", days = new[] { "friday", "monday" } },
        };

        using (var saved = await PutSettingsAsync(lead, _north, body))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        var read = await lead.GetFromJsonAsync<JsonElement>($"/api/schools/{_north}/safety-settings");
        read.GetProperty("contacts").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()} <{c.GetProperty("email").GetString()}>")
            .ShouldBe(["Dana Counselor <dana@mail.example.org>", "Lee Principal <lee@mail.example.org>"]);
        read.GetProperty("escalateAfterMinutes").GetInt32().ShouldBe(20);
        read.GetProperty("effectiveEscalateAfterMinutes").GetInt32().ShouldBe(20);
        read.GetProperty("quietHours").GetProperty("start").GetString().ShouldBe("22:00");
        read.GetProperty("quietHours").GetProperty("end").GetString().ShouldBe("06:30");
        read.GetProperty("quietHours").GetProperty("days").EnumerateArray().Select(d => d.GetString()).ShouldBe(["monday", "friday"]);
        read.GetProperty("districtContacts").GetInt32().ShouldBe(1);
        (await DbAsync(db => db.AuditLog.CountAsync(e => e.Action == "safety.settings.update" && e.TargetId == _north.ToString() && e.ActorName == "lead-settings"))).ShouldBe(1);

        object[] bad =
        [
            new { contacts = Enumerable.Range(0, 11).Select(i => new { name = $"C{i}", email = $"c{i}@mail.example.org" }).ToArray() },
            new { contacts = new[] { new { name = "No Address", email = "not-an-address" } } },
            new { contacts = new[] { new { name = "", email = "x@mail.example.org" } } },
            new { contacts = new[] { new { name = new string('n', 101), email = "x@mail.example.org" } } },
            new { contacts = new[] { new { name = "A", email = "same@mail.example.org" }, new { name = "B", email = "SAME@mail.example.org" } } },
            new { escalateAfterMinutes = 0 },
            new { escalateAfterMinutes = 1441 },
            new { quietHours = new { start = "25:00", end = "06:00", days = new[] { "monday" } } },
            new { quietHours = new { start = "22:00", end = "22:00", days = new[] { "monday" } } },
            new { quietHours = new { start = "22:00", end = "06:00", days = new[] { "funday" } } },
            new { quietHours = new { start = "22:00", end = "06:00", days = Array.Empty<string>() } },
        ];
        foreach (var request in bad)
        {
            using var refused = await PutSettingsAsync(lead, _north, request);
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest, JsonSerializer.Serialize(request));
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().ShouldNotBeEmpty();
        }

        (await lead.GetFromJsonAsync<JsonElement>($"/api/schools/{_north}/safety-settings")).GetProperty("contacts").GetArrayLength().ShouldBe(2, "nothing was saved");
        (await southLead.GetAsync($"/api/schools/{_north}/safety-settings")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await PutSettingsAsync(southLead, _north, new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await schoolAdmin.GetAsync($"/api/schools/{_north}/safety-settings")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        // Cleared: no contacts, the district's delay, no quiet hours.
        (await PutSettingsAsync(lead, _north, new { })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var cleared = await lead.GetFromJsonAsync<JsonElement>($"/api/schools/{_north}/safety-settings");
        cleared.GetProperty("contacts").GetArrayLength().ShouldBe(0);
        cleared.GetProperty("escalateAfterMinutes").ValueKind.ShouldBe(JsonValueKind.Null);
        cleared.GetProperty("effectiveEscalateAfterMinutes").GetInt32().ShouldBe(15);
        cleared.GetProperty("quietHours").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Escalation_NotAcknowledged_WalksTheSchoolsContactsThenTheDistrict()
    {
        using (var saved = await PutSettingsAsync(Host.Client, _north, new
        {
            contacts = new[] { new { name = "First Contact", email = "first@mail.example.org" }, new { name = "Second Contact", email = "second@mail.example.org" } },
            escalateAfterMinutes = 5,
        }))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        var alert = await ImminentAlertAsync(agent);
        var escalation = Host.GetService<SafetyEscalation>();

        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0, "not yet overdue");
        string[][] expected = [["first@mail.example.org"], ["second@mail.example.org"], ["district-safety@mail.example.org"]];
        for (var step = 1; step <= expected.Length; step++)
        {
            Host.Clock.Advance(TimeSpan.FromMinutes(6));
            await escalation.EscalateAsync(CancellationToken.None);
            var message = await NextMessageAsync();
            message.To.Mailboxes.Select(m => m.Address).ShouldBe(expected[step - 1], $"step {step}");
            message.Subject!.ShouldContain("ESCALATED");
            message.TextBody!.ShouldContain($"https://homeroom.example.org/safety/alerts/{alert.Id}");
            message.TextBody!.ShouldNotContain("kill", Case.Insensitive);
            (await AlertsOfAsync(agent.DeviceId)).Single().EscalationStep.ShouldBe(step);
            (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0, "the next step waits another delay");
        }

        Host.Clock.Advance(TimeSpan.FromMinutes(60));
        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0, "the chain ends with the district");
        _store.Messages.Reader.TryRead(out _).ShouldBeFalse();
        var escalated = (await AlertsOfAsync(agent.DeviceId)).Single();
        escalated.Status.ShouldBe(SafetyStatuses.Escalated);
        var history = await Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alert.Id}/history");
        var steps = history.EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "escalated").Select(e => e.GetProperty("text").GetString()!).ToList();
        steps.Count.ShouldBe(3);
        steps[0].ShouldContain("First Contact <first@mail.example.org>");
        steps[1].ShouldContain("Second Contact <second@mail.example.org>");
        steps[2].ShouldContain("the district's contacts");
        (await DbAsync(db => db.AuditLog.CountAsync(e => e.Action == "safety.alert.escalate" && e.TargetId == alert.Id.ToString()))).ShouldBe(3);
    }

    [Fact]
    public async Task Escalation_Acknowledged_StopsTheChain()
    {
        (await PutSettingsAsync(Host.Client, _north, new
        {
            contacts = new[] { new { name = "First Contact", email = "first@mail.example.org" }, new { name = "Second Contact", email = "second@mail.example.org" } },
            escalateAfterMinutes = 5,
        })).EnsureSuccessStatusCode();
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await using var other = await AgentAsync(_north);
        var assigned = await ImminentAlertAsync(agent);
        var reviewed = await ImminentAlertAsync(other);
        using var lead = await Host.SignInAsNewAccountAsync("lead-ack", "safetyLead", schoolId: _north);
        var leadId = (await lead.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("id").GetGuid();
        var escalation = Host.GetService<SafetyEscalation>();

        Host.Clock.Advance(TimeSpan.FromMinutes(6));
        await escalation.EscalateAsync(CancellationToken.None);
        (await NextMessageAsync()).To.Mailboxes.Single().Address.ShouldBe("first@mail.example.org");
        (await NextMessageAsync()).To.Mailboxes.Single().Address.ShouldBe("first@mail.example.org");
        (await lead.PostAsJsonAsync($"/api/safety/alerts/{assigned.Id}/assign", new { accountId = leadId })).StatusCode.ShouldBe(HttpStatusCode.OK);
        // Setting the status it already has is still a person acknowledging it.
        (await lead.PostAsJsonAsync($"/api/safety/alerts/{reviewed.Id}/status", new { status = "escalated", note = "On it." })).StatusCode.ShouldBe(HttpStatusCode.OK);

        Host.Clock.Advance(TimeSpan.FromMinutes(30));
        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0);

        _store.Messages.Reader.TryRead(out _).ShouldBeFalse("no one further is mailed once someone is on it");
        (await AlertsOfAsync(agent.DeviceId)).Single().EscalationStep.ShouldBe(1);
        var stopped = (await AlertsOfAsync(other.DeviceId)).Single();
        stopped.EscalationStep.ShouldBe(1);
        stopped.AcknowledgedAt.ShouldNotBeNull();
    }

    [Fact]
    public async Task QuietHours_HoldHighAlertsForOneSummary_WhileImminentGoesOutAtOnce()
    {
        (await Host.Client.PutAsJsonAsync(new Uri($"/api/schools/{_north}/notifications", UriKind.Relative),
            new { emailKinds = new[] { "safety" }, emailAddresses = new[] { "counselor@mail.example.org" } }, HomeroomHost.Json)).EnsureSuccessStatusCode();
        var now = Host.Clock.GetUtcNow().UtcDateTime;
        string Clock(DateTime t) => t.ToString("HH:mm", CultureInfo.InvariantCulture);
        using (var saved = await PutSettingsAsync(Host.Client, _north, new
        {
            quietHours = new { start = Clock(now.AddHours(-1)), end = Clock(now.AddHours(1)), days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" } },
        }))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        (await Host.PostJsonAsync("/api/safety/lexicon/adjustments", new { kind = "add", phrase = HighPhrase, category = "bullying", weight = 70, language = "en" })).EnsureSuccessStatusCode();
        await MonitoredAsync(_north);
        await using var highDevice = await AgentAsync(_north, _student);
        await using var imminentDevice = await AgentAsync(_north);
        var summaries = Host.GetService<SafetyQuietHours>();

        await SendAsync(highDevice, Signals(HighPhrase));
        var high = (await AlertsOfAsync(highDevice.DeviceId)).Single();
        high.Severity.ShouldBe("high");
        high.QuietHeldAt.ShouldNotBeNull();
        await SendAsync(imminentDevice, Signals(Imminent));
        var imminent = (await AlertsOfAsync(imminentDevice.DeviceId)).Single();
        imminent.Severity.ShouldBe("imminent");

        // One sender delivers in order: had the high alert not been held, its e-mail would come first.
        var first = await NextMessageAsync();
        first.Subject!.ShouldContain("(imminent)");
        first.TextBody!.ShouldContain($"/safety/alerts/{imminent.Id}");
        (await summaries.SendSummariesAsync(CancellationToken.None)).ShouldBe(0, "still quiet");

        Host.Clock.Advance(TimeSpan.FromHours(2));
        await summaries.SendSummariesAsync(CancellationToken.None);

        var summary = await NextMessageAsync();
        summary.To.Mailboxes.Select(m => m.Address).ShouldBe(["counselor@mail.example.org"]);
        summary.Subject!.ShouldContain("held during quiet hours: 1");
        summary.TextBody!.ShouldContain($"https://homeroom.example.org/safety/alerts/{high.Id}");
        summary.TextBody!.ShouldNotContain(imminent.Id.ToString());
        summary.TextBody!.ShouldNotContain("zorblax", Case.Insensitive);
        (await AlertsOfAsync(highDevice.DeviceId)).Single().QuietHeldAt.ShouldBeNull();
        (await summaries.SendSummariesAsync(CancellationToken.None)).ShouldBe(0, "sent once");
    }
}

/// <summary>Quiet hours as a pure rule: within a day, and wrapping midnight into the next day.</summary>
public sealed class QuietHoursTests
{
    private static readonly DateTime Friday = new(2026, 12, 4, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(0, 23, true)]   // Friday 23:00: the evening part of Friday's period
    [InlineData(1, 5, true)]    // Saturday 05:00: the morning part of Friday's period
    [InlineData(1, 6, false)]   // Saturday 06:00: ended
    [InlineData(1, 23, false)]  // Saturday evening: Saturday is not a quiet day
    [InlineData(0, 5, false)]   // Friday 05:00: Thursday's period, and Thursday is not a quiet day
    [InlineData(0, 12, false)]
    public void Contains_WrappingMidnight_BelongsToTheDayItStarts(int day, int hour, bool quiet) =>
        new QuietHours(22 * 60, 6 * 60, new HashSet<DayOfWeek> { DayOfWeek.Friday }, TimeZoneInfo.Utc)
            .Contains(Friday.AddDays(day).AddHours(hour)).ShouldBe(quiet);

    [Fact]
    public void Contains_InTheSchoolsZone_NotUtc()
    {
        var chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        var hours = new QuietHours(12 * 60, 13 * 60, new HashSet<DayOfWeek> { DayOfWeek.Friday }, chicago);

        hours.Contains(Friday.AddHours(18).AddMinutes(30)).ShouldBeTrue("12:30 in Chicago in December is 18:30 UTC");
        hours.Contains(Friday.AddHours(12).AddMinutes(30)).ShouldBeFalse();
    }
}
