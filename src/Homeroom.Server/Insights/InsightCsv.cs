using System.Globalization;

namespace Homeroom.Server.Insights;

/// <summary>
/// The columns of each rollup report's CSV, one definition shared by the API's <c>?format=csv</c> and
/// the scheduled e-mails, so a district's spreadsheet reads both the same way.
/// </summary>
public static class InsightCsv
{
    public static readonly string[] BlockedHeader = ["subject", "blocks", "students", "previous_blocks"];
    public static readonly string[] CategoryHeader = ["category", "blocks", "students", "previous_blocks"];
    public static readonly string[] UsageHeader = ["subject", "seconds", "unfocused_seconds", "events", "students"];
    public static readonly string[] AdoptionHeader = ["app_id", "name", "installed", "licensed", "used_last_30_days", "never_used"];
    public static readonly string[] StudentHeader = ["person_id", "name", "device_id", "device_name", "blocks", "last_blocked_at"];

    public static string?[] Blocked(BlockedSubjectRow r) => [r.Subject, N(r.Blocks), N(r.Students), N(r.PreviousBlocks)];

    public static string?[] Category(BlockedCategoryRow r) => [r.Category, N(r.Blocks), N(r.Students), N(r.PreviousBlocks)];

    public static string?[] Usage(UsageRow r) => [r.Subject, N(r.Seconds), N(r.UnfocusedSeconds), N(r.Events), N(r.Students)];

    public static string?[] Adoption(AppAdoptionRow r) => [r.AppId, r.Name, N(r.Installed), N(r.Licensed), N(r.UsedLast30Days), N(r.NeverUsed)];

    public static string?[] Student(BlockedStudentRow r) =>
        [r.PersonId?.ToString(), r.Name, r.DeviceId.ToString(), r.DeviceName, N(r.Blocks), r.LastBlockedAt.ToString("O", CultureInfo.InvariantCulture)];

    /// <summary>Rows as the CSV writers take them.</summary>
    public static async IAsyncEnumerable<IReadOnlyList<string?>> Rows<T>(
        IReadOnlyList<T> rows, Func<T, string?[]> cells, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return cells(row);
            await Task.CompletedTask;
        }
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);
}
