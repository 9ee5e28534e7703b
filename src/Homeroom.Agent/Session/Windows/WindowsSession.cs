using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Homeroom.Agent.Session.X11;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session.Windows;

/// <summary>
/// The session helper's windows on a Windows desktop (the helper runs in the student's session, started there by the
/// service: <see cref="WindowsHelperLauncher"/>). One thread owns every window and runs their message loop; the async
/// methods post their work to it (<c>PostThreadMessage</c>) and wait. The lock screen is a topmost pop-up over the whole
/// virtual screen (every monitor) with the school's message, that ignores <c>WM_CLOSE</c> (Alt+F4), is put back on top
/// every 100 ms, and, while it shows, a low-level keyboard hook swallows the keyboard's own keys (Ctrl+Alt+Del, which
/// Windows keeps for itself, still opens the secure screen). Message pop-ups, the viewing banner along the top edge, the
/// remote session's banner (a click ends the session) and the consent prompt are topmost pop-ups above it that do not
/// take the focus. Captures are a GDI <c>BitBlt</c> of the virtual screen into a 32-bit DIB section, turned from BGRA into
/// RGB (<see cref="WindowsInput.BgraToRgb"/>); input is <c>SendInput</c> (<see cref="WindowsInput.Map"/>). The process is
/// per-monitor DPI aware, so both work in physical pixels. The "I need help" window and a tray icon are not built on
/// Windows. Written from Microsoft's documentation and compiled on Linux: <b>never run on Windows</b>.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe class WindowsSession : ISessionScreen
{
    private const string ClassName = "HomeroomSessionHelper";
    private const int MessageWidth = 520, MessageHeight = 170, ConsentWidth = 560, ConsentHeight = 200;
    private static readonly TimeSpan MessageLifetime = TimeSpan.FromMinutes(1);

    private static readonly Win32Ui.Rect AllowButton = new(60, 130, 240, 174), DeclineButton = new(320, 130, 500, 174);

    // The window procedure and keyboard hook are static (unmanaged callbacks); one session per process.
    private static WindowsSession? s_current;

    private readonly Thread _thread;
    private readonly ConcurrentQueue<Action> _work = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _threadId;
    private int _disposed;
    private nint _font, _bigFont, _keyboardHook;
    private VirtualScreen _screen;

    private nint _lockWindow, _messageWindow, _bannerWindow, _consentWindow;
    private string _lockText = string.Empty;
    private string _messageText = string.Empty;
    private DateTime _messageUntil;
    private string? _viewBanner, _remoteBanner;
    private string _consentText = string.Empty, _consentDecline = "Decline";
    private TaskCompletionSource<bool>? _consent;

    private WindowsSession()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "homeroom-windows-session" };
    }

    /// <summary>Starts the windows' thread and its message loop.</summary>
    public static Task<WindowsSession> OpenAsync()
    {
        var session = new WindowsSession();
        if (Interlocked.CompareExchange(ref s_current, session, null) is not null)
        {
            throw new InvalidOperationException("a Windows session helper is already open in this process");
        }

        session._thread.Start();
        return session._ready.Task.ContinueWith(_ => session, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public event Action? RemoteEndRequested;

    public event Action? HelpIconClicked
    {
        add { }
        remove { }
    }

    public Task LockAsync(string message) => RunAsync(() =>
    {
        _lockText = message;
        if (_lockWindow == 0)
        {
            _lockWindow = Create(_screen.X, _screen.Y, _screen.Width, _screen.Height, activate: true);
            _keyboardHook = Win32Ui.SetWindowsHook(Win32Ui.WhKeyboardLowLevel, &KeyboardHook, Win32Ui.GetModuleHandle(0), 0);
        }

        Win32Ui.InvalidateRect(_lockWindow, null, false);
        Restack();
        Win32Ui.SetForegroundWindow(_lockWindow);
        return true;
    });

    public Task UnlockAsync() => RunAsync(() =>
    {
        if (_keyboardHook != 0)
        {
            Win32Ui.UnhookWindowsHookEx(_keyboardHook);
            _keyboardHook = 0;
        }

        Destroy(ref _lockWindow);
        return true;
    });

    public Task ShowMessageAsync(string? title, string text) => RunAsync(() =>
    {
        _messageText = (title is { Length: > 0 } ? title + "\n\n" : string.Empty) + text + "\n\n(click to close)";
        _messageUntil = DateTime.UtcNow + MessageLifetime;
        if (_messageWindow == 0)
        {
            _messageWindow = Create(_screen.X + (_screen.Width - MessageWidth) / 2, _screen.Y + (_screen.Height - MessageHeight) / 2, MessageWidth, MessageHeight, activate: false);
        }

        Win32Ui.InvalidateRect(_messageWindow, null, false);
        Restack();
        return true;
    });

    public Task SetBannerAsync(string? viewerName) => RunAsync(() =>
    {
        _viewBanner = SessionBanners.Viewing(viewerName);
        UpdateBanner();
        return true;
    });

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
            _consentText = text;
            _consentDecline = declineLabel;
            if (_consentWindow == 0)
            {
                _consentWindow = Create(_screen.X + (_screen.Width - ConsentWidth) / 2, _screen.Y + (_screen.Height - ConsentHeight) / 2, ConsentWidth, ConsentHeight, activate: false);
            }

            Win32Ui.InvalidateRect(_consentWindow, null, false);
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

    /// <summary>Not built on Windows: the helper never opens it there (no tray icon, no <c>homeroom-agent help</c> socket).</summary>
    public Task<HelpAnswer?> AskForHelpAsync(CancellationToken cancellationToken) =>
        Task.FromException<HelpAnswer?>(new InvalidOperationException("the help window is not built on Windows"));

    /// <summary>Not built on Windows (no notification-area icon): nothing is shown.</summary>
    public Task SetHelpIconAsync(bool shown) => Task.CompletedTask;

    public Task<(byte[] Rgb, int Width, int Height)> CaptureRgbAsync() => RunAsync(CaptureRgb);

    public Task<byte[]> ThumbnailAsync(int maxWidth, int maxBytes) => ThumbnailEncoder.EncodeAsync(CaptureRgbAsync(), maxWidth, maxBytes);

    public Task<(string? App, string? Title)> ForegroundAsync() => Task.FromResult(ReadForeground());

    public Task<TimeSpan?> IdleAsync()
    {
        var info = new Win32Ui.LastInputInfo { Size = (uint)sizeof(Win32Ui.LastInputInfo) };
        if (!Win32Ui.GetLastInputInfo(&info))
        {
            return Task.FromResult<TimeSpan?>(null);
        }

        // Both are milliseconds since start in 32 bits; the difference is right across the 49-day wrap.
        var idle = unchecked((uint)Environment.TickCount - info.Time);
        return Task.FromResult<TimeSpan?>(TimeSpan.FromMilliseconds(idle));
    }

    public Task InjectAsync(IReadOnlyList<RemoteInputEvent> events) => RunAsync(() =>
    {
        var mapped = WindowsInput.Map(events, _screen);
        if (mapped.Count == 0)
        {
            return true;
        }

        var inputs = new Win32Ui.Input[mapped.Count];
        for (var i = 0; i < mapped.Count; i++)
        {
            var e = mapped[i];
            inputs[i] = e.Keyboard
                ? new Win32Ui.Input { Type = 1, Union = new() { Keyboard = new() { VirtualKey = e.VirtualKey, Scan = e.Scan, Flags = e.Flags } } }
                : new Win32Ui.Input { Type = 0, Union = new() { Mouse = new() { Dx = e.Dx, Dy = e.Dy, MouseData = e.MouseData, Flags = e.Flags } } };
        }

        fixed (Win32Ui.Input* first = inputs)
        {
            // Fewer sent than asked: blocked by UIPI (a window of higher integrity, such as an elevated program, in front).
            Win32Ui.SendInput((uint)inputs.Length, first, sizeof(Win32Ui.Input));
        }

        return true;
    });

    private (byte[] Rgb, int Width, int Height) CaptureRgb()
    {
        _screen = ReadVirtualScreen();
        var (width, height) = (_screen.Width, _screen.Height);
        var screenDc = Win32Ui.GetDC(0);
        var memoryDc = Win32Ui.CreateCompatibleDC(screenDc);
        var header = new Win32Ui.BitmapInfoHeader
        {
            Size = (uint)sizeof(Win32Ui.BitmapInfoHeader),
            Width = width,
            Height = -height, // top-down rows
            Planes = 1,
            BitCount = 32,
        };

        // BITMAPINFO is the header and one RGBQUAD, unused for 32-bit pixels: room for it after the header.
        var info = stackalloc byte[sizeof(Win32Ui.BitmapInfoHeader) + 4];
        *(Win32Ui.BitmapInfoHeader*)info = header;
        var bitmap = Win32Ui.CreateDIBSection(memoryDc, (Win32Ui.BitmapInfoHeader*)info, Win32Ui.DibRgbColors, out var bits, 0, 0);
        try
        {
            if (bitmap == 0 || bits == 0)
            {
                throw new InvalidOperationException("the screen could not be captured (no DIB section)");
            }

            var previous = Win32Ui.SelectObject(memoryDc, bitmap);
            var copied = Win32Ui.BitBlt(memoryDc, 0, 0, width, height, screenDc, _screen.X, _screen.Y, Win32Ui.SrcCopy | Win32Ui.CaptureBlt);
            Win32Ui.SelectObject(memoryDc, previous);
            if (!copied)
            {
                // The secure desktop (UAC prompt, Ctrl+Alt+Del) or a locked workstation: the helper's desktop is not the one shown.
                throw new InvalidOperationException("the screen could not be captured (BitBlt failed)");
            }

            return (WindowsInput.BgraToRgb(new ReadOnlySpan<byte>((void*)bits, width * height * 4), width, height, width * 4), width, height);
        }
        finally
        {
            if (bitmap != 0)
            {
                Win32Ui.DeleteObject(bitmap);
            }

            Win32Ui.DeleteDC(memoryDc);
            Win32Ui.ReleaseDC(0, screenDc);
        }
    }

    private static (string? App, string? Title) ReadForeground()
    {
        var window = Win32Ui.GetForegroundWindow();
        if (window == 0)
        {
            return (null, null);
        }

        var text = stackalloc char[512];
        var length = Win32Ui.GetWindowText(window, text, 512);
        var title = length > 0 ? new string(text, 0, length) : null;
        string? app = null;
        Win32Ui.GetWindowThreadProcessId(window, out var processId);
        var process = processId == 0 ? 0 : Win32Ui.OpenProcess(Win32Ui.ProcessQueryLimitedInformation, false, processId);
        if (process != 0)
        {
            try
            {
                var path = stackalloc char[1024];
                var size = 1024u;
                if (Win32Ui.QueryFullProcessImageName(process, 0, path, ref size))
                {
                    // The program's file name without .exe: "chrome", "WINWORD", as WM_CLASS names the application on Linux.
                    app = Path.GetFileNameWithoutExtension(new string(path, 0, (int)size));
                }
            }
            finally
            {
                WindowsPipes.CloseHandle(process);
            }
        }

        return (app, title);
    }

    private static VirtualScreen ReadVirtualScreen() => new(
        Win32Ui.GetSystemMetrics(Win32Ui.SmXVirtualScreen), Win32Ui.GetSystemMetrics(Win32Ui.SmYVirtualScreen),
        Math.Max(1, Win32Ui.GetSystemMetrics(Win32Ui.SmCxVirtualScreen)), Math.Max(1, Win32Ui.GetSystemMetrics(Win32Ui.SmCyVirtualScreen)));

    private Task<T> RunAsync<T>(Func<T> work)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Enqueue(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        if (!Win32Ui.PostThreadMessage(_threadId, Win32Ui.WmApp, 0, 0))
        {
            done.TrySetException(new InvalidOperationException($"the session helper's window thread is gone (error {Marshal.GetLastPInvokeError()})"));
        }

        return done.Task;
    }

    private void Loop()
    {
        Win32Ui.Message message;
        // The thread's message queue exists once it has asked for a message; only then can work be posted to it.
        Win32Ui.PeekMessage(&message, 0, 0, 0, Win32Ui.PmNoRemove);
        _threadId = Win32Ui.GetCurrentThreadId();
        Win32Ui.SetProcessDpiAwarenessContext(Win32Ui.DpiAwarenessPerMonitorV2);
        _screen = ReadVirtualScreen();
        _font = Win32Ui.CreateFont(-18, 0, 0, 0, 400, 0, 0, 0, 1, 0, 0, 5, 0, "Segoe UI");
        _bigFont = Win32Ui.CreateFont(-36, 0, 0, 0, 600, 0, 0, 0, 1, 0, 0, 5, 0, "Segoe UI");
        fixed (char* name = ClassName)
        {
            var windowClass = new Win32Ui.WindowClass
            {
                Size = (uint)sizeof(Win32Ui.WindowClass),
                WindowProcedure = &WindowProcedure,
                Instance = Win32Ui.GetModuleHandle(0),
                Cursor = Win32Ui.LoadCursor(0, Win32Ui.IdcArrow),
                ClassName = name,
            };
            Win32Ui.RegisterClass(&windowClass);
        }

        // A hidden window for the 100 ms timer that keeps the lock on top and ends old messages.
        var timerWindow = Create(0, 0, 1, 1, activate: false, visible: false);
        Win32Ui.SetTimer(timerWindow, 1, 100, 0);
        _ready.TrySetResult();
        while (Win32Ui.GetMessage(&message, 0, 0, 0) > 0)
        {
            if (message.Window == 0 && message.Id == Win32Ui.WmApp)
            {
                while (_work.TryDequeue(out var work))
                {
                    work();
                }

                continue;
            }

            Win32Ui.TranslateMessage(&message);
            Win32Ui.DispatchMessage(&message);
        }
    }

    private nint Create(int x, int y, int width, int height, bool activate, bool visible = true)
    {
        var exStyle = Win32Ui.WsExTopmost | Win32Ui.WsExToolWindow | (activate ? 0 : Win32Ui.WsExNoActivate);
        fixed (char* name = ClassName)
        fixed (char* title = "Homeroom")
        {
            return Win32Ui.CreateWindow(exStyle, name, title, Win32Ui.WsPopup | (visible ? Win32Ui.WsVisible : 0), x, y, width, height, 0, 0, Win32Ui.GetModuleHandle(0), 0);
        }
    }

    private static void Destroy(ref nint window)
    {
        if (window != 0)
        {
            Win32Ui.DestroyWindow(window);
            window = 0;
        }
    }

    private void UpdateBanner()
    {
        if (_viewBanner is null && _remoteBanner is null)
        {
            Destroy(ref _bannerWindow);
            return;
        }

        if (_bannerWindow == 0)
        {
            _bannerWindow = Create(_screen.X, _screen.Y, _screen.Width, X11Session.BannerHeight, activate: false);
        }

        Win32Ui.InvalidateRect(_bannerWindow, null, false);
        Restack();
    }

    /// <summary>The lock at the top of the topmost windows, and the banner, message and prompt above it, in that order.</summary>
    private void Restack()
    {
        foreach (var window in (ReadOnlySpan<nint>)[_lockWindow, _messageWindow, _consentWindow, _bannerWindow])
        {
            if (window != 0)
            {
                Win32Ui.SetWindowPos(window, Win32Ui.HwndTopmost, 0, 0, 0, 0, Win32Ui.SwpNoMove | Win32Ui.SwpNoSize | Win32Ui.SwpNoActivate | Win32Ui.SwpShowWindow);
            }
        }
    }

    private void OnTimer()
    {
        if (_messageWindow != 0 && DateTime.UtcNow > _messageUntil)
        {
            Destroy(ref _messageWindow);
        }

        if (_lockWindow != 0)
        {
            // Another topmost window (the taskbar, a program's own) may have come above it.
            Restack();
        }
    }

    private void Paint(nint window)
    {
        Win32Ui.PaintStruct paint;
        var dc = Win32Ui.BeginPaint(window, &paint);
        try
        {
            Win32Ui.SetBkMode(dc, Win32Ui.Transparent);
            if (window == _lockWindow)
            {
                var whole = new Win32Ui.Rect(0, 0, _screen.Width, _screen.Height);
                Fill(dc, whole, X11Session.LockColour);
                Text(dc, whole, _lockText.Length > 0 ? _lockText : "This device is locked.", 0xFFFFFF, _bigFont, Win32Ui.DtCenter | Win32Ui.DtVCenter | Win32Ui.DtSingleLine);
            }
            else if (window == _messageWindow)
            {
                Fill(dc, new(0, 0, MessageWidth, MessageHeight), X11Session.MessageColour);
                Text(dc, new(20, 16, MessageWidth - 20, MessageHeight - 12), _messageText, 0x000000, _font, Win32Ui.DtWordBreak);
            }
            else if (window == _bannerWindow)
            {
                var strip = new Win32Ui.Rect(0, 0, _screen.Width, X11Session.BannerHeight);
                Fill(dc, strip, X11Session.BannerColour);
                Text(dc, strip, string.Join("   |   ", new[] { _viewBanner, _remoteBanner }.OfType<string>()), 0x000000, _font, Win32Ui.DtCenter | Win32Ui.DtVCenter | Win32Ui.DtSingleLine | Win32Ui.DtEndEllipsis);
            }
            else if (window == _consentWindow)
            {
                Fill(dc, new(0, 0, ConsentWidth, ConsentHeight), X11Session.ConsentColour);
                Text(dc, new(20, 16, ConsentWidth - 20, AllowButton.Top - 8), _consentText, 0x000000, _font, Win32Ui.DtWordBreak);
                Fill(dc, AllowButton, 0x1E7B34);
                Text(dc, AllowButton, "Allow", 0xFFFFFF, _font, Win32Ui.DtCenter | Win32Ui.DtVCenter | Win32Ui.DtSingleLine);
                Fill(dc, DeclineButton, 0x8A1C1C);
                Text(dc, DeclineButton, _consentDecline, 0xFFFFFF, _font, Win32Ui.DtCenter | Win32Ui.DtVCenter | Win32Ui.DtSingleLine);
            }
        }
        finally
        {
            Win32Ui.EndPaint(window, &paint);
        }
    }

    private static void Fill(nint dc, Win32Ui.Rect rect, uint rgb)
    {
        var brush = Win32Ui.CreateSolidBrush(Win32Ui.ColourRef(rgb));
        Win32Ui.FillRect(dc, &rect, brush);
        Win32Ui.DeleteObject(brush);
    }

    private static void Text(nint dc, Win32Ui.Rect rect, string text, uint rgb, nint font, uint format)
    {
        var previous = Win32Ui.SelectObject(dc, font);
        Win32Ui.SetTextColor(dc, Win32Ui.ColourRef(rgb));
        fixed (char* chars = text)
        {
            Win32Ui.DrawText(dc, chars, text.Length, &rect, format | Win32Ui.DtNoPrefix);
        }

        Win32Ui.SelectObject(dc, previous);
    }

    private nint? OnMessage(nint window, uint message, nint lParam)
    {
        switch (message)
        {
            case Win32Ui.WmPaint:
                Paint(window);
                return 0;
            case Win32Ui.WmEraseBackground:
                return 1; // painting fills the whole window
            case Win32Ui.WmClose:
                return 0; // no Alt+F4: only the service's unlock, a click or a time limit closes these windows
            case Win32Ui.WmMouseActivate when window != _lockWindow:
                return Win32Ui.MaNoActivate; // a click on a banner or prompt leaves the student's window focused
            case Win32Ui.WmTimer:
                OnTimer();
                return 0;
            case Win32Ui.WmLeftButtonUp:
                var (x, y) = ((short)(lParam & 0xFFFF), (short)((lParam >> 16) & 0xFFFF));
                if (window == _messageWindow)
                {
                    Destroy(ref _messageWindow);
                }
                else if (window == _consentWindow && (AllowButton.Contains(x, y) || DeclineButton.Contains(x, y)))
                {
                    _consent?.TrySetResult(AllowButton.Contains(x, y));
                }
                else if (window == _bannerWindow && _remoteBanner is not null)
                {
                    RemoteEndRequested?.Invoke();
                }

                return 0;
            default:
                return null;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static nint WindowProcedure(nint window, uint message, nint wParam, nint lParam)
    {
        try
        {
            if (Volatile.Read(ref s_current) is { } session && session.OnMessage(window, message, lParam) is { } handled)
            {
                return handled;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // An exception must not cross into user32; the message gets the default handling.
        }

        return Win32Ui.DefWindowProc(window, message, wParam, lParam);
    }

    /// <summary>While locked, the keyboard's own key presses go nowhere (injected ones, a technician's, pass).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static nint KeyboardHook(int code, nint wParam, nint lParam)
    {
        if (code >= 0 && Volatile.Read(ref s_current) is { _lockWindow: not 0 } && (((Win32Ui.KeyboardHookData*)lParam)->Flags & Win32Ui.LowLevelKeyInjected) == 0)
        {
            return 1;
        }

        return Win32Ui.CallNextHookEx(0, code, wParam, lParam);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // The windows go with their thread, the lock too (as on X11, where they go with the display connection): the
        // service, which remembers the lock, locks again when a helper comes back.
        _work.Enqueue(() =>
        {
            if (_keyboardHook != 0)
            {
                Win32Ui.UnhookWindowsHookEx(_keyboardHook);
            }

            Win32Ui.DeleteObject(_font);
            Win32Ui.DeleteObject(_bigFont);
            Win32Ui.PostQuitMessage(0);
        });
        if (Win32Ui.PostThreadMessage(_threadId, Win32Ui.WmApp, 0, 0))
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        Interlocked.CompareExchange(ref s_current, null, this);
    }
}
