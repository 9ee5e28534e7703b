using System.Collections.Concurrent;
using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session.X11;

/// <summary>What the helper shows on, and reads from, one X display.</summary>
public interface ISessionScreen : IDisposable
{
    Task LockAsync(string message);

    Task UnlockAsync();

    Task ShowMessageAsync(string? title, string text);

    /// <summary>Shows the viewing banner naming <paramref name="viewerName"/>, or removes it when null.</summary>
    Task SetBannerAsync(string? viewerName);

    /// <summary>The whole screen as a JPEG no wider than <paramref name="maxWidth"/> and at most <paramref name="maxBytes"/>.</summary>
    Task<byte[]> ThumbnailAsync(int maxWidth, int maxBytes);

    /// <summary>The focused window's application (its WM_CLASS class) and title; nulls when unknown.</summary>
    Task<(string? App, string? Title)> ForegroundAsync();

    /// <summary>How long since the last keyboard or pointer input on the display; null when the display cannot say.</summary>
    Task<TimeSpan?> IdleAsync();

    /// <summary>Asks the student (<paramref name="text"/>, with Allow and Decline, or <paramref name="declineLabel"/>); true when they allowed. Cancelled: the prompt goes.</summary>
    Task<bool> AskConsentAsync(string text, CancellationToken cancellationToken, string declineLabel = "Decline");

    /// <summary>Shows the remote session banner with <paramref name="text"/> (clicking it ends the session), or removes it when null.</summary>
    Task SetRemoteBannerAsync(string? text);

    /// <summary>The student clicked the remote session banner to end it (raised on the display's thread: handlers must be quick).</summary>
    event Action? RemoteEndRequested;

    /// <summary>The whole screen as RGB bytes, row by row.</summary>
    Task<(byte[] Rgb, int Width, int Height)> CaptureRgbAsync();

    /// <summary>Injects pointer and keyboard events (XTest), in order.</summary>
    Task InjectAsync(IReadOnlyList<RemoteInputEvent> events);

    /// <summary>
    /// Shows the "I need help" window (a note, a box to tick to attach a picture of the screen, Send and Cancel) and waits for
    /// the student: their answer on Send, null on Cancel (or Escape). Cancelled: the window goes. Asked again while open: the
    /// window stays as it is and the first ask ends as cancelled.
    /// </summary>
    Task<HelpAnswer?> AskForHelpAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Keeps an "I need help" icon docked in the desktop's system tray (freedesktop XEmbed system tray) whenever one is
    /// running, or takes it away when false.
    /// </summary>
    Task SetHelpIconAsync(bool shown);

    /// <summary>The student clicked the help icon (raised on the display's thread: handlers must be quick).</summary>
    event Action? HelpIconClicked;
}

/// <summary>What the student put in the help window: the note (may be empty) and whether to attach a picture of the screen.</summary>
public sealed record HelpAnswer(string Note, bool AttachScreenshot);

/// <summary>
/// The session helper's windows on an X11 display, all on one thread that owns the connection: the
/// lock screen (an override-redirect window over the whole screen, raised again every 100 ms, holding
/// the keyboard and pointer grabs), message pop-ups (closed by a click or after a minute), the viewing
/// banner along the top edge, and screen captures of the root window. Colours assume a TrueColor visual
/// of depth 24 (Xorg's and Xvfb's default); other depths are refused at start.
/// </summary>
public sealed unsafe class X11Session : ISessionScreen
{
    /// <summary>The lock screen's background (also what the tests look for).</summary>
    public const uint LockColour = 0x1F3A5F;

    /// <summary>The viewing banner's background.</summary>
    public const uint BannerColour = 0xFFD400;

    /// <summary>A message pop-up's background.</summary>
    public const uint MessageColour = 0xFFF3C4;

    /// <summary>The remote session consent prompt's background.</summary>
    public const uint ConsentColour = 0xE8F0FE;

    public const int BannerHeight = 28;
    public const int MessageWidth = 520;
    public const int MessageHeight = 170;
    public const int ConsentWidth = 560;
    public const int ConsentHeight = 200;

    /// <summary>The help window's background.</summary>
    public const uint HelpColour = 0xEAF4EA;

    /// <summary>The tray icon's background (a white "?" is drawn on it).</summary>
    public const uint HelpIconColour = 0x1E7B34;

    /// <summary>The tray icon's size: trays resize icons as they like; this is what it asks for.</summary>
    public const int HelpIconSize = 24;

    /// <summary>How often the helper looks for a system tray to dock in (one may start after the helper, or restart).</summary>
    private static readonly TimeSpan TrayCheckInterval = TimeSpan.FromSeconds(2);

    public const int HelpWidth = 560;
    public const int HelpHeight = 300;

