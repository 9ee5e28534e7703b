using System.Runtime.InteropServices;

namespace Homeroom.Agent.Session.X11;

/// <summary>
/// The few libX11 calls the session helper needs, called directly (no GUI framework). Every
/// <c>Display</c> is used by one thread at a time; <see cref="Init"/> runs <c>XInitThreads</c> first
/// and replaces Xlib's default error handler, which would end the process on a window that vanished.
/// </summary>
internal static unsafe partial class Xlib
{
    private const string Lib = "libX11.so.6";

    public const int ZPixmap = 2;
    public const int GrabModeAsync = 1;
    public const int GrabSuccess = 0;
    public const nuint CWOverrideRedirect = 1 << 9;
    public const long ExposureMask = 1 << 15;
    public const long ButtonPressMask = 1 << 2;
    public const long KeyPressMask = 1 << 0;
    public const int Expose = 12;
    public const int ButtonPress = 4;
    public const int KeyPress = 2;
    public const int DestroyNotify = 17;
    public const int ReparentNotify = 21;
    public const int ClientMessage = 33;
    public const long StructureNotifyMask = 1 << 17;
    public const int RevertToPointerRoot = 1;
    public const int PropModeReplace = 0;

    private static readonly Lock InitLock = new();
    private static bool _initialized;

    /// <summary>Once per process, before any display is opened.</summary>
    public static void Init()
    {
        lock (InitLock)
        {
            if (_initialized)
            {
                return;
            }

            _ = XInitThreads();
            _ = XSetErrorHandler(&IgnoreError);
            _initialized = true;
        }
    }

    [UnmanagedCallersOnly]
    private static int IgnoreError(nint display, nint errorEvent) => 0;

    [StructLayout(LayoutKind.Sequential)]
    public struct XSetWindowAttributes
    {
        public nuint BackgroundPixmap;
        public nuint BackgroundPixel;
        public nuint BorderPixmap;
        public nuint BorderPixel;
        public int BitGravity;
        public int WinGravity;
        public int BackingStore;
        public nuint BackingPlanes;
        public nuint BackingPixel;
        public int SaveUnder;
        public nint EventMask;
        public nint DoNotPropagateMask;
        public int OverrideRedirect;
        public nuint Colormap;
        public nuint Cursor;
    }

    /// <summary>The start of Xlib's <c>XImage</c> (x86-64 and arm64 layout), as far as the helper reads it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct XImage
    {
        public int Width;
        public int Height;
        public int XOffset;
        public int Format;
        public byte* Data;
        public int ByteOrder;
        public int BitmapUnit;
        public int BitmapBitOrder;
        public int BitmapPad;
        public int Depth;
        public int BytesPerLine;
        public int BitsPerPixel;
        public nuint RedMask;
        public nuint GreenMask;
        public nuint BlueMask;
    }

    [LibraryImport(Lib)]
    private static partial int XInitThreads();

    [LibraryImport(Lib)]
    private static partial nint XSetErrorHandler(delegate* unmanaged<nint, nint, int> handler);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint XOpenDisplay(string? name);

    [LibraryImport(Lib)]
    public static partial int XCloseDisplay(nint display);

    [LibraryImport(Lib)]
    public static partial int XDefaultScreen(nint display);

