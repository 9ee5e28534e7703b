using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Insights;

/// <summary>
/// Adds to a class's use of the classroom per UTC day (<c>class_usage_days</c>): the seconds of a screen
/// view when it ends, and each classroom command. One upsert per event, never per frame or heartbeat; a
/// failed write is logged and never fails the teacher's action.
/// </summary>
public sealed class ClassUsageRecorder(IDbContextFactory<HomeroomDbContext> dbFactory, BulkSql sql, ILogger<ClassUsageRecorder> logger)
{
    /// <summary>A screen view of the class from <paramref name="start"/> to <paramref name="end"/>, split at UTC midnights.</summary>
    public async Task AddViewingAsync(Guid groupId, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken = default)
    {
        var from = start.UtcDateTime;
        var until = end.UtcDateTime;
        while (from < until)
        {
            var midnight = from.Date.AddDays(1);
            var stop = until < midnight ? until : midnight;
            var seconds = (long)Math.Round((stop - from).TotalSeconds);
            if (seconds > 0)
            {
                await AddAsync(groupId, DateOnly.FromDateTime(from), seconds, 0, cancellationToken);
            }

            from = stop;
        }
    }

    /// <summary>A classroom command sent to the class at <paramref name="at"/>.</summary>
    public Task AddCommandAsync(Guid groupId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        AddAsync(groupId, DateOnly.FromDateTime(at.UtcDateTime), 0, 1, cancellationToken);

    private async Task AddAsync(Guid groupId, DateOnly day, long seconds, int commands, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var id = sql.Id(groupId);
            // SQLite keeps days as yyyy-MM-dd text (EF's DateOnly mapping); PostgreSQL as date.
            object dayValue = sql.Provider == DatabaseProvider.Sqlite ? ReportFilters.Day(day) : day;
            await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO class_usage_days (group_id, day, viewed_seconds, commands) VALUES ({id}, {dayValue}, {seconds}, {commands})
                ON CONFLICT (group_id, day) DO UPDATE SET viewed_seconds = class_usage_days.viewed_seconds + excluded.viewed_seconds,
                    commands = class_usage_days.commands + excluded.commands
                """,
                cancellationToken);
        }
        catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException or InvalidOperationException)
        {
            InsightsReportsLog.UsageRecordFailed(logger, groupId, e);
        }
    }
}
