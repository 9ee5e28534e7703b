using System.Net;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;

namespace Homeroom.Server.Tests.Apple;

/// <summary>Behind a TLS-terminating proxy the device's client certificate arrives in a header instead of a signature.</summary>
public sealed class MdmProxyTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartWithDeviceCaAsync(DatabaseProvider.Sqlite, "Homeroom:Apple:ClientCertificateHeader=X-Client-Cert");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task CertificateFromTheProxy_IdentifiesTheDevice_AndOnlyIssuedOnesCount()
    {
        using var device = new VirtualAppleDevice(_host.Client, _host.BaseAddress, "00008030-PROXY0001", "PRXY0001") { ProxyCertificateHeader = "X-Client-Cert" };
        var token = await _host.CreateTokenAsync();
        (await device.AuthenticateAsync(token)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized); // a certificate Homeroom did not issue

        await device.InstallEnrollmentProfileAsync(token);
        (await device.AuthenticateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await device.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Poll.UntilAsync(async () => await device.PollAsync() > 0);
        device.Received.ShouldContain(r => r.RequestType == "InstallProfile");

        // Without the proxy's header the request is not identified (a signature is not looked at in this mode).
        device.ProxyCertificateHeader = null;
        using var unsigned = await device.SendAsync("/mdm/connect", new() { ["UDID"] = device.Udid, ["Status"] = "Idle" });
        unsigned.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
