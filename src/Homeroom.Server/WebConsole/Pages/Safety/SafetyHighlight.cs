using System.Text.Json;

namespace Homeroom.Server.WebConsole.Pages.Safety;

/// <summary>One piece of a text, marked when a matched phrase covers it.</summary>
public sealed record TextSegment(string Text, bool Marked);

/// <summary>Splits a text into plain and marked pieces for <c>&lt;mark&gt;</c>, from match offsets (overlaps merged, out-of-range ones clipped).</summary>
public static class SafetyHighlight
{
    public static IReadOnlyList<TextSegment> Segments(string text, IEnumerable<(int Start, int Length)> spans)
    {
        var ordered = spans.Select(s => (Start: Math.Clamp(s.Start, 0, text.Length), End: Math.Clamp(s.Start + s.Length, 0, text.Length)))
            .Where(s => s.End > s.Start).OrderBy(s => s.Start).ToList();
        var segments = new List<TextSegment>();
        var position = 0;
        foreach (var (start, end) in ordered)
        {
            if (end <= position)
            {
                continue;
            }

            if (start > position)
            {
                segments.Add(new TextSegment(text[position..start], false));
            }

            var from = Math.Max(start, position);
            segments.Add(new TextSegment(text[from..end], true));
            position = end;
        }

        if (position < text.Length)
        {
            segments.Add(new TextSegment(text[position..], false));
        }

        return segments;
    }

    /// <summary>The matches' spans in a stored explanation (offsets in the excerpt).</summary>
    public static IEnumerable<(int Start, int Length)> Spans(JsonElement explanation) =>
        explanation.ValueKind == JsonValueKind.Object && explanation.TryGetProperty("matches", out var matches) && matches.ValueKind == JsonValueKind.Array
            ? matches.EnumerateArray()
                .Where(m => m.TryGetProperty("start", out var s) && s.ValueKind == JsonValueKind.Number && m.TryGetProperty("length", out var l) && l.ValueKind == JsonValueKind.Number)
                .Select(m => (m.GetProperty("start").GetInt32(), m.GetProperty("length").GetInt32()))
                .ToList()
            : [];

    /// <summary>The matches of a stored explanation as "phrase (weight, context)" lines.</summary>
    public static IEnumerable<string> Describe(JsonElement explanation)
    {
        if (explanation.ValueKind != JsonValueKind.Object || !explanation.TryGetProperty("matches", out var matches) || matches.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }

        foreach (var m in matches.EnumerateArray())
        {
            var phrase = m.TryGetProperty("phrase", out var p) ? p.GetString() : "?";
            var category = m.TryGetProperty("category", out var c) ? c.GetString() : "?";
            var weight = m.TryGetProperty("weight", out var w) && w.ValueKind == JsonValueKind.Number ? w.GetDouble() : 0;
            var applied = m.TryGetProperty("context", out var ctx) && ctx.ValueKind == JsonValueKind.Array
                ? string.Join(", ", ctx.EnumerateArray().Select(a => FormattableString.Invariant(
                    $"{(a.GetProperty("isDemotion").GetBoolean() ? "demoted near" : "near")} \"{a.GetProperty("phrase").GetString()}\" ×{a.GetProperty("factor").GetDouble():0.##}")))
                : string.Empty;
            yield return FormattableString.Invariant($"\"{phrase}\" ({category}) weight {weight:0.##}") + (applied.Length > 0 ? $"; {applied}" : string.Empty);
        }
    }
}
