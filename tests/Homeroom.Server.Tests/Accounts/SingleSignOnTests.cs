using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>How the district's mappings turn a provider's claims into a role and school (no I/O).</summary>
public sealed class SignInGrantTests
{
    private static readonly Guid SchoolA = Guid.NewGuid();

    [Fact]
    public void Resolve_SeveralMatch_TheMostPowerfulRoleWins_ThenTheDistrictWideOne()
    {
        var mappings = new[]
        {
            Mapping("groups", "teachers", StaffRole.Teacher, create: true),
            Mapping("groups", "it", StaffRole.ItTechnician, SchoolA),
            Mapping("hd", "district.example", StaffRole.ItTechnician),
            Mapping("groups", "admins", StaffRole.DistrictAdmin),
        };

        var grant = SignInGrant.Resolve(mappings, "google", Claims(("groups", "teachers"), ("groups", "it"), ("hd", "district.example")));

        grant.Grant!.ClaimType.ShouldBe("hd");
        grant.Grant.SchoolId.ShouldBeNull();
        grant.Create!.Role.ShouldBe(StaffRole.Teacher);
    }

    [Fact]
    public void Resolve_ValueOrTypeDiffersOrAnotherProvider_NothingMatches()
    {
        var mappings = new[] { Mapping("groups", "Teachers", StaffRole.Teacher, create: true), Mapping("tid", "tenant-1", StaffRole.ReadOnly, provider: "entra") };

        var grant = SignInGrant.Resolve(mappings, "google", Claims(("groups", "teachers"), ("group", "Teachers"), ("tid", "tenant-1")));

        grant.Grant.ShouldBeNull();
        grant.Create.ShouldBeNull();
    }

    [Fact]
    public void Resolve_MatchWithoutCreation_GrantsButCreatesNothing()
    {
        var grant = SignInGrant.Resolve([Mapping("groups", "staff", StaffRole.ReadOnly)], "google", Claims(("groups", "staff")));

        grant.Grant!.Role.ShouldBe(StaffRole.ReadOnly);
        grant.Create.ShouldBeNull();
    }

    [Theory]
    [InlineData(SingleSignOnKind.Google, "email_verified", "true", true)]
    [InlineData(SingleSignOnKind.Google, "email_verified", "false", false)]
    [InlineData(SingleSignOnKind.Google, "xms_edov", "true", false)]
    [InlineData(SingleSignOnKind.Entra, "xms_edov", "1", true)]
    [InlineData(SingleSignOnKind.Entra, "xms_edov", "0", false)]
    [InlineData(SingleSignOnKind.Generic, "email", "a@b.example", false)]
    public void IsVerified_ReadsTheProvidersClaim(SingleSignOnKind kind, string type, string value, bool verified) =>
        SingleSignOn.IsVerified(kind, new ClaimsPrincipal(new ClaimsIdentity(Claims((type, value)), "test"))).ShouldBe(verified);

    [Fact]
    public void Classify_TokenFailures_SayWhichCheckRefused()
    {
        SingleSignOn.Classify(new Microsoft.IdentityModel.Tokens.SecurityTokenInvalidIssuerException("x")).ShouldBe(SingleSignOnFailure.Issuer);
        SingleSignOn.Classify(new Microsoft.IdentityModel.Tokens.SecurityTokenInvalidAudienceException("x")).ShouldBe(SingleSignOnFailure.Audience);
        SingleSignOn.Classify(new Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException("x")).ShouldBe(SingleSignOnFailure.Expired);
        SingleSignOn.Classify(new Microsoft.IdentityModel.Tokens.SecurityTokenInvalidSignatureException("x")).ShouldBe(SingleSignOnFailure.Signature);
        SingleSignOn.Classify(new InvalidOperationException("wrapped", new Microsoft.IdentityModel.Tokens.SecurityTokenSignatureKeyNotFoundException("x"))).ShouldBe(SingleSignOnFailure.Signature);
        SingleSignOn.Classify(new AuthenticationFailureException("Correlation failed.")).ShouldBe(SingleSignOnFailure.State);
        SingleSignOn.Classify(new InvalidOperationException("something else")).ShouldBe(SingleSignOnFailure.Invalid);
    }

