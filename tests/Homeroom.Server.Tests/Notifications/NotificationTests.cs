using System.Buffers;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Notifications;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServices = SmtpServer.ComponentModel.ServiceProvider;

namespace Homeroom.Server.Tests.Notifications;

/// <summary>
/// The notifier end to end: an out-of-bounds alert reaches the live connections of the staff whose scope
/// covers the device and no others, acknowledging resolves it, a school's settings are validated and
/// guarded, and e-mail (a real SMTP server on loopback) and webhooks (a loopback Kestrel endpoint,
/// signature checked) go out as the settings ask.
/// </summary>
public abstract class NotificationTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = HomeroomHost.Timeout;

    protected HomeroomHost Host { get; private set; } = null!;

    private Guid _north, _south;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider, "Homeroom:Notifications:RetryDelay=00:00:00.1");
        _north = await SchoolAsync("North " + Guid.NewGuid().ToString("N")[..6]);
        _south = await SchoolAsync("South " + Guid.NewGuid().ToString("N")[..6]);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> SchoolAsync(string name) =>
        (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name, timeZone = "UTC" })).GetProperty("id").GetGuid();

    private async Task<Guid> DeviceInAsync(Guid school)
    {
        var token = await Host.CreateTokenAsync(schoolId: school);
        return (await Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10])).DeviceId;
    }

    private static StaffScope Staff(StaffRole role, Guid? school) => new(Guid.NewGuid(), role + "-" + school, "Staff", role, school, null);

    private void LeaveBounds(Guid device) => Host.GetService<AlertService>().Report(new BoundsReport(device, true, null, 47.62, -122.3));

    private void ComeBack(Guid device) => Host.GetService<AlertService>().Report(new BoundsReport(device, false, null, 47.60, -122.3));

    private static async Task<NotificationUpdate> NextAsync(NotificationSubscription subscription) =>
        await subscription.Updates.ReadAsync().AsTask().WaitAsync(Wait);

    private Task<HttpResponseMessage> PutSettingsAsync(HttpClient client, Guid school, object body) =>
        client.PutAsJsonAsync(new Uri($"/api/schools/{school}/notifications", UriKind.Relative), body, HomeroomHost.Json).WaitAsync(Wait);

    [Fact]
    public async Task Publish_OutOfBoundsAlert_ReachesOnlyStaffWhoseScopeCoversTheDevice_AndAcknowledgingResolvesIt()
    {
        var notifier = Host.GetService<Notifier>();
        using var northAdmin = notifier.Subscribe(Staff(StaffRole.SchoolAdmin, _north));
        using var district = notifier.Subscribe(Staff(StaffRole.DistrictAdmin, null));
        using var southAdmin = notifier.Subscribe(Staff(StaffRole.SchoolAdmin, _south));
        using var northTeacher = notifier.Subscribe(Staff(StaffRole.Teacher, _north));
        using var northReadOnly = notifier.Subscribe(Staff(StaffRole.ReadOnly, _north));
        var device = await DeviceInAsync(_north);

        LeaveBounds(device);

        var raised = await NextAsync(northAdmin);
        raised.Change.ShouldBe(NotificationChange.Raised);
        raised.Notification.Kind.ShouldBe(NotificationKinds.OutOfBounds);
        raised.Notification.DeviceId.ShouldBe(device);
        raised.Notification.SchoolId.ShouldBe(_north);
        raised.Notification.Link.ShouldBe($"/alerts/{raised.Notification.SubjectId}");
        (await NextAsync(district)).Notification.SubjectId.ShouldBe(raised.Notification.SubjectId);
        // The fan-out offers each change to every connection in one pass: what the others did not get by now, they never get.
        southAdmin.Updates.TryRead(out _).ShouldBeFalse("another school's admin is told nothing");
        northTeacher.Updates.TryRead(out _).ShouldBeFalse("a teacher may not read alerts");
        northReadOnly.Updates.TryRead(out _).ShouldBeFalse("read-only staff may not read alerts");

        ComeBack(device);
        var back = await NextAsync(northAdmin);
        back.Change.ShouldBe(NotificationChange.Updated);
        back.Notification.Severity.ShouldBe(NotificationSeverity.Info);
        back.Notification.Title.ShouldContain("back in bounds");

        using (var ack = await Host.PostJsonAsync($"/api/alerts/{raised.Notification.SubjectId}/acknowledge", new { note = "Seen" }))
        {
            ack.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var resolved = await NextAsync(northAdmin);
        resolved.Change.ShouldBe(NotificationChange.Resolved);
        resolved.Notification.SubjectId.ShouldBe(raised.Notification.SubjectId);
        southAdmin.Updates.TryRead(out _).ShouldBeFalse();
    }

    [Fact]
    public async Task Subscribe_Disposed_StopsListeningAndCompletes()
    {
        var notifier = Host.GetService<Notifier>();
        var before = notifier.SubscriberCount;
        var subscription = notifier.Subscribe(Staff(StaffRole.SchoolAdmin, _north));
        notifier.SubscriberCount.ShouldBe(before + 1);

        subscription.Dispose();

        notifier.SubscriberCount.ShouldBe(before);
        await subscription.Updates.Completion.WaitAsync(Wait);
    }

    [Fact]
    public async Task Subscribe_ConnectionThatNeverReads_DoesNotHoldUpOthers()
    {
        var notifier = Host.GetService<Notifier>();
        using var stuck = notifier.Subscribe(Staff(StaffRole.DistrictAdmin, null));
        using var reader = notifier.Subscribe(Staff(StaffRole.DistrictAdmin, null));
        var subject = Guid.NewGuid();

        // Far more than a connection's queue holds: the stuck one keeps only the newest, the publisher never waits.
        for (var i = 0; i < Notifier.SubscriberQueueLength * 4; i++)
        {
            notifier.Update(new Notification(NotificationKinds.OutOfBounds, NotificationSeverity.Info, subject, _north, null, $"n{i}", "t", "/alerts", DateTime.UtcNow, Permission.ReadAlerts));
        }

        stuck.Updates.Count.ShouldBe(Notifier.SubscriberQueueLength);
        stuck.Updates.TryPeek(out var oldest).ShouldBeTrue();
        oldest!.Notification.Title.ShouldBe($"n{Notifier.SubscriberQueueLength * 3}");
        (await NextAsync(reader)).Notification.Title.ShouldBe($"n{Notifier.SubscriberQueueLength * 3}");
    }

    [Fact]
    public async Task Update_TooManyOrTooLong_Answers400()
    {
        var addresses = Enumerable.Range(0, NotificationSettingsDirectory.MaxEmailAddresses + 1).Select(i => $"a{i}@example.org").ToArray();
        using (var many = await PutSettingsAsync(Host.Client, _north, new { emailKinds = new[] { "outOfBounds" }, emailAddresses = addresses }))
        {
            many.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        using var longUrl = await PutSettingsAsync(Host.Client, _north, new { webhookKinds = new[] { "outOfBounds" }, webhookUrl = "https://hooks.example.org/" + new string('x', NotificationSettingsDirectory.MaxWebhookUrlLength) });
        longUrl.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Update_BySchoolAdmin_OwnSchoolOnly_SecretShownOnce_AndAudited()
    {
        using var northAdmin = await Host.SignInAsNewAccountAsync("north-admin", "schoolAdmin", schoolId: _north);
        using var southAdmin = await Host.SignInAsNewAccountAsync("south-admin", "schoolAdmin", schoolId: _south);
        using var safety = await Host.SignInAsNewAccountAsync("north-safety", "safetyLead", schoolId: _north);
        var body = new { emailKinds = new[] { "outOfBounds" }, emailAddresses = new[] { "office@north.example.org" }, webhookUrl = "https://hooks.example.org/homeroom", webhookKinds = new[] { "outOfBounds" } };

        using (var other = await PutSettingsAsync(southAdmin, _north, body))
        {
            other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using (var refused = await PutSettingsAsync(safety, _north, body))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        string secret;
        using (var saved = await PutSettingsAsync(northAdmin, _north, body))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
            var json = await saved.Content.ReadFromJsonAsync<JsonElement>();
            secret = json.GetProperty("webhookSecret").GetString()!;
            secret.ShouldStartWith("whsec_");
            json.GetProperty("settings").GetProperty("emailAddresses")[0].GetString().ShouldBe("office@north.example.org");
        }

        var read = await northAdmin.GetStringAsync(new Uri($"/api/schools/{_north}/notifications", UriKind.Relative));
        read.ShouldNotContain(secret);
        JsonDocument.Parse(read).RootElement.GetProperty("hasWebhookSecret").GetBoolean().ShouldBeTrue();

        using (var again = await PutSettingsAsync(northAdmin, _north, body))
        {
            (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("webhookSecret").ValueKind.ShouldBe(JsonValueKind.Null);
        }

        using (var rotated = await PutSettingsAsync(northAdmin, _north, new { body.emailKinds, body.emailAddresses, body.webhookUrl, body.webhookKinds, rotateWebhookSecret = true }))
        {
            (await rotated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("webhookSecret").GetString().ShouldNotBe(secret);
        }

        var audit = await Host.GetJsonAsync<JsonElement>("/api/audit?action=notifications.update");
        audit.GetProperty("total").GetInt32().ShouldBe(3);
        var entry = audit.GetProperty("items")[0];
        entry.GetProperty("actorName").GetString().ShouldBe("north-admin");
        entry.GetProperty("details").GetString()!.ShouldNotContain("whsec_");
        (await Host.Client.GetStringAsync(new Uri("/api/audit?action=notifications.update", UriKind.Relative))).ShouldNotContain(secret);
    }

    [Fact]
    public async Task OutOfBoundsAlert_WebhookConfigured_PostsSignedJson_RetryingAfterAFailure()
    {
        var received = new TaskCompletionSource<(string Body, string Signature, string Event)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Increment(ref calls) == 1)
            {
                return Results.StatusCode(503); // the first call fails: the sender tries again
            }

            received.TrySetResult((body, request.Headers[WebhookSender.SignatureHeader].ToString(), request.Headers[WebhookSender.EventHeader].ToString()));
            return Results.NoContent();
        });
        await receiver.StartAsync();
        var url = receiver.Urls.First() + "/hook";

        using var saved = await PutSettingsAsync(Host.Client, _north, new { webhookUrl = url, webhookKinds = new[] { "outOfBounds" } });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        var secret = (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("webhookSecret").GetString()!;
        var device = await DeviceInAsync(_north);

        LeaveBounds(device);

        var (body, signature, kind) = await received.Task.WaitAsync(Wait);
        kind.ShouldBe("outOfBounds");
        var parts = signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        parts["v1"].ShouldBe(WebhookSender.Sign(secret, parts["t"], body));
        parts["v1"].ShouldNotBe(WebhookSender.Sign(secret + "x", parts["t"], body));
        var json = JsonDocument.Parse(body).RootElement;
        json.GetProperty("deviceId").GetGuid().ShouldBe(device);
        json.GetProperty("schoolId").GetGuid().ShouldBe(_north);
        json.GetProperty("severity").GetString().ShouldBe("high");
        json.GetProperty("link").GetString()!.ShouldStartWith("/alerts/");
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/schools/{_north}/notifications")).GetProperty("lastWebhook").ValueKind == JsonValueKind.Object);
        var last = (await Host.GetJsonAsync<JsonElement>($"/api/schools/{_north}/notifications")).GetProperty("lastWebhook");
        last.GetProperty("succeeded").GetBoolean().ShouldBeTrue();
        last.GetProperty("result").GetString()!.ShouldContain("attempt 2");
    }

    [Fact]
    public async Task OutOfBoundsAlert_WebhookAlwaysFailing_RecordsTheFailureOnTheSettings()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", () => Results.StatusCode(500));
        await receiver.StartAsync();

        using var saved = await PutSettingsAsync(Host.Client, _north, new { webhookUrl = receiver.Urls.First() + "/hook", webhookKinds = new[] { "outOfBounds" } });
        saved.StatusCode.ShouldBe(HttpStatusCode.OK);
        LeaveBounds(await DeviceInAsync(_north));

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/schools/{_north}/notifications")).GetProperty("lastWebhook").ValueKind == JsonValueKind.Object);
        var last = (await Host.GetJsonAsync<JsonElement>($"/api/schools/{_north}/notifications")).GetProperty("lastWebhook");
        last.GetProperty("succeeded").GetBoolean().ShouldBeFalse();
        last.GetProperty("result").GetString()!.ShouldContain("HTTP 500");
    }
}

/// <summary>The same, with an SMTP relay: a real SMTP server (SmtpServer) on a loopback port.</summary>
public abstract class NotificationEmailTests(DatabaseProvider provider) : IAsyncLifetime
{
    private readonly CapturingStore _store = new();
    private readonly CancellationTokenSource _stopSmtp = new();
    private readonly int _port = FreePort();
    private Task? _smtp;

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
            "Homeroom:Notifications:RetryDelay=00:00:00.2");
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

    [Fact]
    public async Task OutOfBoundsAlert_EmailConfigured_SendsOneMailToTheSchoolsAddresses()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Mail school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        var other = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Quiet school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        using (var saved = await Host.Client.PutAsJsonAsync(new Uri($"/api/schools/{school}/notifications", UriKind.Relative),
            new { emailKinds = new[] { "outOfBounds" }, emailAddresses = new[] { "office@mail.example.org", "safety@mail.example.org" } }, HomeroomHost.Json))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        var quietDevice = (await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: other), "SN-QUIET-1")).DeviceId;
        var device = (await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-MAIL-1")).DeviceId;
        var alerts = Host.GetService<AlertService>();

        alerts.Report(new BoundsReport(quietDevice, true, null, 47.62, -122.3)); // a school without settings: no mail
        alerts.Report(new BoundsReport(device, true, null, 47.62, -122.3));

        var message = await _store.Messages.Reader.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        message.To.Mailboxes.Select(m => m.Address).Order().ShouldBe(["office@mail.example.org", "safety@mail.example.org"]);
        message.From.Mailboxes.Single().Address.ShouldBe("homeroom@district.example.org");
        message.Subject!.ShouldContain("SN-MAIL-1");
        message.TextBody!.ShouldContain("https://homeroom.example.org/alerts/");
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/schools/{school}/notifications")).GetProperty("lastEmail").ValueKind == JsonValueKind.Object);
        var settings = await Host.GetJsonAsync<JsonElement>($"/api/schools/{school}/notifications");
        settings.GetProperty("emailEnabled").GetBoolean().ShouldBeTrue();
        settings.GetProperty("lastEmail").GetProperty("succeeded").GetBoolean().ShouldBeTrue();
        // Both alerts were handled in order before the delivery was recorded; the quiet school's produced no second message.
        _store.Messages.Reader.TryRead(out _).ShouldBeFalse();
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

/// <summary>Refused settings save nothing, so these cases share one server (<see cref="SharedHost"/>); none is ever saved, so none is counted.</summary>
public abstract class NotificationValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("""{"emailKinds":["outOfBounds"],"emailAddresses":[]}""", "emailAddresses")]
    [InlineData("""{"emailKinds":["outOfBounds"],"emailAddresses":["not an address"]}""", "emailAddresses")]
    [InlineData("""{"emailKinds":["outOfBounds"],"emailAddresses":["Office <office@example.org>"]}""", "emailAddresses")]
    [InlineData("""{"emailKinds":["outOfBounds"],"emailAddresses":["a@example.org","A@example.org"]}""", "emailAddresses")]
    [InlineData("""{"emailKinds":["nonsense"],"emailAddresses":["a@example.org"]}""", "emailKinds")]
    [InlineData("""{"webhookKinds":["outOfBounds"]}""", "webhookUrl")]
    [InlineData("""{"webhookKinds":["outOfBounds"],"webhookUrl":"http://hooks.example.org/x"}""", "webhookUrl")]
    [InlineData("""{"webhookKinds":["outOfBounds"],"webhookUrl":"ftp://hooks.example.org/x"}""", "webhookUrl")]
    [InlineData("""{"webhookKinds":["outOfBounds"],"webhookUrl":"https://user:pw@hooks.example.org/x"}""", "webhookUrl")]
    [InlineData("""{"webhookKinds":["outOfBounds"],"webhookUrl":"/relative"}""", "webhookUrl")]
    [InlineData("""{"webhookKinds":["nope"],"webhookUrl":"https://hooks.example.org/x"}""", "webhookKinds")]
    public async Task Update_InvalidSettings_Answers400_AndSavesNothing(string json, string field)
    {
        var north = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" })).GetProperty("id").GetGuid();

        using var response = await Host.Client.PutAsync(new Uri($"/api/schools/{north}/notifications", UriKind.Relative),
            new StringContent(json, System.Text.Encoding.UTF8, "application/json")).WaitAsync(HomeroomHost.Timeout);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(problem.ToString());
        var saved = await Host.GetJsonAsync<JsonElement>($"/api/schools/{north}/notifications");
        saved.GetProperty("updatedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=notifications.update")).GetProperty("total").GetInt32().ShouldBe(0);
    }
}

public sealed class NotificationSqliteTests() : NotificationTests(DatabaseProvider.Sqlite);

public sealed class NotificationPostgresTests() : NotificationTests(DatabaseProvider.Postgres);

public sealed class NotificationEmailSqliteTests() : NotificationEmailTests(DatabaseProvider.Sqlite);

public sealed class NotificationEmailPostgresTests() : NotificationEmailTests(DatabaseProvider.Postgres);

public sealed class NotificationValidationSqliteTests(SharedSqliteHost shared) : NotificationValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class NotificationValidationPostgresTests(SharedPostgresHost shared) : NotificationValidationTests(shared), IClassFixture<SharedPostgresHost>;
