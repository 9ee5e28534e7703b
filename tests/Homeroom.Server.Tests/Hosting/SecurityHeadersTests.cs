using System.Net;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Hosting;

/// <summary>Every response carries the console's content security policy and the other protective headers, errors included.</summary>
public sealed class SecurityHeadersTests
{
    [Theory]
    [InlineData("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org")]
    [InlineData("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org")]
    [InlineData("http://tiles.district.example:8080/osm/{z}/{x}/{y}.png?key=1", "http://tiles.district.example:8080")]
    [InlineData("https://tiles-{s}.example.org/{z}/{x}/{y}.png", "https:")]
    [InlineData("", null)]
    [InlineData("   ", null)]
    public void TileSource_IsTheTemplatesOrigin(string tileUrl, string? expected) =>
        SecurityHeaders.TileSource(tileUrl).ShouldBe(expected);

    [Fact]
    public async Task Pages_Api_And_Errors_CarryThePolicy_WithNoInlineScript()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Maps:TileUrl=https://{s}.tile.example.org/{z}/{x}/{y}.png");
        using var anonymous = host.CreateClient();

        using var login = await anonymous.GetAsync(new Uri("/login", UriKind.Relative));
        using var api = await host.Client.GetAsync(new Uri("/api/schools", UriKind.Relative));
        using var signedOut = await anonymous.GetAsync(new Uri("/api/schools", UriKind.Relative));
        using var missing = await host.Client.GetAsync(new Uri($"/api/devices/{Guid.NewGuid()}", UriKind.Relative));
        using var badBody = await host.Client.PostAsync(new Uri("/api/schools", UriKind.Relative), new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));

        login.StatusCode.ShouldBe(HttpStatusCode.OK);
        api.StatusCode.ShouldBe(HttpStatusCode.OK);
        signedOut.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        badBody.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        foreach (var response in new[] { login, api, signedOut, missing, badBody })
        {
            var policy = response.Headers.GetValues("Content-Security-Policy").Single();
            var directives = policy.Split(';', StringSplitOptions.TrimEntries).ToDictionary(d => d.Split(' ')[0], d => d.Split(' ')[1..]);
            directives["script-src"].ShouldBe(["'self'"], policy);
            directives["connect-src"].ShouldBe(["'self'"], policy);
            directives["object-src"].ShouldBe(["'none'"], policy);
            directives["frame-ancestors"].ShouldBe(["'none'"], policy);
            directives["img-src"].ShouldBe(["'self'", "data:", "blob:", "https://*.tile.example.org"], policy);
            response.Headers.GetValues("X-Content-Type-Options").Single().ShouldBe("nosniff");
            response.Headers.GetValues("X-Frame-Options").Single().ShouldBe("DENY");
            response.Headers.GetValues("Referrer-Policy").Single().ShouldBe("strict-origin-when-cross-origin");
        }
    }
}
