using Homeroom.Agent.Session.Windows;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The Windows helper's input: the protocol's events (pointer in pixels of the captured virtual screen, keys as X keysyms)
/// as <c>SendInput</c> events. The Win32 calls themselves cannot run here.
/// </summary>
public sealed class WindowsInputTests
{
    private static readonly VirtualScreen OneMonitor = new(0, 0, 1920, 1080);

    // A second monitor left of the primary: the virtual screen starts at x = -1280.
    private static readonly VirtualScreen TwoMonitors = new(-1280, 0, 3200, 1080);

    [Fact]
    public void Normalise_TheCorners_AreZeroAnd65535()
    {
        OneMonitor.Normalise(0, 0).ShouldBe((0, 0));
        OneMonitor.Normalise(1919, 1079).ShouldBe((65535, 65535));
        OneMonitor.Normalise(5000, -20).ShouldBe((65535, 0)); // held at the edge
    }

    [Fact]
    public void Normalise_ACapturePixel_IsRelativeToTheVirtualScreenNotThePrimaryMonitor()
    {
        // Pixel 1280 of the capture is the primary monitor's left edge: 1280/3199 of the way across the virtual desktop.
        TwoMonitors.Normalise(1280, 540).ShouldBe(((int)Math.Round(1280 * 65535.0 / 3199), (int)Math.Round(540 * 65535.0 / 1079)));
        TwoMonitors.Normalise(3199, 0).Dx.ShouldBe(65535);
    }

    [Fact]
    public void Map_PointerEvents_AreAbsoluteOnTheVirtualDesktop()
    {
        var mapped = WindowsInput.Map(
        [
            new RemoteInputEvent("move", X: 960, Y: 540),
            new RemoteInputEvent("down", X: 960, Y: 540, Button: 1),
            new RemoteInputEvent("up", X: 960, Y: 540, Button: 1),
            new RemoteInputEvent("down", X: 0, Y: 0, Button: 3),
            new RemoteInputEvent("up", X: 0, Y: 0, Button: 2),
        ], OneMonitor);

        const uint At = WindowsInput.MouseMove | WindowsInput.MouseAbsolute | WindowsInput.MouseVirtualDesk;
        mapped.Select(e => e.Flags).ShouldBe([At, At | WindowsInput.MouseLeftDown, At | WindowsInput.MouseLeftUp, At | WindowsInput.MouseRightDown, At | WindowsInput.MouseMiddleUp]);
        mapped.ShouldAllBe(e => !e.Keyboard);
        (mapped[0].Dx, mapped[0].Dy).ShouldBe(OneMonitor.Normalise(960, 540));
        (mapped[3].Dx, mapped[3].Dy).ShouldBe((0, 0));
    }

    [Fact]
    public void Map_TheWheel_IsOneHundredTwentyAStepWithUpPositive()
    {
        var mapped = WindowsInput.Map([new RemoteInputEvent("wheel", X: 5, Y: 5, Delta: -3), new RemoteInputEvent("wheel", X: 5, Y: 5, Delta: 2)], OneMonitor);

        mapped.Select(e => e.MouseData).ShouldBe([360, -240]);
        mapped.ShouldAllBe(e => (e.Flags & WindowsInput.MouseWheel) != 0);
    }

    [Fact]
    public void Map_AButtonOutsideOneToThree_GivesNothing() =>
        WindowsInput.Map([new RemoteInputEvent("down", X: 1, Y: 1, Button: 4)], OneMonitor).ShouldBeEmpty();

    [Theory]
    [InlineData(0x61, 0x41, 0u)] // a: the A key (shortcuts such as Ctrl+A work)
    [InlineData(0x5A, 0x5A, 0u)] // Z
    [InlineData(0x37, 0x37, 0u)] // 7
    [InlineData(0xFF0D, 0x0D, 0u)] // Return
    [InlineData(0xFF08, 0x08, 0u)] // BackSpace
    [InlineData(0xFF1B, 0x1B, 0u)] // Escape
    [InlineData(0xFF51, 0x25, WindowsInput.KeyExtended)] // Left
    [InlineData(0xFF54, 0x28, WindowsInput.KeyExtended)] // Down
    [InlineData(0xFFFF, 0x2E, WindowsInput.KeyExtended)] // Delete
    [InlineData(0xFFE1, 0xA0, 0u)] // Shift_L
    [InlineData(0xFFE4, 0xA3, WindowsInput.KeyExtended)] // Control_R
    [InlineData(0xFFBE, 0x70, 0u)] // F1
    [InlineData(0xFFC9, 0x7B, 0u)] // F12
    [InlineData(0x20, 0x20, 0u)] // space
    public void Key_ANamedKey_IsItsVirtualKey(int keysym, int virtualKey, uint flags)
    {
        var down = WindowsInput.Key(keysym, up: false)!.Value;
        var up = WindowsInput.Key(keysym, up: true)!.Value;

        (down.Keyboard, down.VirtualKey, down.Flags, down.Scan).ShouldBe((true, (ushort)virtualKey, flags, (ushort)0));
        up.Flags.ShouldBe(flags | WindowsInput.KeyUp);
    }

