using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session.Windows;

/// <summary>The virtual screen: every monitor's union, in Windows' coordinates (its origin may be negative, left of or above the primary monitor).</summary>
public readonly record struct VirtualScreen(int X, int Y, int Width, int Height)
{
    /// <summary>
    /// A pixel of the captured image (whose (0, 0) is the virtual screen's top-left corner) as <c>SendInput</c>'s absolute
    /// coordinates with <c>MOUSEEVENTF_VIRTUALDESK</c>: 0 to 65,535 across the whole virtual screen, the last pixel 65,535.
    /// Positions outside the image are held at its edge.
    /// </summary>
    public (int Dx, int Dy) Normalise(int x, int y) => (Scale(x, Width), Scale(y, Height));

    private static int Scale(int pixel, int size)
    {
        if (size <= 1)
        {
            return 0;
        }

        var clamped = Math.Clamp(pixel, 0, size - 1);
        return (int)(((long)clamped * 65535 + (size - 1) / 2) / (size - 1));
    }
}

/// <summary>One <c>INPUT</c> for <c>SendInput</c>, as data: a mouse event (<see cref="Keyboard"/> false) or a key.</summary>
/// <param name="Keyboard">A key event; else a mouse event.</param>
/// <param name="Dx">Mouse: absolute x, 0 to 65,535.</param>
/// <param name="Dy">Mouse: absolute y, 0 to 65,535.</param>
/// <param name="MouseData">Mouse: the wheel's movement (120 a step, positive away from the user).</param>
/// <param name="Flags">The <c>MOUSEEVENTF_*</c> or <c>KEYEVENTF_*</c> flags.</param>
/// <param name="VirtualKey">Key: the virtual-key code (0 with <c>KEYEVENTF_UNICODE</c>).</param>
/// <param name="Scan">Key: the UTF-16 unit with <c>KEYEVENTF_UNICODE</c>.</param>
public readonly record struct WindowsInputEvent(bool Keyboard, int Dx, int Dy, int MouseData, uint Flags, ushort VirtualKey, ushort Scan);

/// <summary>
/// Turns the protocol's <see cref="RemoteInputEvent"/>s (pointer in screen pixels, keys as X keysyms, as the console sends
/// them to every agent) into <c>SendInput</c> events: pure, so it is tested on any OS.
/// </summary>
public static class WindowsInput
{
    public const uint MouseMove = 0x0001, MouseLeftDown = 0x0002, MouseLeftUp = 0x0004, MouseRightDown = 0x0008, MouseRightUp = 0x0010,
        MouseMiddleDown = 0x0020, MouseMiddleUp = 0x0040, MouseWheel = 0x0800, MouseVirtualDesk = 0x4000, MouseAbsolute = 0x8000;

    public const uint KeyExtended = 0x0001, KeyUp = 0x0002, KeyUnicode = 0x0004;

    /// <summary>One wheel step (<c>WHEEL_DELTA</c>).</summary>
    public const int WheelDelta = 120;

    private const uint Positioned = MouseMove | MouseAbsolute | MouseVirtualDesk;

    // X keysyms of keys that are not characters, to virtual-key codes; true: an extended key (KEYEVENTF_EXTENDEDKEY).
    private static readonly Dictionary<int, (ushort Vk, bool Extended)> Keys = new()
    {
        [0xFF08] = (0x08, false), // BackSpace
        [0xFF09] = (0x09, false), // Tab
        [0xFF0D] = (0x0D, false), // Return
        [0xFF8D] = (0x0D, true), // KP_Enter
        [0xFF13] = (0x13, false), // Pause
        [0xFF14] = (0x91, false), // Scroll_Lock
        [0xFF1B] = (0x1B, false), // Escape
        [0xFF50] = (0x24, true), // Home
        [0xFF51] = (0x25, true), // Left
        [0xFF52] = (0x26, true), // Up
        [0xFF53] = (0x27, true), // Right
        [0xFF54] = (0x28, true), // Down
        [0xFF55] = (0x21, true), // Page_Up
        [0xFF56] = (0x22, true), // Page_Down
        [0xFF57] = (0x23, true), // End
        [0xFF61] = (0x2C, true), // Print
        [0xFF63] = (0x2D, true), // Insert
        [0xFF67] = (0x5D, true), // Menu
        [0xFF7F] = (0x90, true), // Num_Lock
        [0xFFFF] = (0x2E, true), // Delete
        [0xFFE1] = (0xA0, false), // Shift_L
        [0xFFE2] = (0xA1, false), // Shift_R
        [0xFFE3] = (0xA2, false), // Control_L
        [0xFFE4] = (0xA3, true), // Control_R
        [0xFFE5] = (0x14, false), // Caps_Lock
        [0xFFE9] = (0xA4, false), // Alt_L
        [0xFFEA] = (0xA5, true), // Alt_R
        [0xFFE7] = (0x5B, true), // Meta_L (as the Windows key)
        [0xFFEB] = (0x5B, true), // Super_L
        [0xFFEC] = (0x5C, true), // Super_R
        [0x0020] = (0x20, false), // space
    };

