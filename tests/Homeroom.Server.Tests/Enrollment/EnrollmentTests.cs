using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

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
    public async Task Enroll_SameSerialAgain_ReusesTheDeviceAndReplacesTheCredential()
    {
        var token = await Host.CreateTokenAsync(maxUses: 1);
        var first = await Host.EnrollAsync(token, "SERIAL-R");

        var again = await Host.EnrollAsync(token, "SERIAL-R");

        again.DeviceId.ShouldBe(first.DeviceId);
        again.Credential.ShouldNotBe(first.Credential);
        (await DeviceCountAsync()).ShouldBe(1);
        await using var stale = await TestAgent.ConnectAsync(Host.AgentUri, first.DeviceId, first.Credential);
        (await stale.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        await using var fresh = await TestAgent.ConnectAsync(Host.AgentUri, again.DeviceId, again.Credential);
        (await fresh.ExpectWelcomeAsync()).DeviceId.ShouldBe(first.DeviceId);
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