    [Theory]
    [InlineData(0x2F, '/')]
    [InlineData(0xE9, 'é')] // eacute, Latin-1
    [InlineData(0x010020AC, '€')] // Unicode keysym
    public void Key_AnotherCharacter_IsTypedAsUnicode(int keysym, char expected)
    {
        var key = WindowsInput.Key(keysym, up: false)!.Value;

        (key.VirtualKey, key.Scan, key.Flags).ShouldBe(((ushort)0, (ushort)expected, WindowsInput.KeyUnicode));
    }

    [Theory]
    [InlineData(0xFE03)] // ISO_Level3_Shift: no key here
    [InlineData(0x0101D11E)] // outside the Basic Multilingual Plane
    [InlineData(0x0100D800)] // a lone surrogate
    public void Key_AKeysymWithNoKeyOrCharacter_GivesNothing(int keysym) =>
        WindowsInput.Key(keysym, up: false).ShouldBeNull();

    [Fact]
    public void BgraToRgb_SwapsBlueAndRedAndDropsAlphaAndRowPadding()
    {
        // 2 x 2 pixels with a stride of 12 bytes (4 of padding a row): red, green / blue, white.
        byte[] bgra =
        [
            0, 0, 255, 255, 0, 255, 0, 255, 9, 9, 9, 9,
            255, 0, 0, 255, 255, 255, 255, 0, 9, 9, 9, 9,
        ];

        WindowsInput.BgraToRgb(bgra, 2, 2, 12).ShouldBe(new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255 });
    }

    [Fact]
    public void BgraToRgb_TooFewPixels_IsRefused() =>
        Should.Throw<ArgumentException>(() => WindowsInput.BgraToRgb(new byte[15], 2, 2, 8));
}

/// <summary>The Windows channel's security descriptor and who each end accepts (the facts come from Win32; the decisions are these).</summary>
public sealed class WindowsPipePeersTests
{
    private const string Student = "S-1-5-21-1004336348-1177238915-682003330-1001";
    private const string OtherStudent = "S-1-5-21-1004336348-1177238915-682003330-1002";

    [Fact]
    public void SecurityDescriptor_GivesSystemFullControlAndInteractiveUsersReadWriteOnly()
    {
        WindowsPipePeers.SecurityDescriptor.ShouldBe("O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;0x0012019B;;;IU)");
    }

    [Fact]
    public void InteractiveUserAccess_ReadsAndWritesButCannotCreateAnInstance()
    {
        const uint FileCreatePipeInstance = 0x4;
        const uint FileGenericRead = 0x0012_0089, FileGenericWrite = 0x0012_0116;

        (WindowsPipePeers.InteractiveUserAccess & FileCreatePipeInstance).ShouldBe(0u);
        (WindowsPipePeers.InteractiveUserAccess & FileGenericRead).ShouldBe(FileGenericRead);
        WindowsPipePeers.InteractiveUserAccess.ShouldBe((FileGenericRead | FileGenericWrite) & ~FileCreatePipeInstance);
        (WindowsPipePeers.InteractiveUserAccess & 0x000F_0000u & ~0x0002_0000u).ShouldBe(0u); // no DELETE, WRITE_DAC or WRITE_OWNER
    }

    [Fact]
    public void HelperRefusal_TheSessionsOwnUser_IsTaken() =>
        WindowsPipePeers.HelperRefusal(2, Student, Student.ToLowerInvariant()).ShouldBeNull();

    [Fact]
    public void HelperRefusal_AnotherUserInTheSession_IsRefused() =>
        WindowsPipePeers.HelperRefusal(2, OtherStudent, Student).ShouldBe($"the helper runs as {OtherStudent}, not as the user signed in to session 2");

    [Fact]
    public void HelperRefusal_LocalSystemPosingAsAHelperInSessionZero_IsRefused() =>
        WindowsPipePeers.HelperRefusal(0, WindowsPipePeers.LocalSystemSid, WindowsPipePeers.LocalSystemSid).ShouldBe("the helper runs in session 0 (services), not in a user's session");

    [Fact]
    public void HelperRefusal_ASessionNobodyIsSignedInTo_IsRefused() =>
        WindowsPipePeers.HelperRefusal(3, Student, null).ShouldBe("nobody is signed in to session 3");