    /// <summary>The <c>SendInput</c> events for <paramref name="events"/>, in order; an event that cannot be typed (a keysym with no key and no character) gives none.</summary>
    public static List<WindowsInputEvent> Map(IReadOnlyList<RemoteInputEvent> events, VirtualScreen screen)
    {
        var result = new List<WindowsInputEvent>(events.Count);
        foreach (var e in events)
        {
            var (dx, dy) = e.X is { } x && e.Y is { } y ? screen.Normalise(x, y) : (0, 0);
            var position = e.X is not null && e.Y is not null ? Positioned : 0;
            switch (e.Kind)
            {
                case "move" when position != 0:
                    result.Add(new WindowsInputEvent(false, dx, dy, 0, position, 0, 0));
                    break;
                case "down" or "up" when ButtonFlag(e.Button, e.Kind == "down") is { } button:
                    result.Add(new WindowsInputEvent(false, dx, dy, 0, position | button, 0, 0));
                    break;
                case "wheel" when e.Delta is { } delta and not 0:
                    // The protocol's negative delta is up, away from the user: Windows' positive.
                    result.Add(new WindowsInputEvent(false, dx, dy, -delta * WheelDelta, position | MouseWheel, 0, 0));
                    break;
                case "keyDown" or "keyUp" when e.Keysym is { } keysym:
                    if (Key(keysym, e.Kind == "keyUp") is { } key)
                    {
                        result.Add(key);
                    }

                    break;
            }
        }

        return result;
    }

    private static uint? ButtonFlag(int? button, bool down) => button switch
    {
        1 => down ? MouseLeftDown : MouseLeftUp,
        2 => down ? MouseMiddleDown : MouseMiddleUp,
        3 => down ? MouseRightDown : MouseRightUp,
        _ => null,
    };

    /// <summary>
    /// One keysym: a named key by its virtual-key code; a letter or digit by its key (so shortcuts such as Ctrl+C work); any
    /// other character of the Basic Multilingual Plane as a Unicode character (<c>KEYEVENTF_UNICODE</c>), whatever the
    /// keyboard layout. Null when none applies.
    /// </summary>
    public static WindowsInputEvent? Key(int keysym, bool up)
    {
        var upFlag = up ? KeyUp : 0;
        if (Keys.TryGetValue(keysym, out var named))
        {
            return new WindowsInputEvent(true, 0, 0, 0, upFlag | (named.Extended ? KeyExtended : 0), named.Vk, 0);
        }

        if (keysym is >= 'a' and <= 'z')
        {
            return new WindowsInputEvent(true, 0, 0, 0, upFlag, (ushort)(keysym - 'a' + 'A'), 0);
        }

        if (keysym is >= 'A' and <= 'Z' or >= '0' and <= '9')
        {
            return new WindowsInputEvent(true, 0, 0, 0, upFlag, (ushort)keysym, 0);
        }

        if (keysym is >= 0xFFBE and <= 0xFFC9)
        {
            return new WindowsInputEvent(true, 0, 0, 0, upFlag, (ushort)(0x70 + keysym - 0xFFBE), 0); // F1 to F12
        }

        // Latin-1 keysyms are their code points; others are 0x01000000 + the code point.
        int? codePoint = keysym switch
        {
            >= 0x21 and <= 0x7E or >= 0xA0 and <= 0xFF => keysym,
            >= 0x0100_0100 and <= 0x0100_FFFF => keysym - 0x0100_0000,
            _ => null,
        };
        return codePoint is { } c and not (>= 0xD800 and <= 0xDFFF)
            ? new WindowsInputEvent(true, 0, 0, 0, upFlag | KeyUnicode, 0, (ushort)c)
            : null;
    }

    /// <summary>
    /// A 32-bit top-down DIB (<c>BGRA</c> bytes, <paramref name="stride"/> bytes a row) as the RGB bytes, row by row and
    /// without padding, that the thumbnail and remote-screen encoders take.
    /// </summary>
    public static byte[] BgraToRgb(ReadOnlySpan<byte> bgra, int width, int height, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, width * 4);
        if (bgra.Length < (long)stride * (height - 1) + width * 4)
        {
            throw new ArgumentException("the pixels are shorter than the image", nameof(bgra));
        }

        var rgb = new byte[width * height * 3];
        for (var row = 0; row < height; row++)
        {
            var source = bgra.Slice(row * stride, width * 4);
            var target = rgb.AsSpan(row * width * 3, width * 3);
            for (int i = 0, j = 0; i < source.Length; i += 4, j += 3)
            {
                target[j] = source[i + 2];
                target[j + 1] = source[i + 1];
                target[j + 2] = source[i];
            }
        }

        return rgb;
    }
}