    /// <summary>The help window's parts, relative to the window: x, y, width, height (tests click them).</summary>
    public static readonly (int X, int Y, int Width, int Height) HelpNoteBox = (20, 66, 520, 100), HelpAttachBox = (20, 192, 24, 24),
        HelpSendButton = (60, 236, 180, 44), HelpCancelButton = (320, 236, 180, 44);

    // The attach box and its label are one target.
    private static readonly (int X, int Y, int Width, int Height) HelpAttachRow = (20, 192, 400, 24);

    /// <summary>The consent prompt's buttons, relative to the prompt: x, y, width, height.</summary>
    public static readonly (int X, int Y, int Width, int Height) AllowButton = (60, 130, 180, 44), DeclineButton = (320, 130, 180, 44);
    private static readonly TimeSpan MessageLifetime = TimeSpan.FromMinutes(1);

    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private readonly nint _display;
    private readonly nuint _root;
    private bool? _idleSupported;
    private readonly int _width;
    private readonly int _height;
    private readonly nint _gc;
    private readonly int _charWidth;
    private readonly int _lineHeight;
    private nuint _lockWindow;
    private nuint _bannerWindow;
    private nuint _messageWindow;
    private nuint _consentWindow;
    private string[] _consentLines = [];
    private string _consentDecline = "Decline";
    private TaskCompletionSource<bool>? _consent;
    private nuint _helpWindow;
    private TaskCompletionSource<HelpAnswer?>? _help;
    private readonly StringBuilder _helpNote = new();
    private bool _helpAttach;
    private bool _trayWanted;
    private nuint _trayIcon;
    private nuint _trayOwner;
    private DateTime _trayCheck;
    private string? _viewBanner;
    private string? _remoteBanner;
    private string _lockText = string.Empty;
    private string _bannerText = string.Empty;
    private string[] _messageLines = [];
    private DateTime _messageUntil;
    private bool _grabbed;
    private int _disposed;

    private X11Session(nint display)
    {
        _display = display;
        var screen = Xlib.XDefaultScreen(display);
        _root = Xlib.XRootWindow(display, screen);
        _width = Xlib.XDisplayWidth(display, screen);
        _height = Xlib.XDisplayHeight(display, screen);
        _gc = Xlib.XCreateGC(display, _root, 0, 0);
        var font = Xlib.XLoadQueryFont(display, "10x20");
        if (font != 0)
        {
            // XFontStruct begins with its extension data pointer, then the font id.
            Xlib.XSetFont(display, _gc, *(nuint*)(font + sizeof(nint)));
            (_charWidth, _lineHeight) = (10, 22);
        }
        else
        {
            (_charWidth, _lineHeight) = (6, 15); // the server's default "fixed" font
        }

        _thread = new Thread(Loop) { IsBackground = true, Name = "homeroom-x11" };
        _thread.Start();
    }

    public int Width => _width;

    public int Height => _height;

    /// <summary>Opens <paramref name="displayName"/> (null: <c>$DISPLAY</c>); throws when it cannot be opened or is not depth 24.</summary>
    public static X11Session Open(string? displayName)
    {
        Xlib.Init();
        var display = Xlib.XOpenDisplay(displayName);
        if (display == 0)
        {
            throw new InvalidOperationException($"cannot open X display '{displayName ?? Environment.GetEnvironmentVariable("DISPLAY")}'");
        }

        var depth = Xlib.XDefaultDepth(display, Xlib.XDefaultScreen(display));
        if (depth != 24)
        {
            Xlib.XCloseDisplay(display);
            throw new InvalidOperationException($"the X display has depth {depth}; the helper draws on depth 24 only");
        }

        return new X11Session(display);
    }

    public Task LockAsync(string message) => RunAsync(() =>
    {
        _lockText = message;
        if (_lockWindow == 0)
        {
            _lockWindow = CreateWindow(0, 0, _width, _height, LockColour);
        }

        Draw(_lockWindow);
        Grab();
        Restack();
        return true;
    });

    public Task UnlockAsync() => RunAsync(() =>
    {
        if (_lockWindow != 0)
        {
            Xlib.XUngrabKeyboard(_display, 0);
            Xlib.XUngrabPointer(_display, 0);
            Xlib.XDestroyWindow(_display, _lockWindow);
            (_lockWindow, _grabbed) = (0, false);
        }

        Xlib.XSync(_display, 0);
        return true;
    });

    public Task ShowMessageAsync(string? title, string text) => RunAsync(() =>
    {
        _messageLines = [.. title is { Length: > 0 } ? Wrap(title, MessageWidth - 40).Take(1) : [], .. Wrap(text, MessageWidth - 40).Take(5), "(click to close)"];
        _messageUntil = DateTime.UtcNow + MessageLifetime;
        if (_messageWindow == 0)
        {
            _messageWindow = CreateWindow((_width - MessageWidth) / 2, (_height - MessageHeight) / 2, MessageWidth, MessageHeight, MessageColour);
        }

        Draw(_messageWindow);
        Restack();
        return true;
    });