    [Fact]
    public void HelperRefusal_UnreadableFacts_AreRefused()
    {
        WindowsPipePeers.HelperRefusal(null, Student, Student).ShouldNotBeNull();
        WindowsPipePeers.HelperRefusal(2, null, Student).ShouldNotBeNull();
    }

    [Fact]
    public void ServiceRefusal_LocalSystemInSessionZero_IsTheService()
    {
        WindowsPipePeers.ServiceRefusal(0, WindowsPipePeers.LocalSystemSid, WindowsPipePeers.LocalSystemSid).ShouldBeNull();
        // A standard user may not open a LocalSystem process's token: the pipe's owner, which only LocalSystem could make itself, decides.
        WindowsPipePeers.ServiceRefusal(0, null, WindowsPipePeers.LocalSystemSid).ShouldBeNull();
    }

    [Fact]
    public void ServiceRefusal_AUsersPipe_IsNotTheService() =>
        WindowsPipePeers.ServiceRefusal(2, Student, Student).ShouldBe($"the pipe is owned by {Student}, not by LocalSystem");

    [Fact]
    public void ServiceRefusal_AServerInAnotherSession_IsNotTheService() =>
        WindowsPipePeers.ServiceRefusal(2, WindowsPipePeers.LocalSystemSid, WindowsPipePeers.LocalSystemSid).ShouldBe("the pipe's server runs in session 2, not in the services' session 0");

    [Fact]
    public void ServiceRefusal_AnotherAccountServingASystemOwnedPipe_IsNotTheService() =>
        WindowsPipePeers.ServiceRefusal(0, "S-1-5-20", WindowsPipePeers.LocalSystemSid).ShouldBe("the pipe's server runs as S-1-5-20, not as LocalSystem");

    [Fact]
    public void ServiceRefusal_UnreadableOwner_IsNotTheService() =>
        WindowsPipePeers.ServiceRefusal(0, WindowsPipePeers.LocalSystemSid, null).ShouldNotBeNull();

    [Fact]
    public void PipeName_TheChannelName_HasNoBackslashOrAbstractMark()
    {
        WindowsPipePeers.PipeName("@homeroom-agent/session").ShouldBe("homeroom-agent-session");
        WindowsPipePeers.PipeName("homeroom-agent/session").ShouldBe("homeroom-agent-session");
        WindowsPipePeers.PipeName(@"a\b").ShouldBe("a-b");
        WindowsPipePeers.DisplayOf(4).ShouldBe("session 4");
    }
}

/// <summary>When the service starts a helper in a Windows session, and with what command line.</summary>
public sealed class WindowsHelperStartsTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-06T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private const int Active = WindowsHelperStarts.ActiveState, Disconnected = 4, Listening = 6;

    [Fact]
    public void SessionsToStart_ActiveUserSessionsWithoutAHelper_AreStarted()
    {
        (int, int)[] sessions = [(0, Disconnected), (1, Active), (2, Active), (3, Disconnected), (4, Active), (65536, Listening)];

        WindowsHelperStarts.SessionsToStart(sessions, running: new HashSet<int> { 2 }, connected: new HashSet<int> { 4 }, new Dictionary<int, DateTimeOffset>(), Now)
            .ShouldBe([1]);
    }

    [Fact]
    public void SessionsToStart_SessionZero_IsNeverStarted() =>
        WindowsHelperStarts.SessionsToStart([(0, Active)], new HashSet<int>(), new HashSet<int>(), new Dictionary<int, DateTimeOffset>(), Now).ShouldBeEmpty();

    [Fact]
    public void SessionsToStart_AHelperThatEndedSoon_WaitsBeforeTheNextStart()
    {
        var started = new Dictionary<int, DateTimeOffset> { [1] = Now - TimeSpan.FromSeconds(10), [2] = Now - WindowsHelperStarts.RestartDelay };

        WindowsHelperStarts.SessionsToStart([(1, Active), (2, Active)], new HashSet<int>(), new HashSet<int>(), started, Now).ShouldBe([2]);
    }

    [Fact]
    public void CommandLine_QuotesTheProgramAndTheChannel() =>
        WindowsHelperStarts.CommandLine(@"C:\Program Files\Homeroom\Agent\homeroom-agent.exe", "homeroom-agent/session")
            .ShouldBe("\"C:\\Program Files\\Homeroom\\Agent\\homeroom-agent.exe\" session --session-socket \"homeroom-agent/session\"");

    [Theory]
    [InlineData("name\" --other")]
    [InlineData("name\\")]
    public void CommandLine_ANameThatCouldEndItsQuotes_IsRefused(string channel) =>
        Should.Throw<ArgumentException>(() => WindowsHelperStarts.CommandLine(@"C:\homeroom-agent.exe", channel));
}
