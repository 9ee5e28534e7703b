using Homeroom.Rules.Insights;

namespace Homeroom.Rules.Tests.Insights;

public sealed class InsightFoldTests
{
    private static readonly DateTime Received = new(2026, 3, 8, 12, 0, 0, DateTimeKind.Utc);
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");

    private static InsightContribution? Fold(string kind, DateTime at, string? url = null, string? app = null, int? seconds = null, string? detail = null) =>
        InsightFold.Fold(kind, at, Received, url, app, seconds, detail, Chicago, TimeSpan.FromDays(90), out _);

    [Theory]
    [InlineData("https://www.Example.org/a?b", "example.org")]
    [InlineData("https://maps.google.co.uk/x", "google.co.uk")]
    [InlineData("http://docs.google.com:8080/", "google.com")]
    [InlineData("example.org/path", "example.org")]
    [InlineData("https://10.1.2.3/admin", "10.1.2.3")]
    [InlineData("https://localhost/", "localhost")]
    [InlineData("https://a.b.school.nz/", "b.school.nz")]
    [InlineData("not a url at all", null)]
    [InlineData("", null)]
    public void RegistrableHost_Urls_AreTheSite(string url, string? site) => InsightFold.RegistrableHost(url).ShouldBe(site);

    [Fact]
    public void Fold_ThirtyHourFocus_CountsOneHour()
    {
        var c = Fold(InsightFold.WebUsage, Received, "https://example.org/", seconds: 30 * 3600, detail: "focused")!.Value;
        c.Seconds.ShouldBe(InsightFold.MaxSecondsPerEvent);
        Fold(InsightFold.AppUsage, Received, app: "com.app", seconds: -5)!.Value.Seconds.ShouldBe(0);
    }

    [Fact]
    public void Fold_Unfocused_IsKeptApartAndCountsNoStudent()
    {
        var c = Fold(InsightFold.WebUsage, Received, "https://example.org/", seconds: 40, detail: "unfocused")!.Value;
        c.Seconds.ShouldBe(0);
        c.UnfocusedSeconds.ShouldBe(40);
        c.CountsStudent.ShouldBeFalse();
    }

    [Fact]
    public void Fold_FarFutureOrPastRetention_IsSkipped()
    {
        InsightFold.Fold(InsightFold.WebVisit, Received.AddDays(1).AddMinutes(1), Received, "https://a.org", null, null, null, Chicago, TimeSpan.FromDays(90), out var future).ShouldBeNull();
        future.ShouldBe(InsightSkip.InFuture);
        InsightFold.Fold(InsightFold.WebVisit, Received.AddDays(-91), Received, "https://a.org", null, null, null, Chicago, TimeSpan.FromDays(90), out var old).ShouldBeNull();
        old.ShouldBe(InsightSkip.TooOld);
        Fold(InsightFold.WebVisit, Received.AddHours(23), "https://a.org").ShouldNotBeNull();
        InsightFold.Fold("app.inventory", Received, Received, null, "com.app", null, null, Chicago, TimeSpan.FromDays(90), out var inventory).ShouldBeNull();
        inventory.ShouldBe(InsightSkip.NotFolded);
    }

    [Fact]
    public void Fold_UnknownCategory_IsKeptLowerCaseAndCut()
    {
        var c = Fold(InsightFold.WebBlocked, Received, "https://x.org", detail: "  Brand-New " + new string('z', 200))!.Value;
        c.Category.Length.ShouldBe(InsightFold.MaxCategoryLength);
        c.Category.ShouldStartWith("brand-new zzz");
        Fold(InsightFold.WebVisit, Received, "https://x.org", detail: "games")!.Value.Category.ShouldBe("");
    }

    [Fact]
    public void Fold_AcrossTheSpringDstChange_FilesByTheSchoolsLocalDay()
    {
        // Chicago moved from CST (-6) to CDT (-5) at 08:00 UTC on 8 March 2026.
        Fold(InsightFold.WebVisit, new DateTime(2026, 3, 8, 5, 59, 0, DateTimeKind.Utc), "https://a.org")!.Value.Day
            .ShouldBe(InsightFold.DayNumber(new DateOnly(2026, 3, 7)));
        Fold(InsightFold.WebVisit, new DateTime(2026, 3, 8, 6, 0, 0, DateTimeKind.Utc), "https://a.org")!.Value.Day
            .ShouldBe(InsightFold.DayNumber(new DateOnly(2026, 3, 8)));
        // After the change a local day starts at 05:00 UTC.
        Fold(InsightFold.WebVisit, new DateTime(2026, 3, 9, 4, 59, 0, DateTimeKind.Utc), "https://a.org")!.Value.Day
            .ShouldBe(InsightFold.DayNumber(new DateOnly(2026, 3, 8)));
        Fold(InsightFold.WebVisit, new DateTime(2026, 3, 9, 5, 0, 0, DateTimeKind.Utc), "https://a.org")!.Value.Day
            .ShouldBe(InsightFold.DayNumber(new DateOnly(2026, 3, 9)));
    }
}
