using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Insights;

/// <summary>
/// The one filter of every insights report: the same query string read by one parser, with the same
/// limits and the same ProblemDetails errors on every endpoint; and its defaults and limits directly.
/// One server for the class: every request here is refused or only reads, so none needs a fresh database
/// (the cases that test the filter directly started a server each before).
/// </summary>
public sealed class ReportFiltersTests(SharedSqliteHost server) : IClassFixture<SharedSqliteHost>
{
    private HomeroomHost Host => server.Host;

    /// <summary>Every insights report that takes a date range.</summary>
    private static readonly string[] Ranged =
    [
        "/api/insights/blocked-sites", "/api/insights/blocked-apps", "/api/insights/blocked-categories", "/api/insights/top-sites",
        "/api/insights/top-apps", "/api/insights/classroom",
    ];

    /// <summary>Every insights report (the names report needs a site).</summary>
    private static readonly string[] All = [.. Ranged, "/api/insights/apps", "/api/insights/fleet-health", "/api/insights/blocked-sites/students?site=example.org"];

    private static string With(string path, string query) => path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;

    private async Task<JsonElement> ProblemAsync(string path)
    {
        using var response = await Host.Client.GetAsync(path).WaitAsync(HomeroomHost.Timeout);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, path);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", path);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Errors(JsonElement problem, string field) =>
        problem.GetProperty("errors").TryGetProperty(field, out var errors) ? errors.EnumerateArray().Select(e => e.GetString()!).ToArray() : [];

    [Theory]
    [InlineData("from=2023-01-01&to=2026-01-01", "to", "A range of at most 3 years.")]
    [InlineData("from=2026-02-05&to=2026-02-01", "from", "The range starts after it ends.")]
    [InlineData("from=yesterday", "from", "A day as yyyy-MM-dd.")]
    [InlineData("grade=14", "grade", ReportFilters.GradeHelp)]
    [InlineData("schoolId=not-a-guid", "schoolId", "No such school in your scope.")]
    [InlineData("classId=00000000-0000-0000-0000-000000000001", "classId", "No such class in your scope.")]
    [InlineData("format=xlsx", "format", "json or csv.")]
    public async Task EveryRangedReport_SameBadInput_SameProblem(string query, string field, string message)
    {
        foreach (var path in Ranged)
        {
            Errors(await ProblemAsync(With(path, query)), field).ShouldBe([message], path);
        }
    }