    public Task SetBannerAsync(string? viewerName) => RunAsync(() =>
    {
        _viewBanner = SessionBanners.Viewing(viewerName);
        UpdateBanner();
        return true;
    });

    public event Action? RemoteEndRequested;

    public Task SetRemoteBannerAsync(string? text) => RunAsync(() =>
    {
        _remoteBanner = SessionBanners.Remote(text);
        UpdateBanner();
        return true;
    });

    public Task<bool> AskConsentAsync(string text, CancellationToken cancellationToken, string declineLabel = "Decline")
    {
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shown = RunAsync(() =>
        {
            _consent?.TrySetResult(false);
            _consent = answer;
            _consentLines = [.. Wrap(text, ConsentWidth - 40).Take(4)];
            _consentDecline = declineLabel;
            if (_consentWindow == 0)
            {
                _consentWindow = CreateWindow((_width - ConsentWidth) / 2, (_height - ConsentHeight) / 2, ConsentWidth, ConsentHeight, ConsentColour);
            }

            Draw(_consentWindow);
            Restack();
            return true;
        });
        return ConsentPrompt.WaitAsync(shown, answer.Task, () => RunAsync(() =>
        {
            if (_consent == answer)
            {
                _consent = null;
                Destroy(ref _consentWindow);
            }

            return true;
        }), cancellationToken);
    }

    public Task<HelpAnswer?> AskForHelpAsync(CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<HelpAnswer?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var shown = RunAsync(() =>
        {
            // One window: a second ask takes it over, as it is (the first ask ends as cancelled).
            _help?.TrySetResult(null);
            _help = answer;
            if (_helpWindow == 0)
            {
                _helpNote.Clear();
                _helpAttach = false; // off until the student ticks it
                _helpWindow = CreateWindow((_width - HelpWidth) / 2, (_height - HelpHeight) / 2, HelpWidth, HelpHeight, HelpColour);
                Xlib.XSync(_display, 0);
            }

            // The keyboard first, so typing reaches the note as soon as the window can be seen.
            FocusHelp();
            Draw(_helpWindow);
            Restack();
            return true;
        });
        return ConsentPrompt.WaitAsync(shown, answer.Task, () => RunAsync(() =>
        {
            if (_help == answer)
            {
                _help = null;
                Destroy(ref _helpWindow);
            }

            return true;
        }), cancellationToken);
    }

    public event Action? HelpIconClicked;

    public Task SetHelpIconAsync(bool shown) => RunAsync(() =>
    {
        _trayWanted = shown;
        _trayCheck = DateTime.MinValue;
        if (!shown && _trayIcon != 0)
        {
            Destroy(ref _trayIcon);
            _trayOwner = 0;
        }

        return true;
    });

    public Task<(byte[] Rgb, int Width, int Height)> CaptureRgbAsync() => RunAsync(CaptureRgb);

    public Task InjectAsync(IReadOnlyList<RemoteInputEvent> events) => RunAsync(() =>
    {
        foreach (var e in events)
        {
            if (e.X is { } x && e.Y is { } y)
            {
                Xlib.XTestFakeMotionEvent(_display, -1, Math.Clamp(x, 0, _width - 1), Math.Clamp(y, 0, _height - 1), 0);
            }

            switch (e.Kind)
            {
                case "down" or "up":
                    Xlib.XTestFakeButtonEvent(_display, (uint)e.Button!.Value, e.Kind == "down" ? 1 : 0, 0);
                    break;
                case "wheel":
                    // X has no wheel axis in the core protocol: buttons 4 (up) and 5 (down), pressed and released per step.
                    var button = e.Delta < 0 ? 4u : 5u;
                    for (var i = 0; i < Math.Abs(e.Delta!.Value); i++)
                    {
                        Xlib.XTestFakeButtonEvent(_display, button, 1, 0);
                        Xlib.XTestFakeButtonEvent(_display, button, 0, 0);
                    }

                    break;
                case "keyDown" or "keyUp":
                    // A keysym the keyboard map does not have cannot be typed this way; it is skipped.
                    var keycode = Xlib.XKeysymToKeycode(_display, (nuint)e.Keysym!.Value);
                    if (keycode != 0)
                    {
                        Xlib.XTestFakeKeyEvent(_display, keycode, e.Kind == "keyDown" ? 1 : 0, 0);
                    }

                    break;
            }
        }

        Xlib.XFlush(_display);
        return true;
    });

