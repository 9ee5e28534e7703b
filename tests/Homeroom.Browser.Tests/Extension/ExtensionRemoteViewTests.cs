using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>
/// A view-only remote session on the Chromebook agent (extension/lib/remote.js) in real Chromium against a real server:
/// the extension offers view only, control is refused before it reaches the device, the student allows the session in
/// the extension's window, the banner names the technician, and the technician's session socket receives the tab as a
/// kind 4 screen update of 256-pixel JPEG tiles; ending it from the extension's window ends it on the server.
/// </summary>
public sealed class ExtensionRemoteViewTests
{
    [Fact]
    public async Task RemoteView_StudentAllows_TechnicianSeesTheTab_StudentEndsIt()
    {
        await using var harness = await ExtensionHarness.StartAsync();
        var host = harness.Host;
        await Poll.UntilAsync(harness.IsOnlineAsync, ExtensionHarness.Timeout);
        var path = $"/api/devices/{harness.DeviceId}/remote-session";
        await Poll.UntilAsync(async () => (await host.GetJsonAsync<JsonElement>(path)).GetProperty("available").GetBoolean(), ExtensionHarness.Timeout);
        (await host.GetJsonAsync<JsonElement>(path)).GetProperty("controlUnavailableReason").GetString()!.ShouldContain("cannot inject input");
        using (var control = await host.Client.PostAsJsonAsync(path, new { mode = "control" }))
        {
            control.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        }

        var page = await harness.OpenAsync("http://school.test/lab-report");
        await page.BringToFrontAsync();
        var session = (await host.PostJsonAsync<JsonElement>(path, new { mode = "view" })).GetProperty("id").GetGuid();

        // The technician's console socket, with the same API key that started the session.
        using var viewer = new ClientWebSocket();
        viewer.Options.SetRequestHeader("Authorization", $"Bearer {HomeroomHost.ApiKey}");
        using (var connect = new CancellationTokenSource(ExtensionHarness.Timeout))
        {
            await viewer.ConnectAsync(new Uri($"ws://{host.BaseAddress.Authority}{path}/{session}/stream"), connect.Token);
        }

        // The extension's own window asks the student.
        IPage? window = null;
        await Poll.UntilAsync(() =>
        {
            window = harness.Context.Pages.FirstOrDefault(p => p.Url.StartsWith(harness.ExtensionUrl("pages/remote.html"), StringComparison.Ordinal));
            return Task.FromResult(window is not null);
        }, ExtensionHarness.Timeout);
        await window!.GetByTestId("remote-text").Filter(new() { HasText = "asks to see your screen" }).WaitForAsync();
        await window.GetByTestId("remote-allow").ClickAsync();
        await page.Locator("#homeroom-viewing-banner").Filter(new() { HasText = "(IT support) is viewing your screen" }).WaitForAsync();

        // The first screen update: the whole visible tab in tiles of at most 256 pixels, each a JPEG.
        byte[] update;
        try
        {
            update = await FirstUpdateAsync(viewer);
        }
        catch (OperationCanceledException)
        {
            throw new ShouldAssertException($"No screen update reached the technician; the extension's last capture: {await harness.StorageAsync("remoteView", "session")}");
        }

        RemoteScreenFrame.TryDecode(update, out var id, out var sequence, out var width, out var height, out var count).ShouldBeTrue();
        id.ShouldBe(session);
        sequence.ShouldBe(1);
        var tiles = RemoteScreenFrame.ReadTiles(update);
        tiles.Count.ShouldBe(count);
        tiles.Sum(t => t.Width * t.Height).ShouldBe(width * height);
        tiles.ShouldAllBe(t => t.Width <= 256 && t.Height <= 256);

        await window.GetByTestId("remote-end").ClickAsync();
        await Poll.UntilAsync(async () =>
        {
            var state = await host.GetJsonAsync<JsonElement>(path);
            // The live session is gone a moment before its record is stored with the reason: until then the reason is null.
            return state.GetProperty("current").ValueKind == JsonValueKind.Null
                && state.GetProperty("recent")[0].GetProperty("endReason").GetString() is { } reason
                && reason.Contains("the student ended it", StringComparison.Ordinal);
        }, ExtensionHarness.Timeout);
        await Poll.UntilAsync(async () => !await page.Locator("#homeroom-viewing-banner").IsVisibleAsync(), ExtensionHarness.Timeout);
    }

    private static async Task<byte[]> FirstUpdateAsync(ClientWebSocket viewer)
    {
        using var receive = new CancellationTokenSource(ExtensionHarness.Timeout);
        var buffer = new byte[512 * 1024];
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await viewer.ReceiveAsync(buffer.AsMemory(length), receive.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);
            result.MessageType.ShouldNotBe(WebSocketMessageType.Close);
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                return buffer[..length];
            }
        }
    }
}