    [Fact]
    public void Filter_PrintsItselfAndItsPreviousPeriod()
    {
        // A computed record property returning the record would make ToString (logs, test messages) recurse for ever.
        var filter = new InsightFilter(new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 10), Platform: "chromeos");
        filter.ToString().ShouldContain("Platform = chromeos");
        filter.PreviousPeriod().ShouldBe(filter with { From = new DateOnly(2026, 2, 19), To = new DateOnly(2026, 2, 28) });
    }

    [Fact]
    public async Task EveryReport_AValueLongerThanTheLimit_IsRefusedBeforeItIsRead()
    {
        var longValue = new string('7', ReportFilters.MaxValueLength + 1);
        foreach (var path in All)
        {
            Errors(await ProblemAsync(With(path, "grade=" + longValue)), "grade").ShouldBe([$"At most {ReportFilters.MaxValueLength} characters."], path);
        }
    }

    [Fact]
    public async Task RollupReports_LimitOutOfRange_IsRefused_AndSeveralErrorsComeTogether()
    {
        foreach (var path in Ranged.Where(p => !p.EndsWith("classroom", StringComparison.Ordinal)))
        {
            Errors(await ProblemAsync(With(path, "limit=0")), "limit").ShouldBe([$"1 to {ReportFilters.MaxLimit}."], path);
            Errors(await ProblemAsync(With(path, "limit=1001")), "limit").ShouldNotBeEmpty(path);
        }

        var problem = await ProblemAsync("/api/insights/top-sites?grade=ninth&platform=beos&from=2026-13-01");
        Errors(problem, "grade").ShouldNotBeEmpty();
        Errors(problem, "platform").ShouldBe([ReportFilters.PlatformHelp]);
        Errors(problem, "from").ShouldNotBeEmpty();
    }

    [Fact]
    public async Task PicturesOfNow_RefuseARange()
    {
        foreach (var path in new[] { "/api/insights/apps", "/api/insights/fleet-health" })
        {
            Errors(await ProblemAsync(With(path, "from=2026-01-01")), "from").ShouldBe([ReportFilters.NoRangeHelp], path);
        }
    }

    [Fact]
    public async Task Defaults_ThirtyDaysForRollups_SevenForClassroom_AndAStartAloneRunsTheDefaultLength()
    {
        var today = DateOnly.FromDateTime(Host.Clock.GetUtcNow().UtcDateTime);
        var sites = await Host.GetJsonAsync<JsonElement>("/api/insights/blocked-sites");
        sites.GetProperty("from").GetString().ShouldBe(ReportFilters.Day(today.AddDays(-29)));
        sites.GetProperty("to").GetString().ShouldBe(ReportFilters.Day(today));
        sites.GetProperty("previousFrom").GetString().ShouldBe(ReportFilters.Day(today.AddDays(-59)));
        var classroom = await Host.GetJsonAsync<JsonElement>("/api/insights/classroom");
        classroom.GetProperty("from").GetString().ShouldBe(ReportFilters.Day(today.AddDays(-6)));

        var start = today.AddDays(-100);
        var fromOnly = await Host.GetJsonAsync<JsonElement>($"/api/insights/top-apps?from={ReportFilters.Day(start)}&grade=k&platform=ChromeOS");
        fromOnly.GetProperty("to").GetString().ShouldBe(ReportFilters.Day(start.AddDays(29)));
        var exactlyThreeYears = await Host.GetJsonAsync<JsonElement>("/api/insights/blocked-categories?from=2023-03-01&to=2026-02-28");
        exactlyThreeYears.GetProperty("from").GetString().ShouldBe("2023-03-01");
    }

    [Theory]
    [InlineData("2023-01-01", "2025-12-31", true)]
    [InlineData("2023-01-01", "2026-01-01", false)]
    [InlineData("2024-02-29", "2027-02-27", true)]
    [InlineData("2024-02-29", "2027-02-28", false)]
    [InlineData("2026-01-01", "2026-01-01", true)]
    [InlineData("2026-01-02", "2026-01-01", false)]
    public void RangeError_AtMostThreeCalendarYears(string from, string to, bool valid)
    {
        var error = ReportFilters.RangeError(DateOnly.Parse(from, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(to, System.Globalization.CultureInfo.InvariantCulture));
        (error is null).ShouldBe(valid);
        var errors = new InsightFilter(DateOnly.Parse(from, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(to, System.Globalization.CultureInfo.InvariantCulture)).Validate();
        (errors is null).ShouldBe(valid, "a filter built in code has the parser's limits");
    }

    [Theory]
    [InlineData("pk", -1)]
    [InlineData("K", 0)]
    [InlineData(" 7 ", 7)]
    [InlineData("13", 13)]
    [InlineData("-2", null)]
    [InlineData("7.5", null)]
    public void ParseGrade_NamesAndNumbers(string text, int? expected) => ReportFilters.ParseGrade(text).ShouldBe(expected);

    [Fact]
    public void Limit_DefaultAndBounds()
    {
        ReportFilters.Limit(null).ShouldBe(ReportFilters.DefaultLimit);
        ReportFilters.Limit("1000").ShouldBe(1000);
        Should.Throw<Homeroom.Server.Hosting.RequestValidationException>(() => ReportFilters.Limit("-5"));
        Should.Throw<Homeroom.Server.Hosting.RequestValidationException>(() => ReportFilters.Limit("ten"));
    }
}
