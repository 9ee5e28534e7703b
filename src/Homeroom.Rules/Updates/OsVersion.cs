using System.Globalization;

namespace Homeroom.Rules.Updates;

/// <summary>
/// An operating-system version compared numerically, part by part (18.10 is newer than 18.9; 18.2
/// equals 18.2.0): up to four parts of at most nine digits each. A target version is read strictly
/// (<see cref="TryParse"/>); what a device reports is read up to its first non-numeric part
/// (<see cref="FromReported"/>: "18.2 (22C152)" is 18.2), and a report with no leading number is no version.
/// </summary>
public readonly record struct OsVersion : IComparable<OsVersion>
{
    public const int MaxParts = 4;
    public const int MaxLength = 40;

    private readonly int _major;
    private readonly int _minor;
    private readonly int _patch;
    private readonly int _build;

    private OsVersion(int major, int minor, int patch, int build, int parts)
    {
        _major = major;
        _minor = minor;
        _patch = patch;
        _build = build;
        Parts = parts;
    }

    /// <summary>How many parts were written (a version of none is <see cref="IsKnown"/> false).</summary>
    public int Parts { get; }

    /// <summary>False for <c>default</c>: a device that reported nothing readable.</summary>
    public bool IsKnown => Parts > 0;

    /// <summary>Reads a version written as 1 to 4 dot-separated numbers and nothing else.</summary>
    public static bool TryParse(string? text, out OsVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        var read = Read(text.AsSpan(), out var parsed);
        if (read != text.Length || !parsed.IsKnown)
        {
            return false;
        }

        version = parsed;
        return true;
    }

    /// <summary>What a device reported, read up to its first part that is not a number; unknown when none is.</summary>
    public static OsVersion FromReported(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return default;
        }

        var span = text.AsSpan().Trim();
        if (span.Length > MaxLength)
        {
            span = span[..MaxLength];
        }

        Read(span, out var version);
        return version;
    }

    // Reads leading dotted numbers; returns how many characters made up the version.
    private static int Read(ReadOnlySpan<char> text, out OsVersion version)
    {
        Span<int> values = stackalloc int[MaxParts];
        values.Clear(); // The assembly skips locals init: parts not written must read as zero.
        var parts = 0;
        var position = 0;
        var consumed = 0;
        while (parts < MaxParts && position < text.Length)
        {
            var start = position;
            long value = 0;
            while (position < text.Length && char.IsAsciiDigit(text[position]) && position - start < 9)
            {
                value = (value * 10) + (text[position] - '0');
                position++;
            }

            if (position == start || (position < text.Length && char.IsAsciiDigit(text[position])))
            {
                break; // No digits, or a part longer than nine digits.
            }

            values[parts++] = (int)value;
            consumed = position;
            if (position < text.Length && text[position] == '.' && position + 1 < text.Length && char.IsAsciiDigit(text[position + 1]))
            {
                position++;
                continue;
            }

            break;
        }

        version = parts == 0 ? default : new OsVersion(values[0], values[1], values[2], values[3], parts);
        return consumed;
    }

    public int CompareTo(OsVersion other)
    {
        var c = _major.CompareTo(other._major);
        if (c != 0)
        {
            return c;
        }

        c = _minor.CompareTo(other._minor);
        if (c != 0)
        {
            return c;
        }

        c = _patch.CompareTo(other._patch);
        return c != 0 ? c : _build.CompareTo(other._build);
    }

    /// <summary>Whether this version is at least <paramref name="target"/> (an unknown version never is).</summary>
    public bool IsAtLeast(OsVersion target) => IsKnown && CompareTo(target) >= 0;

    /// <summary>Equal when they compare equal: 18.2 equals 18.2.0.</summary>
    public bool Equals(OsVersion other) => CompareTo(other) == 0;

    public override int GetHashCode() => HashCode.Combine(_major, _minor, _patch, _build);

    public static bool operator <(OsVersion left, OsVersion right) => left.CompareTo(right) < 0;

    public static bool operator >(OsVersion left, OsVersion right) => left.CompareTo(right) > 0;

    public static bool operator <=(OsVersion left, OsVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >=(OsVersion left, OsVersion right) => left.CompareTo(right) >= 0;

    public override string ToString()
    {
        if (!IsKnown)
        {
            return "";
        }

        int[] all = [_major, _minor, _patch, _build];
        return string.Join('.', all.Take(Parts).Select(p => p.ToString(CultureInfo.InvariantCulture)));
    }
}