    private static SignInMapping Mapping(string type, string value, StaffRole role, Guid? school = null, bool create = false, string provider = "google") =>
        new() { Id = Guid.NewGuid(), Provider = provider, ClaimType = type, ClaimValue = value, Role = role, SchoolId = school, CreateAccounts = create };

    private static List<Claim> Claims(params (string Type, string Value)[] claims) => claims.Select(c => new Claim(c.Type, c.Value)).ToList();

    private sealed class AuthenticationFailureException(string message) : Exception(message);
}

/// <summary>A server with two providers configured (their metadata is never fetched by these tests).</summary>
public sealed class SingleSignOnSqliteHost() : SharedHost(DatabaseProvider.Sqlite, SingleSignOnHostSettings.All);

public sealed class SingleSignOnPostgresHost() : SharedHost(DatabaseProvider.Postgres, SingleSignOnHostSettings.All);

public static class SingleSignOnHostSettings
{
    public static readonly string[] All =
    [
        "Homeroom:SingleSignOn:Providers:google:DisplayName=Google",
        "Homeroom:SingleSignOn:Providers:google:Kind=Google",
        "Homeroom:SingleSignOn:Providers:google:Authority=https://accounts.google.com",
        "Homeroom:SingleSignOn:Providers:google:ClientId=homeroom.apps.example",
        "Homeroom:SingleSignOn:Providers:google:ClientSecret=not-a-real-secret",
        "Homeroom:SingleSignOn:Providers:entra:DisplayName=Microsoft",
        "Homeroom:SingleSignOn:Providers:entra:Kind=Entra",
        "Homeroom:SingleSignOn:Providers:entra:Authority=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0",
        "Homeroom:SingleSignOn:Providers:entra:ClientId=00000000-0000-0000-0000-000000000002",
    ];
}

