using System.Net;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Devices;

public abstract class DeviceApiTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);
        var token = await Host.CreateTokenAsync();
        foreach (var (serial, platform) in new[]
        {
            ("C-003", DevicePlatform.ChromeOS), ("C-001", DevicePlatform.ChromeOS), ("C-002", DevicePlatform.ChromeOS),
            ("I-001", DevicePlatform.IPadOS), ("W-001", DevicePlatform.Windows),
        })
        {
            await Host.EnrollAsync(token, serial, platform);
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<JsonElement> ListAsync(string query) => await Host.GetJsonAsync<JsonElement>("/api/devices" + query);

    private static string[] Serials(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("serial").GetString()!).ToArray();

    [Fact]
    public async Task List_PagesWithTotal()
    {
        var first = await ListAsync("?pageSize=2&page=1&sort=serial");
        var third = await ListAsync("?pageSize=2&page=3&sort=serial");

        first.GetProperty("total").GetInt32().ShouldBe(5);
        Serials(first).ShouldBe(["C-001", "C-002"]);
        Serials(third).ShouldBe(["W-001"]);
    }

    [Fact]
    public async Task List_FiltersByPlatformAndSearch()
    {
        Serials(await ListAsync("?platform=chromeos&sort=serial")).ShouldBe(["C-001", "C-002", "C-003"]);
        Serials(await ListAsync("?q=I-00")).ShouldBe(["I-001"]);
        (await ListAsync("?state=lost")).GetProperty("total").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task List_SortsDescending()
    {
        Serials(await ListAsync("?sort=-serial")).ShouldBe(["W-001", "I-001", "C-003", "C-002", "C-001"]);
    }

    [Fact]
    public async Task List_LongSearch_Answers400()
    {
        using var response = await Host.Client.GetAsync(new Uri("/api/devices?q=" + new string('x', 500), UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Patch_StateAndAssignee_IsStoredAndAudited()
    {
        var device = (await ListAsync("?q=C-001")).GetProperty("items")[0].GetProperty("id").GetGuid();
        var person = await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Grace", familyName = "Hopper" });
        var body = JsonSerializer.Serialize(new { state = "inRepair", assignedPersonId = person.GetProperty("id").GetGuid(), assetTag = "MV-1" });

        using var response = await Host.Client.PatchAsync(new Uri($"/api/devices/{device}", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var stored = await Host.GetJsonAsync<JsonElement>($"/api/devices/{device}");
        stored.GetProperty("state").GetString().ShouldBe("inRepair");
        stored.GetProperty("assetTag").GetString().ShouldBe("MV-1");
        (await ListAsync("?state=inRepair")).GetProperty("total").GetInt32().ShouldBe(1);
        var audit = await Host.GetJsonAsync<JsonElement>("/api/audit?action=device.update");
        audit.GetProperty("items")[0].GetProperty("actorName").GetString().ShouldBe("admin");
        audit.GetProperty("items")[0].GetProperty("targetId").GetString().ShouldBe(device.ToString());
    }

    [Fact]
    public async Task Get_UnknownDevice_Answers404()
    {
        (await Host.Client.GetAsync(new Uri($"/api/devices/{Guid.NewGuid()}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

public sealed class DeviceApiSqliteTests() : DeviceApiTests(DatabaseProvider.Sqlite);

public sealed class DeviceApiPostgresTests() : DeviceApiTests(DatabaseProvider.Postgres);

/// <summary>Refused queries change nothing, so these cases share one server (<see cref="SharedHost"/>).</summary>
public abstract class DeviceApiValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("?pageSize=100000")]
    [InlineData("?page=0")]
    [InlineData("?sort=credentialHash")]
    [InlineData("?platform=toaster")]
    [InlineData("?page=abc")]
    public async Task List_BadQuery_Answers400(string query)
    {
        using var response = await Host.Client.GetAsync(new Uri("/api/devices" + query, UriKind.Relative));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}

public sealed class DeviceApiValidationSqliteTests(SharedSqliteHost shared) : DeviceApiValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class DeviceApiValidationPostgresTests(SharedPostgresHost shared) : DeviceApiValidationTests(shared), IClassFixture<SharedPostgresHost>;
