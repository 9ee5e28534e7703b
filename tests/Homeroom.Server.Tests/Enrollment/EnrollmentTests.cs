using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Enrollment;

public abstract class EnrollmentTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<HttpResponseMessage> PostEnrollAsync(object body)
    {
        using var client = Host.CreateClient();
        return await client.PostAsJsonAsync(new Uri("/agent/v1/enroll", UriKind.Relative), body, HomeroomHost.Json);
    }

    private async Task<int> DeviceCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32();

    [Fact]
    public async Task Enroll_ValidToken_CreatesDeviceWithItsOwnCredential()
    {
        var token = await Host.CreateTokenAsync();

        var first = await Host.EnrollAsync(token, "SERIAL-1");
        var second = await Host.EnrollAsync(token, "SERIAL-2");

        first.DeviceId.ShouldNotBe(second.DeviceId);
        first.Credential.ShouldNotBe(second.Credential);
        first.WebSocketPath.ShouldBe("/agent/v1");
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{first.DeviceId}");
        device.GetProperty("serial").GetString().ShouldBe("SERIAL-1");
        device.GetProperty("platform").GetString().ShouldBe("chromeos");
        device.GetProperty("state").GetString().ShouldBe("active");
    }

    [Fact]
    public async Task Enroll_WhileTheNodesEnrollmentTurnsAreTaken_IsAnswered503WithRetryAfter_AndEnrollsWhenTriedAgain()
    {
        await using var host = await HomeroomHost.StartAsync(provider, "Homeroom:Agents:ConcurrentEnrollments=1", "Homeroom:Agents:EnrollmentWaitSeconds=1");
        var token = await host.CreateTokenAsync(maxUses: 2);
        using var client = host.CreateClient();
        Task<HttpResponseMessage> Enroll(string serial) =>
            client.PostAsJsonAsync(new Uri("/agent/v1/enroll", UriKind.Relative), new EnrollRequest(token, DevicePlatform.ChromeOS, serial), HomeroomHost.Json);

        // Another writer holds the token's row (PostgreSQL) or the database's write lock (SQLite), so whichever
        // enrollment takes the node's one turn waits inside it; the other waits for the turn.
        var factory = host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        var holder = await factory.CreateDbContextAsync();
        var hold = await holder.Database.BeginTransactionAsync();
        await holder.Database.ExecuteSqlRawAsync("UPDATE enrollment_tokens SET name = name");
        var first = Enroll("TURN-1");
        await Task.Delay(300);
        var second = Enroll("TURN-2");

        var sentAway = await Task.WhenAny(first, second).WaitAsync(TimeSpan.FromSeconds(20));
        using (var busy = await sentAway)
        {
            busy.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
            busy.Headers.RetryAfter?.Delta.ShouldBe(TimeSpan.FromSeconds(5));
            busy.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        }

        await hold.CommitAsync();
        await hold.DisposeAsync();
        await holder.DisposeAsync();
        var other = sentAway == first ? second : first;
        using (var enrolled = await other)
        {
            enrolled.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        using (var again = await Enroll(sentAway == first ? "TURN-1" : "TURN-2"))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var devices = await host.GetJsonAsync<JsonElement>("/api/devices");
        devices.GetProperty("total").GetInt32().ShouldBe(2);
        var tokens = await host.GetJsonAsync<JsonElement>("/api/enrollment-tokens");
        tokens.GetProperty("items").EnumerateArray().Single().GetProperty("useCount").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task Enroll_SameSerialAgainWithItsCredential_ReusesTheDeviceAndReplacesTheCredential()
    {
        var token = await Host.CreateTokenAsync(maxUses: 1);
        var first = await Host.EnrollAsync(token, "SERIAL-R");
        await using var live = await TestAgent.ConnectAsync(Host.AgentUri, first.DeviceId, first.Credential);
        await live.ExpectWelcomeAsync();

        var again = await Host.EnrollAsync(token, "SERIAL-R", credential: first.Credential);

        again.DeviceId.ShouldBe(first.DeviceId);
        again.Credential.ShouldNotBe(first.Credential);
        (await DeviceCountAsync()).ShouldBe(1);
        (await live.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        await using var stale = await TestAgent.ConnectAsync(Host.AgentUri, first.DeviceId, first.Credential);
        (await stale.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        await using var fresh = await TestAgent.ConnectAsync(Host.AgentUri, again.DeviceId, again.Credential);
        (await fresh.ExpectWelcomeAsync()).DeviceId.ShouldBe(first.DeviceId);
        (await AuditCountAsync("device.reenroll")).ShouldBe(1);
    }

    [Fact]
    public async Task Enroll_AnotherSchoolsTokenWithADevicesSerial_IsRefusedAndTheRealAgentKeepsTheDevice()
    {
        var north = await CreateSchoolAsync("North High");
        var south = await CreateSchoolAsync("South Middle");
        var southDevice = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: south), "SOUTH-0042");
        await using var real = await TestAgent.ConnectAsync(Host.AgentUri, southDevice.DeviceId, southDevice.Credential);
        await real.ExpectWelcomeAsync();
        var northToken = await Host.CreateTokenAsync(schoolId: north);

        using var takeover = await PostEnrollAsync(new EnrollRequest(northToken, DevicePlatform.ChromeOS, "SOUTH-0042"));
        using var withAGuess = await PostEnrollAsync(new EnrollRequest(northToken, DevicePlatform.ChromeOS, "SOUTH-0042", Credential: "hrd_guess"));

        takeover.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        takeover.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await takeover.Content.ReadAsStringAsync()).ShouldContain("another school");
        withAGuess.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        await AssertUntouchedAsync(southDevice, real, south);
        (await AuditCountAsync("device.enroll.refused")).ShouldBe(1);
    }

    [Fact]
    public async Task Enroll_ExistingSerialWithoutProof_Answers409AndChangesNothing()
    {
        var school = await CreateSchoolAsync("North High");
        var token = await Host.CreateTokenAsync(schoolId: school);
        var enrolled = await Host.EnrollAsync(token, "SN-TAKE");
        await using var real = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await real.ExpectWelcomeAsync();

        using var noCredential = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-TAKE", Name: "attacker"));
        using var wrongCredential = await PostEnrollAsync(new EnrollRequest(await Host.CreateTokenAsync(), DevicePlatform.ChromeOS, "SN-TAKE", Credential: "hrd_" + new string('x', 43)));

        noCredential.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        noCredential.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await noCredential.Content.ReadAsStringAsync()).ShouldContain("approve");
        wrongCredential.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        await AssertUntouchedAsync(enrolled, real, school);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}")).GetProperty("name").GetString().ShouldNotBe("attacker");
    }

    [Fact]
    public async Task Enroll_RevokedDevice_StaysRevokedUntilAnAdministratorApproves()
    {
        var token = await Host.CreateTokenAsync();
        var enrolled = await Host.EnrollAsync(token, "SN-REV");
        (await Host.Client.PostAsync(new Uri($"/api/devices/{enrolled.DeviceId}/revoke", UriKind.Relative), null)).EnsureSuccessStatusCode();

        using var withOldCredential = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-REV", Credential: enrolled.Credential));
        using var withoutCredential = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-REV"));

        withOldCredential.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await withOldCredential.Content.ReadAsStringAsync()).ShouldContain("revoked");
        withoutCredential.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}")).GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);

        var approval = await Host.PostJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", new { });
        approval.GetProperty("revoked").GetBoolean().ShouldBeTrue();
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}")).GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
        var restored = await Host.EnrollAsync(token, "SN-REV");

        restored.DeviceId.ShouldBe(enrolled.DeviceId);
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}");
        device.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        device.GetProperty("reenrollmentApprovedUntil").ValueKind.ShouldBe(JsonValueKind.Null);
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, restored.DeviceId, restored.Credential);
        await agent.ExpectWelcomeAsync();
        (await AuditCountAsync("device.reenrollment.approve")).ShouldBe(1);
    }

    [Fact]
    public async Task ApproveReenrollment_AllowsOneEnrollmentWithoutCredentialWithinTheWindow()
    {
        var school = await CreateSchoolAsync("North High");
        var token = await Host.CreateTokenAsync(schoolId: school);
        var enrolled = await Host.EnrollAsync(token, "SN-WIPED");
        await using var old = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await old.ExpectWelcomeAsync();

        var approval = await Host.PostJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", new { });

        approval.GetProperty("approvedUntil").GetDateTime().ShouldBeGreaterThan(Host.Clock.GetUtcNow().UtcDateTime.AddHours(23));
        old.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
        var wiped = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-WIPED");
        wiped.DeviceId.ShouldBe(enrolled.DeviceId);
        (await old.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}")).GetProperty("schoolId").GetGuid().ShouldBe(school);

        // The approval is spent: the next enrollment without the credential is refused again.
        using var second = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-WIPED"));
        second.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ApproveReenrollment_AfterTheWindow_NoLongerApplies()
    {
        var token = await Host.CreateTokenAsync(expiresAt: DateTime.UtcNow.AddDays(30));
        var enrolled = await Host.EnrollAsync(token, "SN-LATE");
        (await Host.PostJsonAsync($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", new { })).EnsureSuccessStatusCode();

        Host.Clock.Advance(TimeSpan.FromHours(25));
        using var late = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-LATE"));

        late.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
    }

    [Fact]
    public async Task ApproveReenrollment_UnknownDevice_Answers404()
    {
        using var response = await Host.PostJsonAsync($"/api/devices/{Guid.NewGuid()}/approve-reenrollment", new { });

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ApproveReenrollment_ByStaffOfAnotherSchoolOrATeacher_IsRefusedAndApprovesNothing()
    {
        var north = await CreateSchoolAsync("North High");
        var south = await CreateSchoolAsync("South Middle");
        var token = await Host.CreateTokenAsync(schoolId: north);
        var enrolled = await Host.EnrollAsync(token, "SN-SCOPE");
        using var southTechnician = await Host.SignInAsNewAccountAsync("south-tech", "itTechnician", schoolId: south);
        using var teacher = await Host.SignInAsNewAccountAsync("a-teacher", "teacher");
        using var northTechnician = await Host.SignInAsNewAccountAsync("north-tech", "itTechnician", schoolId: north);

        using var fromSouth = await southTechnician.PostAsync(new Uri($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", UriKind.Relative), null);
        using var fromTeacher = await teacher.PostAsync(new Uri($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", UriKind.Relative), null);

        fromSouth.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        fromTeacher.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var refused = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-SCOPE"));
        refused.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        using var fromNorth = await northTechnician.PostAsync(new Uri($"/api/devices/{enrolled.DeviceId}/approve-reenrollment", UriKind.Relative), null);
        fromNorth.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Host.EnrollAsync(token, "SN-SCOPE")).DeviceId.ShouldBe(enrolled.DeviceId);
    }

    [Fact]
    public async Task Enroll_DistrictWideTokenWithItsCredential_KeepsTheDevicesSchool()
    {
        var school = await CreateSchoolAsync("North High");
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-STAY");

        var again = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-STAY", credential: enrolled.Credential);

        again.DeviceId.ShouldBe(enrolled.DeviceId);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}")).GetProperty("schoolId").GetGuid().ShouldBe(school);
    }

    [Fact]
    public async Task Enroll_TextWithNul_Answers400AndCreatesNothing()
    {
        var token = await Host.CreateTokenAsync();

        using var response = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-NUL", Model: "Chrome\0book"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("model");
        (await DeviceCountAsync()).ShouldBe(0);
    }

    private async Task<Guid> CreateSchoolAsync(string name) =>
        (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name, timeZone = "America/Chicago" })).GetProperty("id").GetGuid();

    private async Task<int> AuditCountAsync(string action) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/audit?action={action}")).GetProperty("total").GetInt32();

    /// <summary>The device kept its credential, school and live connection: the real agent still gets its commands.</summary>
    private async Task AssertUntouchedAsync(EnrollResponse enrolled, TestAgent real, Guid school)
    {
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}");
        device.GetProperty("schoolId").GetGuid().ShouldBe(school);
        device.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.Null);
        var command = await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } });
        (await real.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(command.GetProperty("id").GetGuid());
        real.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await again.ExpectWelcomeAsync();
    }

    [Fact]
    public async Task Enroll_TokenPastItsUseLimit_Answers403AndCreatesNothing()
    {
        var token = await Host.CreateTokenAsync(maxUses: 2);
        await Host.EnrollAsync(token, "A");
        await Host.EnrollAsync(token, "B");

        using var response = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.ChromeOS, "C"));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("use limit");
        (await DeviceCountAsync()).ShouldBe(2);
    }

    [Fact]
    public async Task Enroll_ExpiredToken_Answers403()
    {
        var token = await Host.CreateTokenAsync(expiresAt: DateTime.UtcNow.AddMinutes(5));
        Host.Clock.Advance(TimeSpan.FromMinutes(6));

        using var response = await PostEnrollAsync(new EnrollRequest(token, DevicePlatform.Windows, "X"));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("expired");
        (await DeviceCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task Enroll_RevokedToken_Answers403()
    {
        var created = await Host.PostJsonAsync<JsonElement>("/api/enrollment-tokens", new { name = "to revoke" });
        var id = created.GetProperty("id").GetGuid();
        (await Host.Client.PostAsync(new Uri($"/api/enrollment-tokens/{id}/revoke", UriKind.Relative), null)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        using var response = await PostEnrollAsync(new EnrollRequest(created.GetProperty("token").GetString()!, DevicePlatform.Android, "Y"));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.Content.ReadAsStringAsync()).ShouldContain("revoked");
    }

    [Fact]
    public async Task Enroll_UnknownToken_Answers401ProblemDetails()
    {
        using var response = await PostEnrollAsync(new EnrollRequest("hre_made-up", DevicePlatform.ChromeOS, "Z"));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task Enroll_OversizedBody_Answers413()
    {
        var token = await Host.CreateTokenAsync();
        using var client = Host.CreateClient();
        var huge = JsonSerializer.Serialize(new { token, platform = "chromeos", serial = "S", model = new string('m', 2 * 1024 * 1024) });
        using var content = new StringContent(huge, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(new Uri("/agent/v1/enroll", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await DeviceCountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task CreateToken_ReturnsSecretOnceAndListingsNeverShowIt()
    {
        var created = await Host.PostJsonAsync<JsonElement>("/api/enrollment-tokens", new { name = "cart 3", maxUses = 30 });
        var secret = created.GetProperty("token").GetString()!;

        var listing = await Host.Client.GetStringAsync(new Uri("/api/enrollment-tokens", UriKind.Relative));
        var single = await Host.Client.GetStringAsync(new Uri($"/api/enrollment-tokens/{created.GetProperty("id").GetGuid()}", UriKind.Relative));

        secret.Length.ShouldBeGreaterThan(40);
        listing.ShouldNotContain(secret);
        single.ShouldNotContain(secret);
        single.ShouldContain(secret[^4..]);
    }

    [Fact]
    public async Task Enroll_TokenForAGroup_PutsTheDeviceInThatGroup()
    {
        var school = await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North High", timeZone = "America/Chicago" });
        var cart = await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Cart 7", kind = "cart", schoolId = school.GetProperty("id").GetGuid() });
        var token = await Host.CreateTokenAsync(groupId: cart.GetProperty("id").GetGuid());

        var enrolled = await Host.EnrollAsync(token, "CART-1");

        var members = await Host.GetJsonAsync<JsonElement>($"/api/devices?groupId={cart.GetProperty("id").GetGuid()}");
        members.GetProperty("items")[0].GetProperty("id").GetGuid().ShouldBe(enrolled.DeviceId);
        members.GetProperty("items")[0].GetProperty("schoolId").GetGuid().ShouldBe(school.GetProperty("id").GetGuid());
    }
}

public sealed class EnrollmentSqliteTests() : EnrollmentTests(DatabaseProvider.Sqlite);

public sealed class EnrollmentPostgresTests() : EnrollmentTests(DatabaseProvider.Postgres);

/// <summary>Refused enrollments store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the count stays 0.</summary>
public abstract class EnrollmentValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    private async Task<int> DeviceCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32();

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("{\"token\":\"x\",\"platform\":\"toaster\",\"serial\":\"1\"}")]
    [InlineData("{\"token\":\"x\",\"platform\":\"chromeos\",\"serial\":\"\"}")]
    public async Task Enroll_MalformedBody_Answers400ProblemDetails(string body)
    {
        using var client = Host.CreateClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(new Uri("/agent/v1/enroll", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await DeviceCountAsync()).ShouldBe(0);
    }
}

public sealed class EnrollmentValidationSqliteTests(SharedSqliteHost shared) : EnrollmentValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class EnrollmentValidationPostgresTests(SharedPostgresHost shared) : EnrollmentValidationTests(shared), IClassFixture<SharedPostgresHost>;
