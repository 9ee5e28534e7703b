using System.Globalization;

namespace Homeroom.Rules.Policies;

/// <summary>
/// Weekly windows written as text, for settings such as <c>location.reportingHours</c>:
/// <c>Mon-Fri 07:00-17:00; Sat 09:00-12:00</c>. Windows are separated by <c>;</c>; each is days then
/// a local time range. Days are three-letter English names (any case), single (<c>Sat</c>), a range
/// (<c>Mon-Fri</c>, which may wrap: <c>Fri-Mon</c>) or a comma list of those (<c>Mon,Wed,Fri</c>).
/// Times are <c>HH:mm</c>; an end at or before the start runs past midnight (<c>22:00-06:00</c>), so
/// <c>00:00-00:00</c> is the whole day. <c>always</c> means every day, all day; an empty text means
/// no window at all.
/// </summary>
public static class ScheduleText
{
    /// <summary>Most windows one text may hold.</summary>
    public const int MaxWindows = 20;

    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    /// <summary>Reads the windows; null and a message naming the problem when the text is not valid.</summary>
    public static (IReadOnlyList<ScheduleWindow>? Windows, string? Error) Parse(string? text)
    {
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return ([], null);
        }

        if (trimmed.Equals("always", StringComparison.OrdinalIgnoreCase))
        {
            return ([new ScheduleWindow(Enum.GetValues<DayOfWeek>(), TimeOnly.MinValue, TimeOnly.MinValue)], null);
        }

        var parts = trimmed.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > MaxWindows)
        {
            return (null, $"at most {MaxWindows} windows.");
        }

        var windows = new List<ScheduleWindow>();
        foreach (var part in parts)
        {
            var space = part.LastIndexOf(' ');
            if (space <= 0)
            {
                return (null, $"'{part}' must be days and a time range, e.g. Mon-Fri 07:00-17:00.");
            }

            var days = ParseDays(part[..space].Replace(" ", "", StringComparison.Ordinal));
            if (days is null)
            {
                return (null, $"'{part[..space].Trim()}' must be days such as Mon-Fri, Sat or Mon,Wed,Fri.");
            }

            var range = part[(space + 1)..].Split('-');
            if (range.Length != 2 || !TryTime(range[0], out var start) || !TryTime(range[1], out var end))
            {
                return (null, $"'{part[(space + 1)..]}' must be a time range such as 07:00-17:00.");
            }

            windows.Add(new ScheduleWindow(days, start, end));
        }

        return (windows, null);
    }

    /// <summary>Whether any of the windows covers the local time.</summary>
    public static bool Covers(IReadOnlyList<ScheduleWindow> windows, DateTime local) => windows.Any(w => w.Covers(local));

    private static List<DayOfWeek>? ParseDays(string text)
    {
        var days = new List<DayOfWeek>();
        foreach (var item in text.Split(','))
        {
            var ends = item.Split('-');
            if (ends.Length is < 1 or > 2 || Day(ends[0]) is not { } first)
            {
                return null;
            }

            var last = first;
            if (ends.Length == 2)
            {
                if (Day(ends[1]) is not { } end)
                {
                    return null;
                }

                last = end;
            }

            for (var day = first; ; day = (DayOfWeek)(((int)day + 1) % 7))
            {
                if (!days.Contains(day))
                {
                    days.Add(day);
                }

                if (day == last)
                {
                    break;
                }
            }
        }

        return days;
    }

    private static DayOfWeek? Day(string text)
    {
        var index = Array.IndexOf(DayNames, text.ToLowerInvariant());
        return index < 0 ? null : (DayOfWeek)index;
    }

    private static bool TryTime(string text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text.Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}
