namespace Homeroom.Server.WebConsole.Components;

/// <summary>How <see cref="InsightChart"/> draws its numbers.</summary>
public enum ChartKind
{
    Bar,
    Line,
}

/// <summary>One series of a chart: a name for the legend and the table's column, and a value per label.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> Values);
