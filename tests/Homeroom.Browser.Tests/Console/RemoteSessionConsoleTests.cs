using System.Net.Http.Json;
using System.Net.WebSockets;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Browser.Tests.Console;

/// <summary>One school with a Linux desktop whose agent (a real agent WebSocket, driven by the test) offers remote sessions, an IT technician, a school administrator and a teacher.</summary>
public sealed class RemoteSessionDistrict : BrowserDistrict
{
    public Guid School { get; private set; }

    /// <summary>A second school, whose settings only the file transfer test changes (the others read the first school's).</summary>
    public Guid FilesSchool { get; private set; }

    protected override async Task SeedAsync()
    {
        School = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        await AccountAsync("tech", "itTechnician", School, displayName: "Sam Tech");
        FilesSchool = await IdAsync("/api/schools", new { name = "Lincoln High", timeZone = "UTC" });
        await AccountAsync("filetech", "itTechnician", FilesSchool, displayName: "Kim Tech");
        await AccountAsync("principal", "schoolAdmin", School);
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ms.", familyName = "Rivera", schoolId = School });
        await AccountAsync("rivera", "teacher", personId: teacher);
    }

    /// <summary>
    /// A newly enrolled Linux desktop of the school, connected; with <paramref name="capable"/> it reports remote sessions available,
    /// with <paramref name="clipboard"/> the clipboard too, with <paramref name="files"/> file transfer too.
    /// </summary>
    public async Task<TestAgent> DesktopAsync(bool capable, bool clipboard = false, bool files = false, Guid? school = null)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school ?? School), "SN-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.Linux);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame("Debian", "12", "PC", "Maker", null, null, null,
            [capable ? new AgentCapability(CapabilityNames.RemoteSession, true) : new AgentCapability(CapabilityNames.RemoteSession, false, "not available on this build (Linux/X11 only)"),
             new AgentCapability(CapabilityNames.RemoteClipboard, clipboard, clipboard ? null : "xclip is not installed on the device"),
             new AgentCapability(CapabilityNames.RemoteClipboardRead, clipboard, clipboard ? null : "xclip is not installed on the device"),
             new AgentCapability(CapabilityNames.RemoteFile, files, files ? null : "no user-session helper is connected"),
             new AgentCapability(CapabilityNames.RemoteFileRead, files, files ? null : "no user-session helper is connected")]));
        var live = Host.GetService<Homeroom.Server.Devices.DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(agent.DeviceId) is not null));
        return agent;
    }

    /// <summary>A newly enrolled Chromebook of the school, connected, whose extension reports view-only remote sessions.</summary>
    public async Task<TestAgent> ChromebookAsync()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: School), "CB-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.ChromeOS);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame("ChromeOS", "126", "Chromebook", "Maker", null, null, null, [new AgentCapability(CapabilityNames.RemoteView, true)]));
        var live = Host.GetService<Homeroom.Server.Devices.DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(agent.DeviceId) is not null));
        return agent;
    }
}