    [LibraryImport(Lib)]
    public static partial nuint XRootWindow(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDisplayWidth(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDisplayHeight(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial int XDefaultDepth(nint display, int screen);

    [LibraryImport(Lib)]
    public static partial nuint XCreateSimpleWindow(nint display, nuint parent, int x, int y, uint width, uint height, uint borderWidth, nuint border, nuint background);

    [LibraryImport(Lib)]
    public static partial int XChangeWindowAttributes(nint display, nuint window, nuint valueMask, XSetWindowAttributes* attributes);

    [LibraryImport(Lib)]
    public static partial int XSelectInput(nint display, nuint window, nint eventMask);

    [LibraryImport(Lib)]
    public static partial int XMapRaised(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial int XRaiseWindow(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial int XDestroyWindow(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial nint XCreateGC(nint display, nuint drawable, nuint valueMask, nint values);

    [LibraryImport(Lib)]
    public static partial int XFreeGC(nint display, nint gc);

    [LibraryImport(Lib)]
    public static partial int XSetForeground(nint display, nint gc, nuint color);

    [LibraryImport(Lib)]
    public static partial int XSetFont(nint display, nint gc, nuint font);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint XLoadQueryFont(nint display, string name);

    [LibraryImport(Lib)]
    public static partial int XFillRectangle(nint display, nuint drawable, nint gc, int x, int y, uint width, uint height);

    [LibraryImport(Lib)]
    public static partial int XDrawString(nint display, nuint drawable, nint gc, int x, int y, byte* text, int length);

    [LibraryImport(Lib)]
    public static partial int XFlush(nint display);

    [LibraryImport(Lib)]
    public static partial int XSync(nint display, int discard);

    [LibraryImport(Lib)]
    public static partial int XPending(nint display);

    [LibraryImport(Lib)]
    public static partial int XNextEvent(nint display, byte* xevent);

    [LibraryImport(Lib)]
    public static partial int XGrabKeyboard(nint display, nuint window, int ownerEvents, int pointerMode, int keyboardMode, nuint time);

    [LibraryImport(Lib)]
    public static partial int XGrabPointer(nint display, nuint window, int ownerEvents, uint eventMask, int pointerMode, int keyboardMode, nuint confineTo, nuint cursor, nuint time);

    [LibraryImport(Lib)]
    public static partial int XUngrabKeyboard(nint display, nuint time);

    [LibraryImport(Lib)]
    public static partial int XUngrabPointer(nint display, nuint time);

    [LibraryImport(Lib)]
    public static partial XImage* XGetImage(nint display, nuint drawable, int x, int y, uint width, uint height, nuint planeMask, int format);

    [LibraryImport(Lib)]
    public static partial int XDestroyImage(XImage* image);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nuint XInternAtom(nint display, string name, int onlyIfExists);

    [LibraryImport(Lib)]
    public static partial int XGetWindowProperty(nint display, nuint window, nuint property, nint offset, nint length, int delete, nuint requestedType,
        out nuint actualType, out int actualFormat, out nuint items, out nuint bytesAfter, out byte* value);

    [LibraryImport(Lib)]
    public static partial int XChangeProperty(nint display, nuint window, nuint property, nuint type, int format, int mode, byte* data, int elements);

    [LibraryImport(Lib)]
    public static partial int XGetInputFocus(nint display, out nuint focus, out int revertTo);

    [LibraryImport(Lib)]
    public static partial int XSetInputFocus(nint display, nuint focus, int revertTo, nuint time);

    [LibraryImport(Lib)]
    public static partial nuint XGetSelectionOwner(nint display, nuint selection);

    [LibraryImport(Lib)]
    public static partial int XSetSelectionOwner(nint display, nuint selection, nuint owner, nuint time);

    [LibraryImport(Lib)]
    public static partial int XSendEvent(nint display, nuint window, int propagate, nint eventMask, byte* xevent);

    [LibraryImport(Lib)]
    public static partial int XMapWindow(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial int XUnmapWindow(nint display, nuint window);

    [LibraryImport(Lib)]
    public static partial int XReparentWindow(nint display, nuint window, nuint parent, int x, int y);

    /// <summary>A key event's keysym and the Latin-1 text it types (<paramref name="keyEvent"/> is the <c>XKeyEvent</c> as read).</summary>
    [LibraryImport(Lib)]
    public static partial int XLookupString(byte* keyEvent, byte* buffer, int bytes, out nuint keysym, nint composeStatus);

    [LibraryImport(Lib)]
    public static partial int XFree(void* data);

    private const string TestLib = "libXtst.so.6";

    [LibraryImport(TestLib)]
    public static partial int XTestFakeMotionEvent(nint display, int screen, int x, int y, nuint delay);

    [LibraryImport(TestLib)]
    public static partial int XTestFakeButtonEvent(nint display, uint button, int isPress, nuint delay);

    [LibraryImport(TestLib)]
    public static partial int XTestFakeKeyEvent(nint display, uint keycode, int isPress, nuint delay);

    [LibraryImport(Lib)]
    public static partial byte XKeysymToKeycode(nint display, nuint keysym);

    [LibraryImport(Lib)]
    public static partial int XQueryPointer(nint display, nuint window, out nuint root, out nuint child, out int rootX, out int rootY, out int winX, out int winY, out uint mask);

    // The MIT-SCREEN-SAVER extension's client library (Debian package libxss1): how long since the last input.
    private const string ScreenSaverLib = "libXss.so.1";

    /// <summary>XScreenSaverInfo; <see cref="Idle"/> is the time since the last keyboard or pointer input, in milliseconds.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct XScreenSaverInfo
    {
        public nuint Window;
        public int State;
        public int Kind;
        public nuint TilOrSince;
        public nuint Idle;
        public nuint EventMask;
    }

    [LibraryImport(ScreenSaverLib)]
    public static partial int XScreenSaverQueryExtension(nint display, out int eventBase, out int errorBase);

    [LibraryImport(ScreenSaverLib)]
    public static partial int XScreenSaverQueryInfo(nint display, nuint drawable, XScreenSaverInfo* info);
}
