using System.Buffers;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServices = SmtpServer.ComponentModel.ServiceProvider;

namespace Homeroom.Server.Tests.Safety;

/// <summary>
/// Student safety end to end: signals over a real agent WebSocket are scanned, a match raises one
/// alert (repeats grow it), a non-match leaves nothing behind, the policy gate and the per-device budget
/// hold, bad frames close 4400 with nothing stored, screenshots round-trip, only safety leads of the
/// school (and district administrators) read alerts and every read is audited, imminent alerts escalate
/// on the fake clock and go out by e-mail (a real SMTP server on loopback), and retention deletes
/// closed cases.
/// </summary>
public abstract partial class SafetyTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string Imminent = SafetyTestText.Imminent;
    private const string Harmless = "what time is the math test tomorrow";

    private readonly CapturingStore _store = new();
    private readonly CancellationTokenSource _stopSmtp = new();
    private readonly int _port = FreePort();
    private Task? _smtp;
    private Guid _north, _south, _student;

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, _port))).Build();
        var services = new SmtpServices();
        services.Add(_store);
        _smtp = new SmtpServerHost(options, services).StartAsync(_stopSmtp.Token);
        Host = await HomeroomHost.StartAsync(provider,
            "Homeroom:Notifications:Smtp:Host=127.0.0.1", $"Homeroom:Notifications:Smtp:Port={_port}", "Homeroom:Notifications:Smtp:Security=none",
            "Homeroom:Notifications:Smtp:From=Homeroom <homeroom@district.example.org>", "Homeroom:Notifications:PublicUrl=https://homeroom.example.org",
            "Homeroom:Notifications:RetryDelay=00:00:00.2", "Homeroom:Notifications:Senders=1",
            "Homeroom:Safety:SignalBurst=10", "Homeroom:Safety:SignalsPerMinute=1",
            "Homeroom:Safety:EscalationContacts:0=district-safety@mail.example.org");
        _north = await SchoolAsync("North " + Guid.NewGuid().ToString("N")[..6]);
        _south = await SchoolAsync("South " + Guid.NewGuid().ToString("N")[..6]);
        _student = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Sam", familyName = "Rivera", schoolId = _north }))
            .GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await _stopSmtp.CancelAsync();
        try
        {
            await _smtp!.WaitAsync(HomeroomHost.Timeout);
        }
        catch (OperationCanceledException)
        {
        }

        _stopSmtp.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<Guid> SchoolAsync(string name) =>
        (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name, timeZone = "UTC" })).GetProperty("id").GetGuid();

    /// <summary>A school profile with these safety settings, assigned to the school.</summary>
    private async Task PolicyAsync(Guid school, object settings)
    {
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety " + Guid.NewGuid().ToString("N")[..6], schoolId = school, settings }))
            .GetProperty("id").GetGuid();
        using var assigned = await Host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = school.ToString() });
        assigned.StatusCode.ShouldBe(HttpStatusCode.Created, await assigned.Content.ReadAsStringAsync());
    }

    private Task MonitoredAsync(Guid school, bool screenshots = false) =>
        PolicyAsync(school, new { safety = new { atHome = true, screenshots } });

    /// <summary>A connected agent of a device in the school, assigned to the student (welcome read).</summary>
    private async Task<TestAgent> AgentAsync(Guid school, Guid? student = null)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10]);
        if (student is { } person)
        {
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{enrolled.DeviceId}", new { assignedPersonId = person })).EnsureSuccessStatusCode();
        }

        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    private static long _batch;

    private static SignalsFrame Signals(params string[] texts) => new(
        Interlocked.Increment(ref _batch),
        texts.Select(t => new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, t, "https://www.google.com/search?q=x")).ToList());

    private static async Task<SignalsAckFrame> SendAsync(TestAgent agent, SignalsFrame frame)
    {
        await agent.SendAsync(frame);
        var ack = await agent.ExpectAsync<SignalsAckFrame>();
        ack.Batch.ShouldBe(frame.Batch);
        return ack;
    }

    private async Task<T> DbAsync<T>(Func<HomeroomDbContext, Task<T>> query)
    {
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    private Task<List<SafetyAlert>> AlertsOfAsync(Guid device) =>
        DbAsync(db => db.Set<SafetyAlert>().AsNoTracking().Where(a => a.DeviceId == device).ToListAsync());

    private Task<int> StoredCountAsync() =>
        DbAsync(async db => await db.Set<SafetyAlert>().CountAsync() + await db.Set<SafetyEvidence>().CountAsync() + await db.Set<SafetyCaseEvent>().CountAsync());

    [Fact]
    public async Task Signals_MatchingText_RaisesAlertWithEvidenceForTheStudent()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);

        var ack = await SendAsync(agent, Signals(Harmless, Imminent));

        ack.Dropped.ShouldBeNull();
        var alert = (await AlertsOfAsync(agent.DeviceId)).ShouldHaveSingleItem();
        alert.PersonId.ShouldBe(_student);
        alert.SchoolId.ShouldBe(_north);
        alert.Category.ShouldBe("selfHarm");
        alert.SeverityRank.ShouldBeGreaterThanOrEqualTo(3, "an intent to kill oneself tonight is high or imminent");
        alert.Status.ShouldBe(SafetyStatuses.New);
        alert.Count.ShouldBe(1);
        var evidence = (await DbAsync(db => db.Set<SafetyEvidence>().AsNoTracking().Where(e => e.AlertId == alert.Id).ToListAsync())).ShouldHaveSingleItem();
        evidence.Excerpt.ShouldBe(Imminent);
        evidence.Source.ShouldBe("search");
        evidence.Url.ShouldBe("https://www.google.com/search?q=x");
        var explanation = JsonDocument.Parse(evidence.ExplanationJson).RootElement;
        var match = explanation.GetProperty("matches")[0];
        Imminent.Substring(match.GetProperty("start").GetInt32(), match.GetProperty("length").GetInt32()).ShouldBe(match.GetProperty("text").GetString());
        // The harmless signal of the same frame left nothing behind.
        (await DbAsync(db => db.Set<SafetyEvidence>().CountAsync(e => e.Excerpt.Contains("math")))).ShouldBe(0);
    }

    [Fact]
    public async Task Signals_NothingMatches_StoresNothing()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);

        await SendAsync(agent, Signals(Harmless, "Photosynthesis - Wikipedia", "how do volcanoes erupt"));

        (await StoredCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task Signals_RepeatedWithinWindow_GroupIntoOneAlert()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);

        await SendAsync(agent, Signals(Imminent));
        await SendAsync(agent, Signals(Imminent, Imminent));
        Host.Clock.Advance(TimeSpan.FromHours(2));
        await SendAsync(agent, Signals(Imminent));

        var alert = (await AlertsOfAsync(agent.DeviceId)).ShouldHaveSingleItem();
        alert.Count.ShouldBe(4);
        alert.LastSeenAt.ShouldBeGreaterThan(alert.FirstSeenAt);
        (await DbAsync(db => db.Set<SafetyEvidence>().CountAsync(e => e.AlertId == alert.Id))).ShouldBe(4);

        // After the group window a repeat is a new alert.
        Host.Clock.Advance(TimeSpan.FromHours(25));
        await SendAsync(agent, Signals(Imminent));
        (await AlertsOfAsync(agent.DeviceId)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task Signals_BatchResentAfterALostAcknowledgement_CountsOnce()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        var batch = Signals(Imminent, Imminent + " please");

        await SendAsync(agent, batch);
        var before = await StoredCountAsync();
        await SendAsync(agent, batch);

        (await StoredCountAsync()).ShouldBe(before, "a resent batch adds no evidence and no history");
        var alerts = await AlertsOfAsync(agent.DeviceId);
        alerts.Sum(a => a.Count).ShouldBe(2);

        // A new signal with the same text is news.
        await SendAsync(agent, Signals(Imminent));
        (await AlertsOfAsync(agent.DeviceId)).Sum(a => a.Count).ShouldBe(3);
    }

    [Fact]
    public async Task Signals_PolicyGateOff_StoresNothing()
    {
        await PolicyAsync(_north, new { monitoring = new { safety = false }, safety = new { atHome = true } });
        await using var off = await AgentAsync(_north, _student);
        // South keeps the defaults: safety on, but not at home, and the device is in no school zone.
        await using var away = await AgentAsync(_south);

        await SendAsync(off, Signals(Imminent));
        await SendAsync(away, Signals(Imminent));

        (await StoredCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task Signals_FloodFromOneDevice_IsCutToItsBudget_WhileAnotherDevicesAlertStillArrives()
    {
        await MonitoredAsync(_north);
        await using var flooding = await AgentAsync(_north, _student);
        await using var quiet = await AgentAsync(_north);

        var flood = await SendAsync(flooding, Signals(Enumerable.Repeat(Imminent, ProtocolLimits.MaxSignalsPerFrame).ToArray()));
        var again = await SendAsync(flooding, Signals(Imminent));
        var other = await SendAsync(quiet, Signals(Imminent));

        flood.Dropped.ShouldBe(ProtocolLimits.MaxSignalsPerFrame - 10, "a burst of 10 is allowed");
        again.Dropped.ShouldBe(1);
        other.Dropped.ShouldBeNull();
        (await AlertsOfAsync(flooding.DeviceId)).ShouldHaveSingleItem().Count.ShouldBe(10);
        (await AlertsOfAsync(quiet.DeviceId)).ShouldHaveSingleItem().Count.ShouldBe(1);
    }

    [Fact]
    public async Task Screenshot_PolicyAllows_RoundTripsToTheCase()
    {
        await MonitoredAsync(_north, screenshots: true);
        await using var agent = await AgentAsync(_north, _student);
        using var lead = await Host.SignInAsNewAccountAsync("lead-shot", "safetyLead", schoolId: _north);

        await SendAsync(agent, Signals(Imminent));
        var capture = await agent.ExpectAsync<SafetyCaptureFrame>();
        byte[] image = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];
        await agent.SendRawAsync(SafetyScreenshotFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, capture.CaptureId, image), WebSocketMessageType.Binary);
        // A screenshot nobody asked for is dropped and the connection stays open.
        await agent.SendRawAsync(SafetyScreenshotFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, Guid.NewGuid(), image), WebSocketMessageType.Binary);
        await Poll.UntilAsync(async () => await DbAsync(db => db.Set<SafetyScreenshot>().AnyAsync(s => s.Id == capture.CaptureId)));

        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();
        var found = await lead.GetFromJsonAsync<JsonElement>($"/api/safety/alerts/{alert.Id}");
        var shot = found.GetProperty("evidence")[0].GetProperty("screenshotId").GetGuid();
        shot.ShouldBe(capture.CaptureId);
        using var response = await lead.GetAsync($"/api/safety/alerts/{alert.Id}/screenshots/{shot}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
        (await response.Content.ReadAsByteArrayAsync()).ShouldBe(image);
        (await DbAsync(db => db.Set<SafetyScreenshot>().CountAsync())).ShouldBe(1);
        agent.State.ShouldBe(WebSocketState.Open);
    }

    [Fact]
    public async Task Screenshot_IsNotAskedOfAnAgentThatSaysItCannotTakeOne_AndIsOnceItCan()
    {
        await MonitoredAsync(_north, screenshots: true);
        await using var agent = await AgentAsync(_north, _student);
        var live = Host.GetService<Homeroom.Server.Devices.DeviceLiveState>();
        await agent.SendAsync(new InventoryFrame("Windows", "11", null, null, null, null, null, [new AgentCapability(CapabilityNames.SafetyScreenshot, false, "no user-session helper is connected")]));
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(agent.DeviceId) is [{ Available: false }]));

        await SendAsync(agent, Signals(Imminent));

        (await agent.NothingOfTypeAsync<SafetyCaptureFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue();
        (await DbAsync(db => db.Set<SafetyEvidence>().Where(e => db.Set<SafetyAlert>().Any(a => a.Id == e.AlertId && a.DeviceId == agent.DeviceId)).Select(e => e.CaptureId).ToListAsync())).ShouldBe([null]);

        // A helper connects: the agent says so, and the next signal's evidence is asked for a screenshot.
        await agent.SendAsync(new InventoryFrame("Windows", "11", null, null, null, null, null, [new AgentCapability(CapabilityNames.SafetyScreenshot, true)]));
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(agent.DeviceId) is [{ Available: true }]));
        await SendAsync(agent, Signals(Imminent));

        var capture = await agent.ExpectAsync<SafetyCaptureFrame>();
        (await DbAsync(db => db.Set<SafetyEvidence>().CountAsync(e => e.CaptureId == capture.CaptureId))).ShouldBe(1);
    }

    [Fact]
    public async Task ReadAlert_OnlySafetyLeadsOfTheSchoolAndDistrictAdmins_AndEveryReadIsAudited()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();
        using var lead = await Host.SignInAsNewAccountAsync("lead-north", "safetyLead", schoolId: _north);
        using var southLead = await Host.SignInAsNewAccountAsync("lead-south", "safetyLead", schoolId: _south);
        using var technician = await Host.SignInAsNewAccountAsync("it-north", "itTechnician", schoolId: _north);
        using var teacher = await Host.SignInAsNewAccountAsync("teacher-north", "teacher", schoolId: _north);
        using var schoolAdmin = await Host.SignInAsNewAccountAsync("admin-north", "schoolAdmin", schoolId: _north);

        (await southLead.GetAsync($"/api/safety/alerts/{alert.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await technician.GetAsync($"/api/safety/alerts/{alert.Id}")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await teacher.GetAsync($"/api/safety/alerts/{alert.Id}")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await schoolAdmin.GetAsync("/api/safety/alerts")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await southLead.GetFromJsonAsync<JsonElement>("/api/safety/alerts")).GetProperty("total").GetInt32().ShouldBe(0);
        (await DbAsync(db => db.AuditLog.CountAsync(e => e.Action == "safety.alert.read"))).ShouldBe(0, "refused reads read nothing");

        var found = await lead.GetFromJsonAsync<JsonElement>($"/api/safety/alerts/{alert.Id}");
        var queue = await lead.GetFromJsonAsync<JsonElement>("/api/safety/alerts?status=new");

        found.GetProperty("alert").GetProperty("studentName").GetString().ShouldBe("Sam Rivera");
        found.GetProperty("evidence")[0].GetProperty("excerpt").GetString().ShouldBe(Imminent);
        queue.GetProperty("items")[0].GetProperty("id").GetGuid().ShouldBe(alert.Id);
        var reads = await DbAsync(db => db.AuditLog.AsNoTracking().Where(e => e.Action.StartsWith("safety.")).ToListAsync());
        reads.ShouldContain(e => e.Action == "safety.alert.read" && e.TargetId == alert.Id.ToString() && e.ActorName == "lead-north" && e.SchoolId == _north);
        reads.ShouldContain(e => e.Action == "safety.queue.read" && e.ActorName == "lead-north");
    }

    [Fact]
    public async Task CaseWorkflow_AssignNoteAndFalsePositiveWithDemotion_IsRecordedAndReversible()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();
        using var lead = await Host.SignInAsNewAccountAsync("lead-case", "safetyLead", schoolId: _north);
        var leadId = (await lead.GetFromJsonAsync<JsonElement>("/api/auth/me")).GetProperty("id").GetGuid();

        (await lead.PostAsJsonAsync($"/api/safety/alerts/{alert.Id}/assign", new { accountId = leadId })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await lead.PostAsJsonAsync($"/api/safety/alerts/{alert.Id}/notes", new { text = "Called the family." })).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await lead.PostAsJsonAsync($"/api/safety/alerts/{alert.Id}/status", new { status = "closed" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        // The lexicon is the district's: a school's safety lead may not demote a phrase.
        (await lead.PostAsJsonAsync($"/api/safety/alerts/{alert.Id}/status", new { status = "falsePositive", demote = "tonight" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using (var marked = await Host.PostJsonAsync($"/api/safety/alerts/{alert.Id}/status", new { status = "falsePositive", note = "A song lyric.", demote = "tonight", demoteFactor = 0.01 }))
        {
            marked.StatusCode.ShouldBe(HttpStatusCode.OK, await marked.Content.ReadAsStringAsync());
        }

        var history = await lead.GetFromJsonAsync<JsonElement>($"/api/safety/alerts/{alert.Id}/history");
        history.EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ShouldBe(["created", "assigned", "note", "status", "demotion"]);
        var closed = (await AlertsOfAsync(agent.DeviceId)).Single();
        closed.Status.ShouldBe(SafetyStatuses.FalsePositive);
        closed.ClosedAt.ShouldNotBeNull();
        closed.AssignedToId.ShouldBe(leadId);
        var adjustments = await Host.GetJsonAsync<JsonElement>("/api/safety/lexicon/adjustments");
        var demotion = adjustments.EnumerateArray().Single(a => a.GetProperty("alertId").GetGuid() == alert.Id);
        demotion.GetProperty("kind").GetString().ShouldBe("demotion");
        demotion.GetProperty("context").GetString().ShouldBe("tonight");

        // The phrase near that context now weighs a hundredth for the district, visibly; removing the demotion restores it.
        var demoted = await PhraseMatchAsync(closed.Phrase);
        demoted.GetProperty("context").EnumerateArray().ShouldContain(c => c.GetProperty("isDemotion").GetBoolean() && c.GetProperty("phrase").GetString() == "tonight");
        (await Host.Client.DeleteAsync($"/api/safety/lexicon/adjustments/{demotion.GetProperty("id").GetGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var restored = await PhraseMatchAsync(closed.Phrase);
        restored.GetProperty("context").EnumerateArray().ShouldNotContain(c => c.GetProperty("isDemotion").GetBoolean());
        demoted.GetProperty("weight").GetDouble().ShouldBe(restored.GetProperty("weight").GetDouble() * 0.01, 1e-9);
    }

    private async Task<JsonElement> PhraseMatchAsync(string phrase)
    {
        var result = await Host.PostJsonAsync<JsonElement>("/api/safety/scan", new { text = Imminent });
        return result.GetProperty("verdict").GetProperty("matches").EnumerateArray().First(m => m.GetProperty("phrase").GetString() == phrase);
    }

    [Fact]
    public async Task Scan_Tester_ExplainsWithoutStoring_AndRefusesTooLongText()
    {
        using var schoolAdmin = await Host.SignInAsNewAccountAsync("admin-scan", "schoolAdmin", schoolId: _north);

        var result = await (await schoolAdmin.PostAsJsonAsync("/api/safety/scan", new { text = Imminent })).Content.ReadFromJsonAsync<JsonElement>();
        using var tooLong = await schoolAdmin.PostAsJsonAsync("/api/safety/scan", new { text = new string('a', 16_385) });

        result.GetProperty("wouldAlert").GetBoolean().ShouldBeTrue();
        result.GetProperty("verdict").GetProperty("category").GetString().ShouldBe("selfHarm");
        result.GetProperty("verdict").GetProperty("matches").GetArrayLength().ShouldBeGreaterThan(0);
        tooLong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await StoredCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task Import_MalformedList_400WithLineNumbers_AndTheLexiconIsKept()
    {
        using var bad = await Host.PostJsonAsync("/api/safety/lexicon/import", new { category = "bullying", language = "en", text = "<nobody likes you><40>\n.Include</etc/passwd>\n" });
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();

        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        problem.GetProperty("errors").GetProperty("text")[0].GetString()!.ShouldStartWith("Line 2:");
        (await Host.GetJsonAsync<JsonElement>("/api/safety/lexicon/adjustments")).GetArrayLength().ShouldBe(0);

        using var good = await Host.PostJsonAsync("/api/safety/lexicon/import", new { category = "bullying", language = "en", text = "# ours\n<nobody likes you><40>\n" });
        good.StatusCode.ShouldBe(HttpStatusCode.OK, await good.Content.ReadAsStringAsync());
        (await Host.GetJsonAsync<JsonElement>("/api/safety/lexicon/adjustments")).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Escalation_ImminentNotAcknowledged_EscalatesOnTheFakeClockAndMailsTheDistrict()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();
        // Only imminent alerts escalate: made one whatever the engine rated this text.
        await DbAsync(db => db.Set<SafetyAlert>().Where(a => a.Id == alert.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.SeverityRank, 4).SetProperty(a => a.Severity, "imminent")));

        var escalation = Host.GetService<SafetyEscalation>();
        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0, "not yet overdue");
        Host.Clock.Advance(TimeSpan.FromMinutes(16));
        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(1);

        var escalated = (await AlertsOfAsync(agent.DeviceId)).Single();
        escalated.Status.ShouldBe(SafetyStatuses.Escalated);
        escalated.EscalatedAt.ShouldNotBeNull();
        var message = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        message.To.Mailboxes.Select(m => m.Address).ShouldBe(["district-safety@mail.example.org"]);
        message.Subject!.ShouldContain("ESCALATED");
        message.TextBody!.ShouldContain($"https://homeroom.example.org/safety/alerts/{alert.Id}");
        message.TextBody!.ShouldNotContain("kill", Case.Insensitive);
        (await escalation.EscalateAsync(CancellationToken.None)).ShouldBe(0, "escalated once");
    }

    [Fact]
    public async Task Email_HighAlert_GoesToTheSchoolsSafetyAddresses()
    {
        using (var saved = await Host.Client.PutAsJsonAsync(new Uri($"/api/schools/{_north}/notifications", UriKind.Relative),
            new { emailKinds = new[] { "safety" }, emailAddresses = new[] { "counselor@mail.example.org" } }, HomeroomHost.Json))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        var alert = (await AlertsOfAsync(agent.DeviceId)).Single();

        var message = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        message.To.Mailboxes.Select(m => m.Address).ShouldBe(["counselor@mail.example.org"]);
        message.Subject!.ShouldContain("Safety alert");
        message.TextBody!.ShouldContain($"https://homeroom.example.org/safety/alerts/{alert.Id}");
    }

    [Fact]
    public async Task Retention_ClosedCasesGoAfterAYear_OpenOnesStay()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        await using var other = await AgentAsync(_north);
        await SendAsync(other, Signals(Imminent));
        var closed = (await AlertsOfAsync(agent.DeviceId)).Single();
        var open = (await AlertsOfAsync(other.DeviceId)).Single();
        (await Host.PostJsonAsync($"/api/safety/alerts/{closed.Id}/status", new { status = "resolved", note = "Support in place." })).EnsureSuccessStatusCode();
        var retention = Host.GetService<SafetyRetention>();

        Host.Clock.Advance(TimeSpan.FromDays(364));
        await retention.PurgeAsync(CancellationToken.None);
        (await AlertsOfAsync(agent.DeviceId)).Count.ShouldBe(1);
        Host.Clock.Advance(TimeSpan.FromDays(2));
        await retention.PurgeAsync(CancellationToken.None);

        (await AlertsOfAsync(agent.DeviceId)).ShouldBeEmpty();
        (await DbAsync(db => db.Set<SafetyEvidence>().CountAsync(e => e.AlertId == closed.Id))).ShouldBe(0);
        (await AlertsOfAsync(other.DeviceId)).ShouldHaveSingleItem().Id.ShouldBe(open.Id);
    }

    [Fact]
    public async Task DeleteStudentData_OnRequest_RemovesTheirAlertsAndIsAudited()
    {
        await MonitoredAsync(_north);
        await using var agent = await AgentAsync(_north, _student);
        await SendAsync(agent, Signals(Imminent));
        using var lead = await Host.SignInAsNewAccountAsync("lead-delete", "safetyLead", schoolId: _north);
        using var southLead = await Host.SignInAsNewAccountAsync("lead-delete-south", "safetyLead", schoolId: _south);

        (await southLead.DeleteAsync($"/api/safety/students/{_student}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var deleted = await (await lead.DeleteAsync($"/api/safety/students/{_student}")).Content.ReadFromJsonAsync<JsonElement>();

        deleted.GetProperty("alerts").GetInt32().ShouldBe(1);
        (await StoredCountAsync()).ShouldBe(0);
        (await DbAsync(db => db.AuditLog.CountAsync(e => e.Action == "safety.student.delete" && e.TargetId == _student.ToString()))).ShouldBe(1);
    }

    private sealed class CapturingStore : MessageStore
    {
        public System.Threading.Channels.Channel<MimeMessage> Messages { get; } = System.Threading.Channels.Channel.CreateUnbounded<MimeMessage>();

        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            Messages.Writer.TryWrite(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}

public sealed class SafetySqliteTests() : SafetyTests(DatabaseProvider.Sqlite);

public sealed class SafetyPostgresTests() : SafetyTests(DatabaseProvider.Postgres);

internal static class SafetyTestText
{
    public const string Imminent = "i want to kill myself tonight";
}

/// <summary>
/// Bad signal frames close the connection 4400 and store nothing. One server per class and provider, with the
/// safety settings of <see cref="SafetyTests"/> (each case started a server and an SMTP server before): only
/// refused frames reach it, so nothing of safety is stored on it at all, which each case checks whole.
/// </summary>
public abstract class SafetyBadFrameTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    /// <summary>SafetyTests' settings; mail points at a loopback port nothing listens on, as no refused frame sends any.</summary>
    internal static readonly string[] Settings =
    [
        "Homeroom:Notifications:Smtp:Host=127.0.0.1", "Homeroom:Notifications:Smtp:Port=9", "Homeroom:Notifications:Smtp:Security=none",
        "Homeroom:Notifications:Smtp:From=Homeroom <homeroom@district.example.org>", "Homeroom:Notifications:PublicUrl=https://homeroom.example.org",
        "Homeroom:Notifications:RetryDelay=00:00:00.2", "Homeroom:Notifications:Senders=1",
        "Homeroom:Safety:SignalBurst=10", "Homeroom:Safety:SignalsPerMinute=1",
        "Homeroom:Safety:EscalationContacts:0=district-safety@mail.example.org",
    ];

    public static TheoryData<string, string> BadFrames => new()
    {
        { "too long text", $$"""{"type":"signals","batch":1,"signals":[{"occurredAt":"2026-09-01T09:14:03+00:00","source":"typed","text":"{{SafetyTestText.Imminent}} {{new string('a', ProtocolLimits.MaxSignalTextLength)}}"}]}""" },
        { "51 signals", $$"""{"type":"signals","batch":1,"signals":[{{string.Join(",", Enumerable.Repeat($$"""{"occurredAt":"2026-09-01T09:14:03+00:00","source":"search","text":"{{SafetyTestText.Imminent}}"}""", 51))}}]}""" },
        { "bad source", $$"""{"type":"signals","batch":1,"signals":[{"occurredAt":"2026-09-01T09:14:03+00:00","source":"clipboard","text":"{{SafetyTestText.Imminent}}"}]}""" },
        { "no signals", """{"type":"signals","batch":1,"signals":[]}""" },
        { "batch zero", $$"""{"type":"signals","batch":0,"signals":[{"occurredAt":"2026-09-01T09:14:03+00:00","source":"search","text":"{{SafetyTestText.Imminent}}"}]}""" },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task Signals_BadFrame_Closes4400AndStoresNothing(string what, string json)
    {
        // A school of its own, monitored, and a student's device in it: the case's frame is the only thing it sends.
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Frames " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        var student = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Sam", familyName = "Rivera", schoolId = school })).GetProperty("id").GetGuid();
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety " + Guid.NewGuid().ToString("N")[..6], schoolId = school, settings = new { safety = new { atHome = true, screenshots = false } } }))
            .GetProperty("id").GetGuid();
        using (var assigned = await Host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = school.ToString() }))
        {
            assigned.StatusCode.ShouldBe(HttpStatusCode.Created, await assigned.Content.ReadAsStringAsync());
        }

        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10]);
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{enrolled.DeviceId}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();

        await agent.SendRawAsync(System.Text.Encoding.UTF8.GetBytes(json));

        var (code, _) = await agent.WaitForCloseAsync();
        code.ShouldBe(AgentCloseCodes.MalformedFrame, what);
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.Set<SafetyAlert>().CountAsync() + await db.Set<SafetyEvidence>().CountAsync() + await db.Set<SafetyCaseEvent>().CountAsync()).ShouldBe(0);
    }
}

public sealed class SafetyBadFrameSqliteTests(SafetyBadFrameSqliteTests.Server shared) : SafetyBadFrameTests(shared), IClassFixture<SafetyBadFrameSqliteTests.Server>
{
    public sealed class Server() : SharedHost(DatabaseProvider.Sqlite, Settings);
}

public sealed class SafetyBadFramePostgresTests(SafetyBadFramePostgresTests.Server shared) : SafetyBadFrameTests(shared), IClassFixture<SafetyBadFramePostgresTests.Server>
{
    public sealed class Server() : SharedHost(DatabaseProvider.Postgres, Settings);
}
