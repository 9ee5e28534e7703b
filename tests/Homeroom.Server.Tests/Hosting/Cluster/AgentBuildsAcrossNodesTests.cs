using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.SelfUpdates;
using Homeroom.Server.Tests.Infrastructure;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// A desktop agent build uploaded through one node of a PostgreSQL cluster is downloaded through another, byte for
/// byte: its file is in the database, not in the receiving node's data directory. A refused upload leaves nothing, and
/// deleting the build deletes its file for every node.
/// </summary>
public sealed class AgentBuildsAcrossNodesTests
{
    private const long Limit = 5_000_000;

    private static byte[] Elf(int size)
    {
        var file = RandomNumberGenerator.GetBytes(size);
        "\u007fELF"u8.CopyTo(file);
        file[4] = 2;
        file[18] = 0x3E;
        file[19] = 0;
        return file;
    }

    private static async Task<HttpResponseMessage> UploadAsync(HomeroomHost node, string version, byte[] file, bool chunked = false)
    {
        using HttpContent content = chunked ? new UnknownLengthContent(file) : new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await node.Client.PostAsync($"/api/agent-updates?rid=linux-x64&version={version}", content);
    }

    private static async Task<List<(string Sha256, long Chunks)>> StoredAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sha256, count(*) FROM agent_build_content GROUP BY sha256 ORDER BY sha256", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var stored = new List<(string, long)>();
        while (await reader.ReadAsync())
        {
            stored.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return stored;
    }

    [Fact]
    public async Task Build_UploadedThroughNodeA_IsDownloadedThroughNodeB_SameBytes_AndDeletedForEveryNode()
    {
        string[] settings = [$"Homeroom:AgentUpdates:MaxPackageBytes={Limit}"];
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, settings);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a, settings);

        // 3.5 chunks: the last one short.
        var file = Elf((3 * AgentBuildContent.ChunkBytes) + (AgentBuildContent.ChunkBytes / 2));
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(file));
        JsonElement build;
        using (var uploaded = await UploadAsync(a, "4.1.0", file))
        {
            uploaded.StatusCode.ShouldBe(HttpStatusCode.Created, await uploaded.Content.ReadAsStringAsync());
            build = await uploaded.Content.ReadFromJsonAsync<JsonElement>();
        }

        build.GetProperty("sha256").GetString().ShouldBe(sha256);
        (await StoredAsync(a.Database)).ShouldBe([(sha256, 4L)]);
        Directory.Exists(Path.Combine(a.DataDirectory, "agent-updates")).ShouldBeFalse();

        // A device downloads it through node B, which never saw the upload.
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "SN-BUILD-" + Guid.NewGuid().ToString("N")[..8], DevicePlatform.Linux);
        using var anonymous = b.CreateClient();
        using (var request = AgentProtocol.DeviceRequest(b.BaseAddress, AgentProtocol.UpdatePath(sha256), device.DeviceId, device.Credential))
        using (var response = await anonymous.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            response.Content.Headers.ContentLength.ShouldBe(file.Length);
            await using var body = await response.Content.ReadAsStreamAsync();
            Convert.ToHexStringLower(await SHA256.HashDataAsync(body)).ShouldBe(sha256);
        }

        // Without the device's credential, nothing.
        (await anonymous.GetAsync(AgentProtocol.UpdatePath(sha256))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // Refused through node B: one byte over the limit (sent without a length, so the chunks before it were written),
        // or not an executable of the runtime; neither leaves a chunk.
        using (var tooBig = await UploadAsync(b, "4.2.0", Elf((int)Limit + 1), chunked: true))
        {
            tooBig.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        }

        var notElf = Elf(AgentBuildContent.ChunkBytes + 10);
        notElf[0] = 0;
        using (var refused = await UploadAsync(b, "4.2.0", notElf))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        (await StoredAsync(a.Database)).ShouldBe([(sha256, 4L)]);

        // The same file as another version shares the chunks; deleting one build keeps them, deleting both removes them.
        JsonElement same;
        using (var again = await UploadAsync(b, "4.3.0", file))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.Created);
            same = await again.Content.ReadFromJsonAsync<JsonElement>();
        }

        (await StoredAsync(a.Database)).ShouldBe([(sha256, 4L)]);
        (await b.Client.DeleteAsync($"/api/agent-updates/{build.GetProperty("id").GetGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await StoredAsync(a.Database)).ShouldBe([(sha256, 4L)]);
        (await b.Client.DeleteAsync($"/api/agent-updates/{same.GetProperty("id").GetGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await StoredAsync(a.Database)).ShouldBeEmpty();
        using var gone = AgentProtocol.DeviceRequest(a.BaseAddress, AgentProtocol.UpdatePath(sha256), device.DeviceId, device.Credential);
        (await anonymous.SendAsync(gone)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

/// <summary>A request body sent chunked, its length not announced: the server finds the limit only while reading.</summary>
internal sealed class UnknownLengthContent(byte[] bytes) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        for (var offset = 0; offset < bytes.Length; offset += 65536)
        {
            await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(65536, bytes.Length - offset)));
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
