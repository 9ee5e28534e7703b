using System.Globalization;

namespace Homeroom.Server.WebConsole.Components;

/// <summary>Times as staff at the school read them: in the school's (or district's) IANA time zone.</summary>
public static class SchoolTime
{
    public static string Format(DateTime utc, string? timeZone, string format = "MMM d HH:mm")
    {
        var zone = timeZone is not null && TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found) ? found : TimeZoneInfo.Utc;
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone);
        return local.ToString(format, CultureInfo.InvariantCulture);
    }
}
