using System.Net;
using Homeroom.Contracts.Tests.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;

namespace Homeroom.Server.Tests.Apple;

/// <summary>Runs alone, so the process's allocations during a request are that request's.</summary>
[CollectionDefinition(nameof(MdmMemoryTests), DisableParallelization = true)]
public sealed class MdmMemoryCollection;

/// <summary>
/// A binary property list that refers to one 256 KB value thousands of times, sent to the MDM
/// endpoints: unsigned it is refused before it is parsed, signed by a real identity the reader's
/// byte limit refuses it; either way the server allocates little and answers a 4xx ProblemDetails.
/// </summary>
[Collection(nameof(MdmMemoryTests))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public sealed class MdmMemoryTests(MdmMemoryTests.Server server) : IClassFixture<MdmMemoryTests.Server>
{
    // 2,000 references to 256 KB: a 262 KB request that would become 512 MB of byte arrays (the reported
    // attack used 12,000 for 3 GB; this is enough to tell the two apart without taxing the test machine).
    private const int References = 2_000;
    private const long AllowedBytes = 64L * 1024 * 1024;
    private HomeroomHost Host => server.Host;

    /// <summary>
    /// One server for these tests: every bomb is refused before anything is stored, so none of them needs a
    /// fresh one (and these run alone at the end of the suite, where a server start is time nothing else uses).
    /// </summary>
    public sealed class Server : IAsyncLifetime
    {
        public HomeroomHost Host { get; private set; } = null!;

        public async Task InitializeAsync() => Host = await HomeroomHost.StartWithDeviceCaAsync(DatabaseProvider.Sqlite);

        public async Task DisposeAsync() => await Host.DisposeAsync();
    }

    private static byte[] Bomb(string udid) =>
        BinaryPlistWriter.Bomb(new Dictionary<string, object> { ["UDID"] = udid, ["Status"] = "Idle", ["MessageType"] = "Authenticate" }, 256 * 1024, References);

    private static async Task<(HttpResponseMessage Response, long Allocated, long Retained)> MeasureAsync(Func<Task<HttpResponseMessage>> send)
    {
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var response = await send().WaitAsync(HomeroomHost.Timeout);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var retained = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        return (response, allocated, retained);
    }

    [Theory]
    [InlineData("/mdm/connect")]
    [InlineData("/mdm/checkin?enroll=hre_anything")]
    public async Task PlistBomb_Unsigned_IsRefusedBeforeParsing_AndAllocatesLittle(string path)
    {
        using var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, "00008030-BOMB00000001", "BOMB000001");
        var bomb = Bomb(device.Udid);
        bomb.Length.ShouldBeLessThan(600 * 1024);

        var (response, allocated, retained) = await MeasureAsync(() => device.SendRawAsync(path, bomb, signature: null));

        allocated.ShouldBeLessThan(AllowedBytes);
        retained.ShouldBeLessThan(AllowedBytes);
        using (response)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }
    }

    [Theory]
    [InlineData("/mdm/connect")]
    [InlineData("/mdm/checkin")]
    public async Task PlistBomb_SignedByARealIdentity_IsRefusedByTheReadersByteLimit_AndAllocatesLittle(string path)
    {
        // Any enrollment token holder can get an identity this server issued.
        using var device = new VirtualAppleDevice(Host.Client, Host.BaseAddress, "00008030-BOMB00000002", "BOMB000002");
        await device.InstallEnrollmentProfileAsync(await Host.CreateTokenAsync());
        var bomb = Bomb(device.Udid);

        var (response, allocated, retained) = await MeasureAsync(() => device.SendRawAsync(path, bomb, device.Sign(bomb)));

        allocated.ShouldBeLessThan(AllowedBytes);
        retained.ShouldBeLessThan(AllowedBytes);
        using (response)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await response.Content.ReadAsStringAsync()).ShouldContain("come to more than");
        }
    }
}
