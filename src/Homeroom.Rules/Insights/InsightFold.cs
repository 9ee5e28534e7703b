namespace Homeroom.Rules.Insights;

/// <summary>Where a device stood when its event is folded: the rollups' dimensions other than the event's own.</summary>
/// <param name="SchoolId">The device's school; <see cref="Guid.Empty"/> for none.</param>
/// <param name="Grade">The assigned student's grade; <see cref="InsightFold.NoGrade"/> when unknown.</param>
/// <param name="Platform">The device's platform, as stored.</param>
/// <param name="Student">Whom "number of students" counts: the assigned student, else the device itself.</param>
/// <param name="Zone">The school's time zone (the district's for a device of no school): it decides an event's day.</param>
/// <param name="Groups">The classes and groups of the device and its student.</param>
public sealed record InsightDevice(Guid SchoolId, int Grade, string Platform, Guid Student, TimeZoneInfo Zone, IReadOnlyList<Guid> Groups);

/// <summary>What one event adds to the rollups, or why it adds nothing.</summary>
/// <param name="Day">The local day in the device's zone, as days since 1970-01-01.</param>
/// <param name="Kind">The event's kind.</param>
/// <param name="Subject">The site's registrable host, or the app id.</param>
/// <param name="Category">The blocking category (blocked kinds), else empty.</param>
/// <param name="Seconds">Headline time: app usage, focused web usage.</param>
/// <param name="UnfocusedSeconds">Web usage while the window was not focused (kept apart, not in the headline).</param>
/// <param name="CountsStudent">Whether the event shows the student used or tried the subject.</param>
public readonly record struct InsightContribution(int Day, string Kind, string Subject, string Category, long Seconds, long UnfocusedSeconds, bool CountsStudent);

/// <summary>Why an event adds nothing to the rollups.</summary>
public enum InsightSkip
{
    None,

    /// <summary>A kind rollups do not fold (app inventory snapshots).</summary>
    NotFolded,

    /// <summary>More than <see cref="InsightFold.FutureTolerance"/> after it was received.</summary>
    InFuture,

    /// <summary>Older than raw events' retention when received.</summary>
    TooOld,

    /// <summary>No site or app to attribute it to.</summary>
    NoSubject,
}

/// <summary>
/// The pure rule that turns one activity event into its contribution to the daily rollups. Live
/// folding and the rebuild both use it, with the event's stored receive time, so a rebuild gives the
/// same rows the live path wrote.
/// </summary>
public static class InsightFold
{
    public const string WebVisit = "web.visit";
    public const string WebBlocked = "web.blocked";
    public const string WebUsage = "web.usage";
    public const string AppUsage = "app.usage";
    public const string AppBlocked = "app.blocked";

    /// <summary>Grade of a device with no student or a student with no grade.</summary>
    public const int NoGrade = -1;

    /// <summary>An event may be this far ahead of its receipt (clock skew); later ones are not folded.</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromDays(1);

    /// <summary>The most one event's duration counts: a tab "focused" for 30 hours counts one hour.</summary>
    public const int MaxSecondsPerEvent = 3_600;

    /// <summary>Longest subject kept (a host name is at most 253 characters).</summary>
    public const int MaxSubjectLength = 255;

    /// <summary>Longest category kept; longer (unknown) categories are cut.</summary>
    public const int MaxCategoryLength = 64;

    /// <summary>The kinds folded into rollups.</summary>
    public static readonly IReadOnlySet<string> FoldedKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        WebVisit, WebBlocked, WebUsage, AppUsage, AppBlocked,
    };

    /// <summary>Days since 1970-01-01 of a date.</summary>
    public static int DayNumber(DateOnly date) => date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    /// <summary>The date of a day number.</summary>
    public static DateOnly DateOf(int day) => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + day);

    /// <summary>The local day (days since 1970-01-01) of an instant in a zone.</summary>
    public static int LocalDay(DateTime utc, TimeZoneInfo zone) =>
        DayNumber(DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone)));

    /// <summary>Folds one event; <paramref name="skip"/> says why when it contributes nothing.</summary>
    public static InsightContribution? Fold(
        string kind, DateTime occurredAtUtc, DateTime receivedAtUtc, string? url, string? appId, int? durationSeconds, string? detail,
        TimeZoneInfo zone, TimeSpan rawRetention, out InsightSkip skip)
    {
        skip = InsightSkip.None;
        if (!FoldedKinds.Contains(kind))
        {
            skip = InsightSkip.NotFolded;
            return null;
        }

        if (occurredAtUtc > receivedAtUtc + FutureTolerance)
        {
            skip = InsightSkip.InFuture;
            return null;
        }

        if (occurredAtUtc < receivedAtUtc - rawRetention)
        {
            skip = InsightSkip.TooOld;
            return null;
        }

        var web = kind is WebVisit or WebBlocked or WebUsage;
        var subject = web ? RegistrableHost(url) : Limit(appId?.Trim(), MaxSubjectLength);
        if (string.IsNullOrEmpty(subject))
        {
            skip = InsightSkip.NoSubject;
            return null;
        }

        var category = kind is WebBlocked or AppBlocked ? Category(detail) : "";
        var seconds = ClampSeconds(durationSeconds);
        var unfocused = kind == WebUsage && string.Equals(detail, "unfocused", StringComparison.Ordinal);
        var day = LocalDay(occurredAtUtc, zone);
        return kind switch
        {
            AppUsage => new InsightContribution(day, kind, subject, category, seconds, 0, CountsStudent: true),
            WebUsage when unfocused => new InsightContribution(day, kind, subject, category, 0, seconds, CountsStudent: false),
            WebUsage => new InsightContribution(day, kind, subject, category, seconds, 0, CountsStudent: true),
            _ => new InsightContribution(day, kind, subject, category, 0, 0, CountsStudent: true),
        };
    }

    /// <summary>A duration as rollups count it: 0 to <see cref="MaxSecondsPerEvent"/>.</summary>
    public static int ClampSeconds(int? seconds) => Math.Clamp(seconds ?? 0, 0, MaxSecondsPerEvent);

    /// <summary>A blocking category as stored: trimmed, lower-case, at most <see cref="MaxCategoryLength"/> characters.</summary>
    public static string Category(string? detail) => Limit(detail?.Trim().ToLowerInvariant(), MaxCategoryLength) ?? "";

    private static string? Limit(string? text, int length) => text is { Length: > 0 } t && t.Length > length ? t[..length] : text;

    // Second-level labels under which a country code's registrable names sit one level deeper
    // (example.co.uk, school.k12.ca.us is not covered): a short stand-in for the public suffix list.
    private static readonly HashSet<string> SecondLevel = new(StringComparer.Ordinal)
    {
        "co", "com", "net", "org", "edu", "gov", "ac", "sch", "school", "gob", "nic", "ltd", "plc", "me", "or", "ne", "go",
    };

    /// <summary>
    /// The site of a URL: its host, lower-case, reduced to the registrable name (the label under the
    /// public suffix: www.example.org → example.org, maps.google.co.uk → google.co.uk). An IP
    /// address stays whole. Null when the URL has no host.
    /// </summary>
    public static string? RegistrableHost(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        var text = url.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return null;
        }

        var host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || host.Length == 0)
        {
            return Limit(host, MaxSubjectLength);
        }

        var labels = host.Split('.');
        if (labels.Length <= 2)
        {
            return Limit(host, MaxSubjectLength);
        }

        var keep = labels[^1].Length == 2 && SecondLevel.Contains(labels[^2]) ? 3 : 2;
        return Limit(string.Join('.', labels[^keep..]), MaxSubjectLength);
    }
}
