namespace Homeroom.Server.WebConsole.Components;

/// <summary>How <see cref="InsightChart"/> draws its numbers.</summary>
public enum ChartKind
{
    Bar,
    Line,
}

/// <summary>One series of a chart: a name for the legend and the table's column, and a value per label.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> Values);

/// <summary>The query string of a report's API address, for the console's CSV links.</summary>
public static class ReportLinks
{
    public static string Of(Insights.ReportRequest filters, string? format = null)
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                parts.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        Add("schoolId", filters.SchoolId);
        Add("grade", filters.Grade);
        Add("classId", filters.ClassId);
        Add("platform", filters.Platform);
        Add("from", filters.From);
        Add("to", filters.To);
        Add("format", format);
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}