/// <summary>
/// The device page's remote session panel in Chromium: waiting for consent, the canvas painting the device's tiles, the pointer
/// reaching the device, the end; and the Schools page's remote support section turning sessions off, which greys the panel.
/// </summary>
public sealed class RemoteSessionConsoleTests(RemoteSessionDistrict district) : IClassFixture<RemoteSessionDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Soon = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static byte[] RedTile() => Tile(new Rgb24(220, 20, 20), new Rgb24(220, 20, 20));

    // A 64x64 JPEG, its top half one colour and its bottom half another.
    private static byte[] Tile(Rgb24 top, Rgb24 bottom)
    {
        using var image = new Image<Rgb24>(64, 64, top);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 32; y < 64; y++)
            {
                rows.GetRowSpan(y).Fill(bottom);
            }
        });
        using var output = new MemoryStream();
        image.SaveAsJpeg(output);
        return output.ToArray();
    }

    private static async Task<int[]> PixelAsync(ILocator canvas, int x, int y) =>
        await canvas.EvaluateAsync<int[]>($"c => Array.from(c.getContext('2d').getImageData({x}, {y}, 1, 1).data)");

    [Fact]
    public async Task DevicePage_TechnicianControls_TheCanvasPaintsTheScreen_AndThePointerReachesTheDevice()
    {
        await using var agent = await district.DesktopAsync(capable: true);
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/devices/{agent.DeviceId}");
        var panel = page.GetByTestId("remote-session");
        await Expect(panel).ToBeVisibleAsync(Soon);

        await page.GetByTestId("remote-control").ClickAsync();
        var start = await agent.ExpectAsync<RemoteSessionFrame>();
        start.Mode.ShouldBe(RemoteModes.Control);
        start.TechnicianName.ShouldBe("Sam Tech");
        await Expect(page.GetByTestId("remote-status")).ToHaveTextAsync("Waiting for the student to accept…", new() { Timeout = 15_000 });

        await agent.SendAsync(new RemoteSessionStatusFrame(start.SessionId, RemoteSessionStatuses.Accepted, null));
        await Expect(page.GetByTestId("remote-status")).ToContainTextAsync("you control the screen", new() { Timeout = 15_000 });
        await agent.SendRawAsync(RemoteScreenFrame.Encode(start.SessionId, 1, 320, 200, [new RemoteTile(64, 64, 64, 64, RedTile())]), WebSocketMessageType.Binary);
        var canvas = page.GetByTestId("remote-canvas");
        await Expect(canvas).ToHaveAttributeAsync("data-frames", "1", new() { Timeout = 15_000 });
        var pixel = await canvas.EvaluateAsync<int[]>("c => Array.from(c.getContext('2d').getImageData(96, 96, 1, 1).data)");
        pixel[0].ShouldBeGreaterThan(180);
        pixel[1].ShouldBeLessThan(80);
        await Browsers.ScreenshotAsync(page, "remote-session");

        // A scroll: a red-over-green tile, then an update that moves it down 32 pixels (source and destination overlap)
        // and paints a blue tile over the lower part after the copy.
        await agent.SendRawAsync(RemoteScreenFrame.Encode(start.SessionId, 2, 320, 200, [new RemoteTile(192, 0, 64, 64, Tile(new Rgb24(220, 20, 20), new Rgb24(20, 200, 20)))]), WebSocketMessageType.Binary);
        await agent.SendRawAsync(RemoteScreenFrame.Encode(start.SessionId, 3, 320, 200,
            [new RemoteCopy(192, 0, 64, 64, 192, 32)], [new RemoteTile(192, 80, 64, 64, Tile(new Rgb24(20, 20, 220), new Rgb24(20, 20, 220)))]), WebSocketMessageType.Binary);
        await Expect(canvas).ToHaveAttributeAsync("data-frames", "3", new() { Timeout = 15_000 });
        var red = await PixelAsync(canvas, 224, 48); // copied from row 16: red
        var green = await PixelAsync(canvas, 224, 72); // copied from row 40: green (a copy without a whole-source read would show red here)
        var blue = await PixelAsync(canvas, 224, 90); // the tile painted after the copy
        (red[0] > 180 && red[1] < 80).ShouldBeTrue($"red expected, got {string.Join(',', red)}");
        (green[1] > 160 && green[0] < 80).ShouldBeTrue($"green expected, got {string.Join(',', green)}");
        (blue[2] > 180 && blue[0] < 80 && blue[1] < 80).ShouldBeTrue($"blue expected, got {string.Join(',', blue)}");
        var untouched = await PixelAsync(canvas, 96, 96); // outside the copy: still the first red tile
        untouched[0].ShouldBeGreaterThan(180);

        // The technician moves the mouse over the canvas: the device gets the move, in screen pixels.
        await canvas.HoverAsync(); // scrolled into view, the pointer at its centre
        var input = await agent.ExpectAsync<RemoteInputFrame>();
        input.Events[0].Kind.ShouldBe("move");
        input.Events[0].X!.Value.ShouldBeInRange(150, 170);
        input.Events[0].Y!.Value.ShouldBeInRange(90, 110);

        await page.GetByTestId("remote-end").ClickAsync();
        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        await Expect(page.GetByTestId("remote-history")).ToContainTextAsync("ended by tech", new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task DevicePage_AgentWithoutTheCapability_GreysThePanelWithTheReason_AndTeachersSeeNoPanel()
    {
        await using var agent = await district.DesktopAsync(capable: false);
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/devices/{agent.DeviceId}");
        await Expect(page.GetByTestId("remote-unavailable")).ToContainTextAsync("not available on this build", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("remote-view")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("remote-control")).ToBeDisabledAsync();

        var teacher = await district.SignInAsync("rivera");
        await teacher.GotoAsync($"/devices/{agent.DeviceId}");
        await Expect(teacher.GetByTestId("remote-session")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task DevicePage_Chromebook_OffersViewOnly_ControlGreyedWithWhy()
    {
        await using var agent = await district.ChromebookAsync();
        var page = await district.SignInAsync("tech");
        await page.GotoAsync($"/devices/{agent.DeviceId}");
        await Expect(page.GetByTestId("remote-view-only")).ToContainTextAsync("an extension cannot inject input on a Chromebook", new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("remote-control")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("remote-view")).ToBeEnabledAsync();

        await page.GetByTestId("remote-view").ClickAsync();
        var start = await agent.ExpectAsync<RemoteSessionFrame>();
        start.Mode.ShouldBe(RemoteModes.View);
        await page.GetByTestId("remote-end").ClickAsync();
        (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
    }

    [Fact]
    public async Task SchoolsPage_SchoolAdminTurnsSessionsOff_TheDevicePanelGreysWithTheReason()
    {
        await using var agent = await district.DesktopAsync(capable: true);
        var admin = await district.SignInAsync("principal");
        await admin.GotoAsync("/schools");
        var section = admin.GetByTestId("remote-support-settings");
        await Expect(section.GetByTestId("remote-support-source")).ToContainTextAsync("uses the district's defaults", new() { Timeout = 15_000 });
        await Expect(section.GetByTestId("remote-sessions-allowed")).ToBeCheckedAsync();

        // Notice only for technicians is looser than the district's default: refused with the reason, nothing saved.
        await section.GetByTestId("remote-technician-consent").SelectOptionAsync("notice");
        await section.GetByTestId("save-remote-support").ClickAsync();
        await Expect(section.GetByTestId("remote-support-error")).ToContainTextAsync("Only a district administrator", new() { Timeout = 15_000 });

        await section.GetByTestId("remote-technician-consent").SelectOptionAsync("consent");
        await section.GetByTestId("remote-sessions-allowed").UncheckAsync();
        await section.GetByTestId("save-remote-support").ClickAsync();
        await Expect(section.GetByTestId("remote-support-status")).ToContainTextAsync("saved", new() { Timeout = 15_000 });
        try
        {
            var page = await district.SignInAsync("tech");
            await page.GotoAsync($"/devices/{agent.DeviceId}");
            await Expect(page.GetByTestId("remote-unavailable")).ToContainTextAsync("turned off for this school", new() { Timeout = 15_000 });
            await Expect(page.GetByTestId("remote-view")).ToBeDisabledAsync();
            await Expect(page.GetByTestId("remote-control")).ToBeDisabledAsync();
            (await agent.NothingOfTypeAsync<RemoteSessionFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        }
        finally
        {
            // The other tests of this class share the school.
            using var restored = await district.Host.Client.PutAsJsonAsync($"/api/schools/{district.School}/remote-support",
                new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = false });
            restored.EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task DevicePage_ControlSession_SendsClipboardText_WhereTheSchoolAllowsIt()
    {
        using (var allow = await district.Host.Client.PutAsJsonAsync($"/api/schools/{district.School}/remote-support",
            new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = true }))
        {
            allow.EnsureSuccessStatusCode();
        }

        try
        {
            await using var agent = await district.DesktopAsync(capable: true, clipboard: true);
            var page = await district.SignInAsync("tech");
            await page.GotoAsync($"/devices/{agent.DeviceId}");
            await Expect(page.GetByTestId("remote-session")).ToBeVisibleAsync(Soon);
            await page.GetByTestId("remote-control").ClickAsync();
            var start = await agent.ExpectAsync<RemoteSessionFrame>();
            await agent.SendAsync(new RemoteSessionStatusFrame(start.SessionId, RemoteSessionStatuses.Accepted, null));
            await Expect(page.GetByTestId("remote-status")).ToContainTextAsync("you control the screen", new() { Timeout = 15_000 });

            await page.GetByTestId("remote-clipboard-text").FillAsync("Room 214 printer: \\\\print01\\room214");
            await page.GetByTestId("remote-clipboard-send").ClickAsync();
            var clipboard = await agent.ExpectAsync<RemoteClipboardFrame>();
            (clipboard.SessionId, clipboard.Text).ShouldBe((start.SessionId, "Room 214 printer: \\\\print01\\room214"));
            await Expect(page.GetByTestId("remote-clipboard-status")).ToHaveTextAsync("Sent to the device's clipboard.", new() { Timeout = 15_000 });

            // The other way: the device's clipboard, shown read only.
            await page.GetByTestId("remote-device-clipboard-get").ClickAsync();
            var read = await agent.ExpectAsync<RemoteClipboardReadFrame>();
            read.SessionId.ShouldBe(start.SessionId);
            await agent.SendAsync(new RemoteClipboardContentFrame(start.SessionId, read.RequestId, "Error 0x80070005: access denied\nline 2", null));
            await Expect(page.GetByTestId("remote-device-clipboard-text")).ToHaveValueAsync("Error 0x80070005: access denied\nline 2", new() { Timeout = 15_000 });
            await Expect(page.GetByTestId("remote-device-clipboard-text")).ToHaveAttributeAsync("readonly", "");
            await Expect(page.GetByTestId("remote-device-clipboard-status")).ToContainTextAsync("Read from the device's clipboard");

            await page.GetByTestId("remote-end").ClickAsync();
            (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        }
        finally
        {
            using var restored = await district.Host.Client.PutAsJsonAsync($"/api/schools/{district.School}/remote-support",
                new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = false });
            restored.EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task DevicePage_ControlSession_SendsAFile_AndShowsTheDevicesAnswer()
    {
        using (var allow = await district.Host.Client.PutAsJsonAsync($"/api/schools/{district.FilesSchool}/remote-support",
            new { sessionsAllowed = true, technicianConsent = "consent", districtAdminConsent = "consent", clipboardAllowed = false, fileTransferAllowed = true }))
        {
            allow.EnsureSuccessStatusCode();
        }

        var directory = Directory.CreateTempSubdirectory("homeroom-file-");
        try
        {
            var file = new byte[40_000];
            Random.Shared.NextBytes(file);
            var path = Path.Combine(directory.FullName, "lesson plan.pdf");
            await File.WriteAllBytesAsync(path, file);
            await using var agent = await district.DesktopAsync(capable: true, files: true, school: district.FilesSchool);
            var page = await district.SignInAsync("filetech");
            await page.GotoAsync($"/devices/{agent.DeviceId}");
            await Expect(page.GetByTestId("remote-session")).ToBeVisibleAsync(Soon);
            await page.GetByTestId("remote-control").ClickAsync();
            var start = await agent.ExpectAsync<RemoteSessionFrame>();
            await agent.SendAsync(new RemoteSessionStatusFrame(start.SessionId, RemoteSessionStatuses.Accepted, null));
            await Expect(page.GetByTestId("remote-status")).ToContainTextAsync("you control the screen", new() { Timeout = 15_000 });

            await page.GetByTestId("remote-file-input").SetInputFilesAsync(path);
            var received = new List<byte>();
            RemoteFileFrame chunk;
            do
            {
                chunk = await agent.ExpectAsync<RemoteFileFrame>();
                (chunk.SessionId, chunk.Name, chunk.Offset).ShouldBe((start.SessionId, "lesson plan.pdf", (long)received.Count));
                received.AddRange(chunk.Data);
            }
            while (received.Count < chunk.Size);
            received.ToArray().ShouldBe(file);
            await Expect(page.GetByTestId("remote-file-status")).ToContainTextAsync("lesson plan.pdf: sent", new() { Timeout = 15_000 });

            await agent.SendAsync(new RemoteFileStatusFrame(start.SessionId, chunk.TransferId, RemoteFileStatuses.Saved, "lesson plan (2).pdf"));
            await Expect(page.GetByTestId("remote-file-status")).ToHaveTextAsync("lesson plan.pdf: saved on the device as lesson plan (2).pdf.", new() { Timeout = 15_000 });

            // A file from the device: asked by path, offered as a download once it came whole.
            await page.GetByTestId("remote-device-file-path").FillAsync("Documents/essay.docx");
            await page.GetByTestId("remote-device-file-ask").ClickAsync();
            var request = await agent.ExpectAsync<RemoteFileRequestFrame>();
            request.Path.ShouldBe("Documents/essay.docx");
            await Expect(page.GetByTestId("remote-device-file-status")).ToContainTextAsync("waiting for the student", new() { Timeout = 15_000 });
            await agent.SendAsync(new RemoteFileRequestStatusFrame(start.SessionId, request.TransferId, RemoteFileRequestStatuses.Allowed, null));
            await agent.SendAsync(new RemoteFileUploadFrame(start.SessionId, request.TransferId, "essay.docx", file.Length, RemoteFileLimits.Sha256Hex(file), 0, file[..RemoteFileLimits.ChunkBytes]));
            await agent.SendAsync(new RemoteFileUploadFrame(start.SessionId, request.TransferId, "essay.docx", file.Length, RemoteFileLimits.Sha256Hex(file), RemoteFileLimits.ChunkBytes, file[RemoteFileLimits.ChunkBytes..]));
            await Expect(page.GetByTestId("remote-device-file-status")).ToContainTextAsync("essay.docx: received, 40000 bytes", new() { Timeout = 15_000 });
            var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("remote-device-file-link").ClickAsync());
            download.SuggestedFilename.ShouldBe("essay.docx");
            (await File.ReadAllBytesAsync((await download.PathAsync())!)).ShouldBe(file);

            await page.GetByTestId("remote-end").ClickAsync();
            (await agent.ExpectAsync<RemoteSessionFrame>()).Active.ShouldBeFalse();
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
