using Homeroom.Agent.Session.X11;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// A minimal freedesktop system tray for the tests (the desktop's panel, as a student's desktop would have one): a window
/// along the top right that owns <c>_NET_SYSTEM_TRAY_S0</c> and embeds the first icon that asks to dock
/// (<c>SYSTEM_TRAY_REQUEST_DOCK</c>), as a panel's tray does: reparented into it and mapped.
/// </summary>
public sealed class TestTray : IDisposable
{
    private readonly nint _display;
    private readonly nuint _window;
    private readonly nuint _opcode;

    private unsafe TestTray(string displayName, int x, int y, int width, int height)
    {
        Xlib.Init();
        _display = Xlib.XOpenDisplay(displayName);
        if (_display == 0)
        {
            throw new InvalidOperationException($"cannot open {displayName}");
        }

        var root = Xlib.XRootWindow(_display, Xlib.XDefaultScreen(_display));
        _window = Xlib.XCreateSimpleWindow(_display, root, x, y, (uint)width, (uint)height, 0, 0, 0x303030);
        var attributes = new Xlib.XSetWindowAttributes { OverrideRedirect = 1 };
        Xlib.XChangeWindowAttributes(_display, _window, Xlib.CWOverrideRedirect, &attributes);
        Xlib.XMapRaised(_display, _window);
        _opcode = Xlib.XInternAtom(_display, "_NET_SYSTEM_TRAY_OPCODE", 0);
        Xlib.XSetSelectionOwner(_display, Xlib.XInternAtom(_display, "_NET_SYSTEM_TRAY_S0", 0), _window, 0);
        Xlib.XSync(_display, 0);
        (X, Y) = (x, y);
    }

    public int X { get; }

    public int Y { get; }

    public static TestTray Start(string displayName, int x, int y, int width, int height) => new(displayName, x, y, width, height);

    /// <summary>Waits for a dock request and embeds its icon at (4, 4) in the tray; the icon's window.</summary>
    public async Task<nuint> EmbedNextAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (TryTakeDockRequest() is { } icon)
            {
                Xlib.XReparentWindow(_display, icon, _window, 4, 4);
                Xlib.XMapWindow(_display, icon);
                Xlib.XSync(_display, 0);
                return icon;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("No icon asked to dock in the tray.");
    }

    private unsafe nuint? TryTakeDockRequest()
    {
        var xevent = stackalloc byte[192];
        while (Xlib.XPending(_display) > 0)
        {
            Xlib.XNextEvent(_display, xevent);
            // XClientMessageEvent: message_type at 40, data.l[1] (the opcode) at 64, data.l[2] (the icon) at 72.
            if (*(int*)xevent == Xlib.ClientMessage && *(nuint*)(xevent + 40) == _opcode && *(nint*)(xevent + 64) == 0)
            {
                return *(nuint*)(xevent + 72);
            }
        }

        return null;
    }

    public void Dispose()
    {
        Xlib.XDestroyWindow(_display, _window);
        Xlib.XCloseDisplay(_display);
    }
}
