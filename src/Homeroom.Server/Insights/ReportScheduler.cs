using System.Globalization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Homeroom.Server.Insights;

/// <summary>What one pass of the scheduler sent.</summary>
public sealed record ScheduledReportResult(Guid ScheduleId, DateTime DueAt, bool Succeeded, string Result);

/// <summary>
/// Sends the scheduled reports that are due (<see cref="ReportSchedules"/>), once each: a due time is
/// claimed in the database (<c>last_due_at</c>, a conditional update) before the e-mail goes, so neither
/// a restart nor a second server sends it again. A schedule sends only its latest due time (a server
/// that was down for three weeks sends one report, not three) and never one that passed before it was
/// created or last changed. The report is computed district-wide, as the district administrators who
/// manage schedules see it, and attached as CSV through the notification e-mail relay.
/// </summary>
public sealed class ReportScheduler(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    FleetHealth fleet,
    ClassroomUse classroom,
    InsightsQueries insights,
    EmailSender email,
    IOptions<InsightsReportOptions> options,
    JobLeases leases,
    TimeProvider time,
    ILogger<ReportScheduler> logger)
    : PeriodicTask(options.Value.ScheduleCheckInterval, leases, time, logger)
{
    protected override Task RunOnceAsync(CancellationToken cancellationToken) => SendDueAsync(cancellationToken);

    /// <summary>Sends what is due now; never at the same time as another pass.</summary>
    public Task<List<ScheduledReportResult>> SendDueAsync(CancellationToken cancellationToken = default) =>
        RunExclusiveAsync(SendDueOnceAsync, cancellationToken);

    private async Task<List<ScheduledReportResult>> SendDueOnceAsync(CancellationToken cancellationToken)
    {
        var results = new List<ScheduledReportResult>();
        if (!email.IsConfigured)
        {
            return results;
        }

        var now = Time.GetUtcNow();
        List<ReportSchedule> schedules;
        TimeZoneInfo zone;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            zone = await ReportSchedules.DistrictTimeZoneAsync(db, cancellationToken);
            schedules = await db.ReportSchedules.AsNoTracking().ToListAsync(cancellationToken);
        }

        foreach (var schedule in schedules)
        {
            var due = ReportSchedules.LatestDue((DayOfWeek)schedule.DayOfWeek, schedule.Hour, zone, now);
            if (due <= schedule.UpdatedAt || (schedule.LastDueAt is { } last && due <= last))
            {
                continue;
            }

            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var claimed = await db.ReportSchedules
                .Where(s => s.Id == schedule.Id && (s.LastDueAt == null || s.LastDueAt < due))
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.LastDueAt, due), cancellationToken);
            if (claimed != 1)
            {
                continue; // Another pass or server sent it.
            }

            var outcome = await SendAsync(db, schedule, due, zone, cancellationToken);
            var sentAt = Time.GetUtcNow().UtcDateTime;
            await db.ReportSchedules.Where(s => s.Id == schedule.Id).ExecuteUpdateAsync(s => s
                .SetProperty(x => x.LastSentAt, sentAt)
                .SetProperty(x => x.LastSucceeded, outcome.Succeeded)
                .SetProperty(x => x.LastResult, outcome.Result.Length > 500 ? outcome.Result[..500] : outcome.Result), cancellationToken);
            var report = schedule.Report.ToString().ToLowerInvariant();
            if (outcome.Succeeded)
            {
                InsightsReportsLog.ScheduledReportSent(Logger, schedule.Id, report, due, outcome.Result);
            }
            else
            {
                InsightsReportsLog.ScheduledReportFailed(Logger, schedule.Id, report, due, outcome.Result);
            }

            results.Add(new ScheduledReportResult(schedule.Id, due, outcome.Succeeded, outcome.Result));
        }

        return results;
    }

    private async Task<DeliveryOutcome> SendAsync(HomeroomDbContext db, ReportSchedule schedule, DateTime due, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        string fileName;
        string summary;
        byte[] csv;
        try
        {
            var scope = StaffScope.System;
            var filters = ReportSchedules.FiltersOf(schedule);
            if (schedule.Report == ScheduledReportKind.Fleet)
            {
                var filter = await ReportFilters.ResolveAsync(db, scope, filters, FleetHealth.Filters, DateOnly.FromDateTime(due), 1, cancellationToken);
                var report = await fleet.ReportAsync(db, scope, filter, cancellationToken);
                csv = await CsvBytesAsync(FleetHealth.CsvHeader, FleetHealth.CsvRows(report), cancellationToken);
                fileName = $"fleet-health-{Day(due, zone)}.csv";
                summary = $"Fleet health on {Day(due, zone)}: {report.Devices} devices, {report.Behind} behind their OS version, {report.NotSeen7Days} not seen for 7 days, " +
                    $"{report.LowBattery} with a low battery, {report.StorageNearlyFull} with storage nearly full, {report.InRepair} in repair, {report.Lost} lost.";
            }
            else if (schedule.Report == ScheduledReportKind.Classroom)
            {
                var filter = await ReportFilters.ResolveAsync(db, scope, filters, ClassroomUse.Filters, LastWeekEnd(due, zone), ClassroomUse.DefaultDays, cancellationToken);
                var report = await classroom.ReportAsync(db, scope, filter, cancellationToken);
                csv = await CsvBytesAsync(ClassroomUse.CsvHeader, ClassroomUse.CsvRows(report), cancellationToken);
                fileName = $"classroom-use-{report.From}-to-{report.To}.csv";
                summary = $"Classroom use from {report.From} to {report.To}: {report.Classes} classes, {report.Sessions} sessions, " +
                    $"{report.MinutesViewed.ToString("0.#", CultureInfo.InvariantCulture)} minutes of screen viewing, {report.Commands} classroom commands.";
            }
            else
            {
                (fileName, summary, csv) = await RollupReportAsync(db, scope, schedule.Report, filters, due, zone, cancellationToken);
            }
        }
        catch (RequestValidationException invalid)
        {
            // A school or class named in the filters was removed since the schedule was saved.
            return new DeliveryOutcome(false, "The report's filters no longer read: " + string.Join(" ", invalid.Errors.SelectMany(e => e.Value)), false);
        }

        if (email.NewMessage() is not { } message)
        {
            return new DeliveryOutcome(false, "No SMTP relay is configured.", false);
        }

        foreach (var address in ReportSchedules.RecipientsOf(schedule))
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = $"[Homeroom] {schedule.Name}";
        var body = new BodyBuilder { TextBody = $"{summary}\n\nThe report is attached as CSV ({fileName}). Sent weekly by Homeroom; a district administrator can change or stop it under Insights, Scheduled reports.\n" };
        body.Attachments.Add(fileName, csv, new ContentType("text", "csv") { Charset = "utf-8" });
        message.Body = body.ToMessageBody();
        return await email.SendAsync(message, cancellationToken);
    }

    /// <summary>The days a scheduled rollup report covers: the week before each sending.</summary>
    public const int ScheduledDays = 7;

    /// <summary>The rows a scheduled rollup report attaches (its top subjects; the API gives up to <see cref="ReportFilters.MaxLimit"/>).</summary>
    public const int ScheduledRows = 200;

    // The seven days before the sending's local day, whatever the stored filters say (they hold no dates).
    private static DateOnly LastWeekEnd(DateTime due, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(due, zone)).AddDays(-1);

    private async Task<(string FileName, string Summary, byte[] Csv)> RollupReportAsync(
        HomeroomDbContext db, StaffScope scope, ScheduledReportKind kind, ReportRequest filters, DateTime due, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        var filter = await ReportFilters.ResolveAsync(db, scope, filters, ReportSchedules.FiltersOf(kind), LastWeekEnd(due, zone), ScheduledDays, cancellationToken);
        var period = $"from {filter.From:yyyy-MM-dd} to {filter.To:yyyy-MM-dd}";
        var file = $"{filter.From:yyyy-MM-dd}-to-{filter.To:yyyy-MM-dd}.csv";
        switch (kind)
        {
            case ScheduledReportKind.BlockedSites:
            {
                var report = await insights.MostBlockedAsync(scope, filter, apps: false, ScheduledRows, cancellationToken);
                return ("most-blocked-sites-" + file, $"Most-blocked sites {period}, against the seven days before: " + Top(report.Rows, r => $"{r.Subject} ({r.Blocks} blocks, {InsightReports.Trend(r.Blocks, r.PreviousBlocks)})"),
                    await CsvBytesAsync(InsightCsv.BlockedHeader, InsightCsv.Rows(report.Rows, InsightCsv.Blocked), cancellationToken));
            }

            case ScheduledReportKind.BlockedCategories:
            {
                var report = await insights.BlockedCategoriesAsync(scope, filter, ScheduledRows, cancellationToken);
                return ("blocked-categories-" + file, $"Blocked categories {period}, against the seven days before: " + Top(report.Rows, r => $"{r.Category} ({r.Blocks} blocks, {InsightReports.Trend(r.Blocks, r.PreviousBlocks)})"),
                    await CsvBytesAsync(InsightCsv.CategoryHeader, InsightCsv.Rows(report.Rows, InsightCsv.Category), cancellationToken));
            }

            case ScheduledReportKind.TopSites or ScheduledReportKind.TopApps:
            {
                var apps = kind == ScheduledReportKind.TopApps;
                var report = await insights.TopUsageAsync(scope, filter, apps, UsageOrder.Time, ScheduledRows, cancellationToken);
                return ((apps ? "top-apps-" : "top-sites-") + file, $"Top {(apps ? "apps" : "sites")} by time {period}: " + Top(report.Rows, r => $"{r.Subject} ({Minutes(r.Seconds)} minutes, {r.Students} students)"),
                    await CsvBytesAsync(InsightCsv.UsageHeader, InsightCsv.Rows(report.Rows, InsightCsv.Usage), cancellationToken));
            }

            default:
            {
                var report = await insights.AppAdoptionAsync(scope, filter, licences: null, ScheduledRows, cancellationToken);
                var day = Day(due, zone);
                var unused = report.Rows.Count(r => r.UsedLast30Days == 0);
                return ($"app-adoption-{day}.csv", $"App adoption on {day}: {report.Rows.Count} apps installed, {unused} not used on any device in the last 30 days. " +
                    "Most used: " + Top(report.Rows.OrderByDescending(r => r.UsedLast30Days).ToList(), r => $"{r.Name ?? r.AppId} ({r.UsedLast30Days} of {r.Installed} devices)"),
                    await CsvBytesAsync(InsightCsv.AdoptionHeader, InsightCsv.Rows(report.Rows, InsightCsv.Adoption), cancellationToken));
            }
        }
    }

    private static string Top<T>(IReadOnlyList<T> rows, Func<T, string> describe) =>
        rows.Count == 0 ? "nothing recorded." : string.Join(", ", rows.Take(5).Select(describe)) + (rows.Count > 5 ? $", and {rows.Count - 5} more in the attachment." : ".");

    private static string Minutes(long seconds) => (seconds / 60.0).ToString("0", CultureInfo.InvariantCulture);

    private async Task<byte[]> CsvBytesAsync(IReadOnlyList<string> header, IAsyncEnumerable<IReadOnlyList<string?>> rows, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxAttachmentBytes;
        using var buffer = new MemoryStream();
        await using (var csv = new CsvWriter(buffer))
        {
            await csv.WriteRowAsync(header, cancellationToken);
            await foreach (var row in rows.WithCancellation(cancellationToken))
            {
                await csv.WriteRowAsync(row, cancellationToken);
                await csv.FlushAsync(cancellationToken);
                if (buffer.Length > limit)
                {
                    await csv.WriteRowAsync(["(the report is cut here: larger than the attachment limit)"], cancellationToken);
                    break;
                }
            }
        }

        return buffer.ToArray();
    }

    private static string Day(DateTime utc, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTimeFromUtc(utc, zone).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