    /// <summary>Where the pointer is now (tests check that input arrived).</summary>
    public Task<(int X, int Y)> PointerAsync() => RunAsync(() =>
    {
        Xlib.XQueryPointer(_display, _root, out _, out _, out var x, out var y, out _, out _, out _);
        return (x, y);
    });

    private void UpdateBanner()
    {
        var text = _remoteBanner ?? _viewBanner;
        if (text is null)
        {
            Destroy(ref _bannerWindow);
        }
        else
        {
            _bannerText = text;
            if (_bannerWindow == 0)
            {
                _bannerWindow = CreateWindow(0, 0, _width, BannerHeight, BannerColour);
            }

            Draw(_bannerWindow);
            Restack();
        }

        Xlib.XSync(_display, 0);
    }

    public Task<byte[]> ThumbnailAsync(int maxWidth, int maxBytes) => ThumbnailEncoder.EncodeAsync(RunAsync(CaptureRgb), maxWidth, maxBytes);

    public Task<(string? App, string? Title)> ForegroundAsync() => RunAsync(ReadForeground);

    public Task<TimeSpan?> IdleAsync() => RunAsync(ReadIdle);

    /// <summary>The root window's pixels as 0xRRGGBB values, row by row (for tests and the benchmark).</summary>
    public Task<(uint[] Pixels, int Width, int Height)> CaptureAsync() => RunAsync(() =>
    {
        var (rgb, width, height) = CaptureRgb();
        var pixels = new uint[width * height];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (uint)(rgb[i * 3] << 16 | rgb[(i * 3) + 1] << 8 | rgb[(i * 3) + 2]);
        }

        return (pixels, width, height);
    });

    /// <summary>A plain window with a title and class, given focus and named in <c>_NET_ACTIVE_WINDOW</c> as a window manager would (tests and the benchmark draw with it).</summary>
    public Task<nuint> OpenAppWindowAsync(string app, string title, int x, int y, int width, int height, uint colour) => RunAsync(() =>
    {
        var window = Xlib.XCreateSimpleWindow(_display, _root, x, y, (uint)width, (uint)height, 0, 0, colour);
        SetStringProperty(window, "WM_CLASS", "STRING", Encoding.Latin1.GetBytes(app.ToLowerInvariant() + "\0" + app + "\0"));
        SetStringProperty(window, "_NET_WM_NAME", "UTF8_STRING", Encoding.UTF8.GetBytes(title));
        Xlib.XMapRaised(_display, window);
        Xlib.XSetInputFocus(_display, window, 1, 0);
        var active = (ulong)window;
        Xlib.XChangeProperty(_display, _root, Xlib.XInternAtom(_display, "_NET_ACTIVE_WINDOW", 0), Xlib.XInternAtom(_display, "WINDOW", 0), 32, Xlib.PropModeReplace, (byte*)&active, 1);
        Xlib.XSync(_display, 0);
        return window;
    });

    /// <summary>Fills a rectangle of a window (the benchmark draws a busy desktop with it).</summary>
    public Task FillAsync(nuint window, int x, int y, int width, int height, uint colour) => RunAsync(() =>
    {
        Xlib.XSetForeground(_display, _gc, colour);
        Xlib.XFillRectangle(_display, window, _gc, x, y, (uint)width, (uint)height);
        Xlib.XFlush(_display);
        return true;
    });

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _consent?.TrySetResult(false);
        _help?.TrySetResult(null);
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        Xlib.XFreeGC(_display, _gc);
        Xlib.XCloseDisplay(_display);
        _work.Dispose();
    }

    // The X server's own count since the last input (MIT-SCREEN-SAVER), which input injected with XTest resets too. Without
    // libXss or the extension there is no answer, and usage is counted as before (every second an application is in front).
    private TimeSpan? ReadIdle()
    {
        if (_idleSupported is null)
        {
            try
            {
                _idleSupported = Xlib.XScreenSaverQueryExtension(_display, out _, out _) != 0;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _idleSupported = false;
            }
        }

        if (_idleSupported != true)
        {
            return null;
        }

        Xlib.XScreenSaverInfo info;
        return Xlib.XScreenSaverQueryInfo(_display, _root, &info) != 0 ? TimeSpan.FromMilliseconds(info.Idle) : null;
    }

    private Task<T> RunAsync<T>(Func<T> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try
                {
                    done.SetResult(action());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(X11Session)));
        }

        return done.Task;
    }

    private void Loop()
    {
        while (!_work.IsCompleted)
        {
            try
            {
                if (_work.TryTake(out var action, 100))
                {
                    action();
                }
            }
            catch (InvalidOperationException)
            {
                break; // completed while waiting
            }

            HandleEvents();
            if (_trayWanted && DateTime.UtcNow >= _trayCheck)
            {
                _trayCheck = DateTime.UtcNow + TrayCheckInterval;
                Dock();
            }

            if (_messageWindow != 0 && DateTime.UtcNow > _messageUntil)
            {
                Destroy(ref _messageWindow);
            }

            if (_lockWindow != 0)
            {
                Grab();
                Restack();
            }

            Xlib.XFlush(_display);
        }
    }

    private void HandleEvents()
    {
        var xevent = stackalloc byte[192];
        while (Xlib.XPending(_display) > 0)
        {
            Xlib.XNextEvent(_display, xevent);
            var type = *(int*)xevent;
            // XAnyEvent: type, serial, send_event, display, then the window.
            var window = *(nuint*)(xevent + 32);
            if (type == Xlib.Expose)
            {
                Draw(window);
            }
            else if (type == Xlib.ButtonPress && window == _messageWindow && window != 0)
            {
                Destroy(ref _messageWindow);
            }
            else if (type == Xlib.ButtonPress && window == _consentWindow && window != 0)
            {
                // XButtonEvent: after the window, root, subwindow and time come x and y within the window.
                var (x, y) = (*(int*)(xevent + 64), *(int*)(xevent + 68));
                if (Inside(AllowButton, x, y) || Inside(DeclineButton, x, y))
                {
                    _consent?.TrySetResult(Inside(AllowButton, x, y));
                    _consent = null;
                    Destroy(ref _consentWindow);
                }
            }
            else if (type == Xlib.ButtonPress && window == _bannerWindow && window != 0 && _remoteBanner is not null)
            {
                RemoteEndRequested?.Invoke();
            }
            else if (type == Xlib.ButtonPress && window == _trayIcon && window != 0)
            {
                HelpIconClicked?.Invoke();
            }
            else if (type == Xlib.DestroyNotify && window == _trayIcon && window != 0)
            {
                // The tray went and took the icon with it: a new one is made for the next tray.
                (_trayIcon, _trayOwner) = (0, 0);
            }
            else if (type == Xlib.ReparentNotify && window == _trayIcon && window != 0 && *(nuint*)(xevent + 48) == _root)
            {
                // The tray went and handed the icon back (XEmbed's save-set): hidden until a tray takes it again.
                Xlib.XUnmapWindow(_display, _trayIcon);
                _trayOwner = 0;
            }
            else if (type == Xlib.ButtonPress && window == _helpWindow && window != 0)
            {
                HelpClicked(*(int*)(xevent + 64), *(int*)(xevent + 68));
            }
            else if (type == Xlib.KeyPress && window == _helpWindow && window != 0)
            {
                HelpKey(xevent);
            }
        }
    }

    private void HelpClicked(int x, int y)
    {
        if (Inside(HelpSendButton, x, y) || Inside(HelpCancelButton, x, y))
        {
            _help?.TrySetResult(Inside(HelpSendButton, x, y) ? new HelpAnswer(_helpNote.ToString(), _helpAttach) : null);
            _help = null;
            Destroy(ref _helpWindow);
            return;
        }

        if (Inside(HelpAttachRow, x, y))
        {
            _helpAttach = !_helpAttach;
            Draw(_helpWindow);
        }

        // Without a window manager's click-to-focus, a click gives the window the keyboard back.
        FocusHelp();
    }

    // Typing into the note: Latin-1 characters (what the core fonts draw), Backspace, Return for a new line, Escape cancels.
    private void HelpKey(byte* xevent)
    {
        var typed = stackalloc byte[16];
        var count = Xlib.XLookupString(xevent, typed, 16, out var keysym, 0);
        switch (keysym)
        {
            case 0xFF1B: // Escape
                _help?.TrySetResult(null);
                _help = null;
                Destroy(ref _helpWindow);
                return;
            case 0xFF08: // BackSpace
                if (_helpNote.Length > 0)
                {
                    _helpNote.Length--;
                }

                break;
            case 0xFF0D or 0xFF8D: // Return, KP_Enter
                Append('\n');
                break;
            default:
                for (var i = 0; i < count; i++)
                {
                    if (typed[i] is >= 0x20 and not 0x7F)
                    {
                        Append((char)typed[i]);
                    }
                }

                break;
        }

        Draw(_helpWindow);

        void Append(char c)
        {
            if (_helpNote.Length < HelpRequestLimits.MaxNoteLength)
            {
                _helpNote.Append(c);
            }
        }
    }

    // The freedesktop system tray protocol: the tray owns the selection _NET_SYSTEM_TRAY_S<screen>; an application asks it to
    // embed an icon window with a SYSTEM_TRAY_REQUEST_DOCK client message, and says in _XEMBED_INFO that it wants it mapped.
    private void Dock()
    {
        var owner = Xlib.XGetSelectionOwner(_display, Xlib.XInternAtom(_display, $"_NET_SYSTEM_TRAY_S{Xlib.XDefaultScreen(_display)}", 0));
        if (owner == 0 || (owner == _trayOwner && _trayIcon != 0))
        {
            return;
        }

        if (_trayIcon == 0)
        {
            _trayIcon = Xlib.XCreateSimpleWindow(_display, _root, 0, 0, HelpIconSize, HelpIconSize, 0, 0, HelpIconColour);
            Xlib.XSelectInput(_display, _trayIcon, (nint)(Xlib.ExposureMask | Xlib.ButtonPressMask | Xlib.StructureNotifyMask));
            var info = stackalloc nuint[2];
            (info[0], info[1]) = (0, 1); // XEmbed version 0, XEMBED_MAPPED
            var xembedInfo = Xlib.XInternAtom(_display, "_XEMBED_INFO", 0);
            Xlib.XChangeProperty(_display, _trayIcon, xembedInfo, xembedInfo, 32, Xlib.PropModeReplace, (byte*)info, 2);
            SetStringProperty(_trayIcon, "_NET_WM_NAME", "UTF8_STRING", Encoding.UTF8.GetBytes("I need help"));
            SetStringProperty(_trayIcon, "WM_CLASS", "STRING", Encoding.Latin1.GetBytes("homeroom-help\0Homeroom\0"));
        }

        // XClientMessageEvent: type, serial, send_event, display, window (32), message_type (40), format (48), data.l[5] (56).
        var message = stackalloc byte[192];
        new Span<byte>(message, 192).Clear();
        *(int*)message = Xlib.ClientMessage;
        *(nuint*)(message + 32) = owner;
        *(nuint*)(message + 40) = Xlib.XInternAtom(_display, "_NET_SYSTEM_TRAY_OPCODE", 0);
        *(int*)(message + 48) = 32;
        *(nint*)(message + 64) = 0; // SYSTEM_TRAY_REQUEST_DOCK (data.l[0] is the time: CurrentTime)
        *(nuint*)(message + 72) = _trayIcon;
        Xlib.XSendEvent(_display, owner, 0, 0, message);
        Xlib.XSync(_display, 0);
        _trayOwner = owner;
    }

    private void FocusHelp()
    {
        if (_helpWindow != 0 && _lockWindow == 0)
        {
            Xlib.XSetInputFocus(_display, _helpWindow, Xlib.RevertToPointerRoot, 0);
            Xlib.XFlush(_display);
        }
    }

    private static bool Inside((int X, int Y, int Width, int Height) box, int x, int y) =>
        x >= box.X && x < box.X + box.Width && y >= box.Y && y < box.Y + box.Height;

    private nuint CreateWindow(int x, int y, int width, int height, uint background)
    {
        var window = Xlib.XCreateSimpleWindow(_display, _root, x, y, (uint)width, (uint)height, 0, 0, background);
        var attributes = new Xlib.XSetWindowAttributes { OverrideRedirect = 1 };
        Xlib.XChangeWindowAttributes(_display, window, Xlib.CWOverrideRedirect, &attributes);
        Xlib.XSelectInput(_display, window, (nint)(Xlib.ExposureMask | Xlib.ButtonPressMask | Xlib.KeyPressMask));
        Xlib.XMapRaised(_display, window);
        return window;
    }

    private void Destroy(ref nuint window)
    {
        if (window != 0)
        {
            Xlib.XDestroyWindow(_display, window);
            window = 0;
            Xlib.XSync(_display, 0);
        }
    }

    // The lock covers everything; the banner and a message stay visible above it.
    private void Restack()
    {
        // The help window stays under the lock: a locked screen takes no typing.
        foreach (var window in (nuint[])[_helpWindow, _lockWindow, _messageWindow, _consentWindow, _bannerWindow])
        {
            if (window != 0)
            {
                Xlib.XRaiseWindow(_display, window);
            }
        }

        Xlib.XFlush(_display);
    }

    private void Grab()
    {
        if (_grabbed || _lockWindow == 0)
        {
            return;
        }

        // Another client may hold a grab for a moment (a menu); tried again on every tick until it is ours.
        var keyboard = Xlib.XGrabKeyboard(_display, _lockWindow, 0, Xlib.GrabModeAsync, Xlib.GrabModeAsync, 0);
        var pointer = Xlib.XGrabPointer(_display, _lockWindow, 0, 0, Xlib.GrabModeAsync, Xlib.GrabModeAsync, _lockWindow, 0, 0);
        _grabbed = keyboard == Xlib.GrabSuccess && pointer == Xlib.GrabSuccess;
    }

    private void Draw(nuint window)
    {
        if (window == 0)
        {
            return;
        }

        if (window == _lockWindow)
        {
            Xlib.XSetForeground(_display, _gc, 0xFFFFFF);
            var lines = Wrap(_lockText, _width - 80).Take(12).ToArray();
            var top = (_height / 2) - (lines.Length * _lineHeight / 2);
            for (var i = 0; i < lines.Length; i++)
            {
                Text(window, (_width - (lines[i].Length * _charWidth)) / 2, top + (i * _lineHeight), lines[i]);
            }
        }
        else if (window == _bannerWindow)
        {
            Xlib.XSetForeground(_display, _gc, 0x000000);
            Text(window, 12, (BannerHeight / 2) + (_lineHeight / 3), _bannerText);
        }
        else if (window == _consentWindow)
        {
            Xlib.XSetForeground(_display, _gc, ConsentColour);
            Xlib.XFillRectangle(_display, window, _gc, 0, 0, ConsentWidth, ConsentHeight);
            Xlib.XSetForeground(_display, _gc, 0x202020);
            for (var i = 0; i < _consentLines.Length; i++)
            {
                Text(window, 20, 30 + (i * _lineHeight), _consentLines[i]);
            }

            Button(window, AllowButton, 0x1E7B34, "Allow");
            Button(window, DeclineButton, 0x6B6B6B, _consentDecline);
        }
        else if (window == _helpWindow)
        {
            DrawHelp(window);
        }
        else if (window == _trayIcon)
        {
            Xlib.XSetForeground(_display, _gc, HelpIconColour);
            Xlib.XFillRectangle(_display, window, _gc, 0, 0, HelpIconSize, HelpIconSize);
            Xlib.XSetForeground(_display, _gc, 0xFFFFFF);
            Text(window, (HelpIconSize - _charWidth) / 2, (HelpIconSize / 2) + (_lineHeight / 3), "?");
        }
        else if (window == _messageWindow)
        {
            Xlib.XSetForeground(_display, _gc, MessageColour);
            Xlib.XFillRectangle(_display, window, _gc, 0, 0, MessageWidth, MessageHeight);
            Xlib.XSetForeground(_display, _gc, 0x202020);
            for (var i = 0; i < _messageLines.Length; i++)
            {
                Text(window, 20, 30 + (i * _lineHeight), _messageLines[i]);
            }
        }

        Xlib.XFlush(_display);
    }

    private void DrawHelp(nuint window)
    {
        Xlib.XSetForeground(_display, _gc, HelpColour);
        Xlib.XFillRectangle(_display, window, _gc, 0, 0, HelpWidth, HelpHeight);
        Xlib.XSetForeground(_display, _gc, 0x202020);
        Text(window, 20, 30, "I need help");
        Text(window, 20, 56, "A note for your teacher (optional):");
        var box = HelpNoteBox;
        Xlib.XSetForeground(_display, _gc, 0xFFFFFF);
        Xlib.XFillRectangle(_display, window, _gc, box.X, box.Y, (uint)box.Width, (uint)box.Height);
        Xlib.XSetForeground(_display, _gc, 0x202020);
        // The end of the note shows, with the cursor after it.
        var lines = Wrap(_helpNote.ToString() + "_", box.Width - 16).ToArray();
        var fit = Math.Max(1, (box.Height - 8) / _lineHeight);
        var first = Math.Max(0, lines.Length - fit);
        for (var i = first; i < lines.Length; i++)
        {
            Text(window, box.X + 8, box.Y + 4 + ((i - first + 1) * _lineHeight) - 6, lines[i]);
        }

        Text(window, box.X + box.Width - (9 * _charWidth), box.Y + box.Height + 18, $"{_helpNote.Length}/{HelpRequestLimits.MaxNoteLength}");
        var attach = HelpAttachBox;
        Xlib.XSetForeground(_display, _gc, 0x202020);
        Xlib.XFillRectangle(_display, window, _gc, attach.X, attach.Y, (uint)attach.Width, (uint)attach.Height);
        Xlib.XSetForeground(_display, _gc, _helpAttach ? 0x1E7B34u : 0xFFFFFFu);
        Xlib.XFillRectangle(_display, window, _gc, attach.X + 3, attach.Y + 3, (uint)attach.Width - 6, (uint)attach.Height - 6);
        Xlib.XSetForeground(_display, _gc, 0x202020);
        Text(window, attach.X + attach.Width + 10, attach.Y + attach.Height - 5, "Attach a picture of my screen");
        Button(window, HelpSendButton, 0x1E7B34, "Send");
        Button(window, HelpCancelButton, 0x6B6B6B, "Cancel");
    }

    private void Button(nuint window, (int X, int Y, int Width, int Height) box, uint colour, string label)
    {
        Xlib.XSetForeground(_display, _gc, colour);
        Xlib.XFillRectangle(_display, window, _gc, box.X, box.Y, (uint)box.Width, (uint)box.Height);
        Xlib.XSetForeground(_display, _gc, 0xFFFFFF);
        Text(window, box.X + ((box.Width - (label.Length * _charWidth)) / 2), box.Y + (box.Height / 2) + (_lineHeight / 3), label);
    }

    private void Text(nuint window, int x, int y, string text)
    {
        // Core X fonts draw Latin-1; anything else shows as '?'.
        var bytes = Encoding.Latin1.GetBytes(text);
        fixed (byte* p = bytes)
        {
            Xlib.XDrawString(_display, window, _gc, x, y, p, bytes.Length);
        }
    }

    private IEnumerable<string> Wrap(string text, int pixels)
    {
        var perLine = Math.Max(8, pixels / _charWidth);
        foreach (var paragraph in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var line = new StringBuilder();
            foreach (var word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > perLine)
                {
                    yield return line.ToString();
                    line.Clear();
                }

                line.Append(line.Length > 0 ? " " : string.Empty).Append(word.Length > perLine ? word[..perLine] : word);
            }

            yield return line.ToString();
        }
    }

    private (byte[] Rgb, int Width, int Height) CaptureRgb()
    {
        var image = Xlib.XGetImage(_display, _root, 0, 0, (uint)_width, (uint)_height, unchecked((nuint)~0UL), Xlib.ZPixmap);
        if (image == null)
        {
            throw new InvalidOperationException("XGetImage of the root window failed");
        }

        try
        {
            if (image->BitsPerPixel != 32 || image->RedMask != 0xFF0000 || image->BlueMask != 0xFF)
            {
                throw new InvalidOperationException($"unsupported X image layout ({image->BitsPerPixel} bits per pixel)");
            }

            var rgb = new byte[image->Width * image->Height * 3];
            for (var y = 0; y < image->Height; y++)
            {
                var row = (uint*)(image->Data + ((long)y * image->BytesPerLine));
                for (var x = 0; x < image->Width; x++)
                {
                    var pixel = row[x];
                    var at = ((y * image->Width) + x) * 3;
                    rgb[at] = (byte)(pixel >> 16);
                    rgb[at + 1] = (byte)(pixel >> 8);
                    rgb[at + 2] = (byte)pixel;
                }
            }

            return (rgb, image->Width, image->Height);
        }
        finally
        {
            Xlib.XDestroyImage(image);
        }
    }

    private (string? App, string? Title) ReadForeground()
    {
        var window = ReadActiveWindow();
        if (window == 0)
        {
            Xlib.XGetInputFocus(_display, out window, out _);
        }

        if (window is 0 or 1 || window == _root)
        {
            return (null, null); // None or PointerRoot: nothing focused
        }

        var title = ReadText(window, "_NET_WM_NAME", Encoding.UTF8) ?? ReadText(window, "WM_NAME", Encoding.Latin1);
        var app = ReadText(window, "WM_CLASS", Encoding.Latin1)?.Split('\0', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts ? parts[^1] : null;
        return (app, title);
    }

    private nuint ReadActiveWindow()
    {
        var atom = Xlib.XInternAtom(_display, "_NET_ACTIVE_WINDOW", 1);
        if (atom == 0 || Xlib.XGetWindowProperty(_display, _root, atom, 0, 1, 0, 0, out _, out var format, out var items, out _, out var value) != 0 || value == null)
        {
            return 0;
        }

        try
        {
            // Format-32 properties come back as C longs.
            return format == 32 && items >= 1 ? *(nuint*)value : 0;
        }
        finally
        {
            Xlib.XFree(value);
        }
    }

    private string? ReadText(nuint window, string property, Encoding encoding)
    {
        var atom = Xlib.XInternAtom(_display, property, 1);
        if (atom == 0 || Xlib.XGetWindowProperty(_display, window, atom, 0, 1024, 0, 0, out _, out var format, out var items, out _, out var value) != 0 || value == null)
        {
            return null;
        }

        try
        {
            return format == 8 && items > 0 ? encoding.GetString(value, (int)Math.Min(items, 4096)) : null;
        }
        finally
        {
            Xlib.XFree(value);
        }
    }

    private void SetStringProperty(nuint window, string property, string type, byte[] value)
    {
        fixed (byte* p = value)
        {
            Xlib.XChangeProperty(_display, window, Xlib.XInternAtom(_display, property, 0), Xlib.XInternAtom(_display, type, 0), 8, Xlib.PropModeReplace, p, value.Length);
        }
    }
}

/// <summary>Waits for the consent prompt's answer off the X thread (the session class is unsafe, where nothing may be awaited).</summary>
internal static class ConsentPrompt
{
    public static async Task<T> WaitAsync<T>(Task shown, Task<T> answer, Func<Task> remove, CancellationToken cancellationToken)
    {
        await shown;
        try
        {
            return await answer.WaitAsync(cancellationToken);
        }
        finally
        {
            await remove();
        }
    }
}