/// <summary>
/// The mapping endpoint (district administrators only, validated, audited) and what a validated token from a
/// provider leads to (<see cref="SingleSignOn.SignInAsync"/> on the real database): the mapped role and school,
/// an account created only when a mapping allows, a disabled account or an unverified address refused.
/// </summary>
public abstract class SingleSignOnTests(HomeroomHost host)
{
    [Fact]
    public async Task Mappings_ReplacedByDistrictAdmin_AreListedAndAudited()
    {
        var school = await host.PostJsonAsync<IdOnly>("/api/schools", new { name = "Mapped " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" });
        var body = new
        {
            mappings = new object[]
            {
                new { provider = "google", claimType = "hd", claimValue = "district.example", role = "readOnly" },
                new { provider = "entra", claimType = "groups", claimValue = "2b7c-teachers", role = "teacher", schoolId = school.Id, createAccounts = true },
            },
        };
        using (var put = await host.Client.PutAsJsonAsync("/api/sign-in/mappings", body, HomeroomHost.Json))
        {
            put.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        var listed = await host.GetJsonAsync<SignInMappingsDto>("/api/sign-in/mappings");
        listed.Providers.Select(p => p.Id).ShouldBe(["entra", "google"]);
        listed.Mappings.Count.ShouldBe(2);
        listed.Mappings.ShouldContain(m => m.Provider == "entra" && m.Role == StaffRole.Teacher && m.SchoolId == school.Id && m.CreateAccounts);
        (await AuditAsync("sign-in-mappings.replace")).ShouldContain(d => d!.Contains("entra: groups=2b7c-teachers", StringComparison.Ordinal));

        // The response never carries a client secret.
        (await host.Client.GetStringAsync("/api/sign-in/mappings")).ShouldNotContain("not-a-real-secret");
    }

    [Theory]
    [InlineData("""{"mappings":[{"provider":"okta","claimType":"groups","claimValue":"x","role":"teacher"}]}""", "mappings[0].provider")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"groups","claimValue":"x","role":"districtAdmin","schoolId":"{school}"}]}""", "mappings[0].schoolId")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"groups","claimValue":"x","role":"teacher","schoolId":"00000000-0000-0000-0000-00000000dead"}]}""", "mappings[0].schoolId")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"has space","claimValue":"x","role":"teacher"}]}""", "mappings[0].claimType")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"groups","claimValue":"","role":"teacher"}]}""", "mappings[0].claimValue")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"groups","claimValue":"x"}]}""", "mappings[0].role")]
    [InlineData("""{"mappings":[{"provider":"google","claimType":"g","claimValue":"x","role":"teacher"},{"provider":"google","claimType":"g","claimValue":"x","role":"readOnly"}]}""", "mappings[1]")]
    [InlineData("""{}""", "mappings")]
    public async Task Mappings_BadInput_IsRefusedWithTheField_AndChangesNothing(string json, string field)
    {
        var before = await host.GetJsonAsync<SignInMappingsDto>("/api/sign-in/mappings");
        var school = await host.PostJsonAsync<IdOnly>("/api/schools", new { name = "Bad " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" });
        using var content = new StringContent(json.Replace("{school}", school.Id.ToString(), StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json");

        using var response = await host.Client.PutAsync("/api/sign-in/mappings", content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain($"\"{field}\"");
        (await host.GetJsonAsync<SignInMappingsDto>("/api/sign-in/mappings")).Mappings.Select(m => m.Id).ShouldBe(before.Mappings.Select(m => m.Id));
    }

    [Fact]
    public async Task Mappings_TooMany_AreRefused()
    {
        var mappings = Enumerable.Range(0, SignInMappings.MaxMappings + 1).Select(i => new { provider = "google", claimType = "groups", claimValue = $"g{i}", role = "teacher" }).ToList();
        using var response = await host.Client.PutAsJsonAsync("/api/sign-in/mappings", new { mappings }, HomeroomHost.Json);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Mappings_SchoolAdministrator_IsRefused()
    {
        using var schoolAdmin = await host.SignInAsNewAccountAsync("sso-sa-" + Guid.NewGuid().ToString("N")[..6], "schoolAdmin");
        (await schoolAdmin.GetAsync("/api/sign-in/mappings")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var put = await schoolAdmin.PutAsJsonAsync("/api/sign-in/mappings", new { mappings = Array.Empty<object>() }, HomeroomHost.Json);
        put.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task SignIn_ExistingAccount_GetsTheMappedRoleAndSchool_AndASession()
    {
        var school = await host.PostJsonAsync<IdOnly>("/api/schools", new { name = "Sso " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" });
        var email = Unique();
        var account = await CreateAccountAsync(email, "readOnly");
        await SetMappingsAsync(new { provider = "entra", claimType = "groups", claimValue = "it", role = "itTechnician", schoolId = school.Id });
        var stampBefore = await StampAsync(email);

        var (failure, context) = await SignInAsync("entra", Token(email.ToUpperInvariant(), ("xms_edov", "true"), ("groups", "it")));

        failure.ShouldBeNull();
        context.Response.Headers.SetCookie.ToString().ShouldContain("homeroom.session=");
        var stored = await AccountAsync(email);
        stored!.Id.ShouldBe(account);
        (stored.Role, stored.SchoolId).ShouldBe((StaffRole.ItTechnician, (Guid?)school.Id));
        stored.SecurityStamp.ShouldNotBe(stampBefore);
        (await AuditAsync("auth.sign-in")).ShouldContain(d => d != null && d.Contains("single sign-on with Microsoft", StringComparison.Ordinal));
        (await AuditAsync("account.update")).ShouldContain(d => d != null && d.Contains("single sign-on mapping entra: groups=it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignIn_UnknownAddress_CreatesAnAccountOnlyWhenAMappingAllows()
    {
        var email = Unique();
        await SetMappingsAsync(new { provider = "google", claimType = "hd", claimValue = "district.example", role = "readOnly" });

        (await SignInAsync("google", Token(email, ("email_verified", "true"), ("hd", "district.example")))).Failure.ShouldBe(SingleSignOnFailure.NoAccount);
        (await AccountAsync(email)).ShouldBeNull();

        await SetMappingsAsync(
            new { provider = "google", claimType = "hd", claimValue = "district.example", role = "readOnly" },
            new { provider = "google", claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });
        (await SignInAsync("google", Token(email, ("email_verified", "true"), ("hd", "district.example")))).Failure.ShouldBe(SingleSignOnFailure.NoAccount);
        (await SignInAsync("google", Token(email, ("email_verified", "true"), ("hd", "district.example"), ("groups", "teachers")))).Failure.ShouldBeNull();

        var created = await AccountAsync(email);
        created.ShouldNotBeNull();
        created.Role.ShouldBe(StaffRole.Teacher);
        (await AuditAsync("account.create")).ShouldContain(d => d != null && d.Contains(email, StringComparison.Ordinal) && d.Contains("single sign-on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignIn_Refusals_AreAuditedWithTheirReason()
    {
        var disabled = Unique();
        var id = await CreateAccountAsync(disabled, "teacher");
        using (var put = await host.Client.PutAsJsonAsync($"/api/accounts/{id}", new { disabled = true }, HomeroomHost.Json))
        {
            put.EnsureSuccessStatusCode();
        }

        var unmapped = Unique();
        await CreateAccountAsync(unmapped, "teacher");
        await SetMappingsAsync(new { provider = "google", claimType = "groups", claimValue = "teachers", role = "teacher", createAccounts = true });

        (await SignInAsync("google", Token(disabled, ("email_verified", "true"), ("groups", "teachers")))).Failure.ShouldBe(SingleSignOnFailure.Disabled);
        (await SignInAsync("google", Token(unmapped, ("email_verified", "true"), ("groups", "students")))).Failure.ShouldBe(SingleSignOnFailure.NoMapping);
        (await SignInAsync("google", Token(unmapped, ("email_verified", "false"), ("groups", "teachers")))).Failure.ShouldBe(SingleSignOnFailure.Unverified);
        (await SignInAsync("google", Token(unmapped, ("groups", "teachers")))).Failure.ShouldBe(SingleSignOnFailure.Unverified);
        // Entra's claim counts only for Entra.
        (await SignInAsync("google", Token(unmapped, ("xms_edov", "true"), ("groups", "teachers")))).Failure.ShouldBe(SingleSignOnFailure.Unverified);

        var failed = await AuditAsync("auth.sign-in-failed");
        failed.ShouldContain(d => d == "single sign-on with Google refused: disabled");
        failed.ShouldContain(d => d == "single sign-on with Google refused: no-mapping");
        failed.ShouldContain(d => d == "single sign-on with Google refused: unverified");
        (await AccountAsync(unmapped))!.LastSignInAt.ShouldBeNull();
    }

    private async Task<(SingleSignOnFailure? Failure, HttpContext Context)> SignInAsync(string provider, ClaimsPrincipal token)
    {
        using var scope = host.Services.CreateScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var failure = await host.GetService<SingleSignOn>().SignInAsync(context, provider, token, CancellationToken.None);
        return (failure, context);
    }

    private static ClaimsPrincipal Token(string email, params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity([new Claim("email", email), new Claim("name", "Token Person"), .. claims.Select(c => new Claim(c.Type, c.Value))], "oidc"));

    private static string Unique() => $"sso{Guid.NewGuid():N}"[..14] + "@district.example";

    private async Task<Guid> CreateAccountAsync(string username, string role) =>
        (await host.PostJsonAsync<IdOnly>("/api/accounts", new { username, displayName = username, password = "a long enough passphrase", role })).Id;

    private async Task SetMappingsAsync(params object[] mappings)
    {
        using var response = await host.Client.PutAsJsonAsync("/api/sign-in/mappings", new { mappings }, HomeroomHost.Json);
        response.EnsureSuccessStatusCode();
    }

    private async Task<StaffAccount?> AccountAsync(string email)
    {
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.StaffAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.Username == email.ToLowerInvariant());
    }

    private async Task<string?> StampAsync(string email) => (await AccountAsync(email))?.SecurityStamp;

    private async Task<List<string?>> AuditAsync(string action)
    {
        await using var db = await host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.AuditLog.AsNoTracking().Where(a => a.Action == action).Select(a => a.Details).ToListAsync();
    }

    private sealed record IdOnly(Guid Id);
}

public sealed class SqliteSingleSignOnTests(SingleSignOnSqliteHost fixture) : SingleSignOnTests(fixture.Host), IClassFixture<SingleSignOnSqliteHost>;

public sealed class PostgresSingleSignOnTests(SingleSignOnPostgresHost fixture) : SingleSignOnTests(fixture.Host), IClassFixture<SingleSignOnPostgresHost>;
