using System.Text;

namespace Homeroom.Server.Insights;

/// <summary>
/// Writes CSV (RFC 4180, UTF-8, CRLF line ends) row by row to a stream, so an export of a million
/// rows is never built in memory. A cell a spreadsheet would read as a formula (starting with
/// <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return) gets a leading apostrophe,
/// which spreadsheets show as text (OWASP's advice on CSV injection).
/// </summary>
public sealed class CsvWriter(Stream output) : IAsyncDisposable
{
    private readonly StreamWriter _writer = new(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024, leaveOpen: true);
    private readonly StringBuilder _line = new();

    /// <summary>Writes one row; null cells are empty.</summary>
    public async ValueTask WriteRowAsync(IEnumerable<string?> cells, CancellationToken cancellationToken = default)
    {
        _line.Clear();
        var first = true;
        foreach (var cell in cells)
        {
            if (!first)
            {
                _line.Append(',');
            }

            first = false;
            AppendCell(_line, cell);
        }

        _line.Append("\r\n");
        // The writer passes its buffer on to the stream whenever it fills, so memory stays flat.
        await _writer.WriteAsync(_line, cancellationToken);
    }

    /// <summary>Writes one row.</summary>
    public ValueTask WriteRowAsync(params string?[] cells) => WriteRowAsync((IEnumerable<string?>)cells);

    /// <summary>Writes out what is buffered.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _writer.FlushAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _writer.FlushAsync();
        await _writer.DisposeAsync();
    }

    /// <summary>One cell as CSV: neutralised when it would start a formula, quoted when it holds a comma, quote or line break.</summary>
    public static string Escape(string? cell)
    {
        var builder = new StringBuilder();
        AppendCell(builder, cell);
        return builder.ToString();
    }

    private static void AppendCell(StringBuilder line, string? cell)
    {
        if (string.IsNullOrEmpty(cell))
        {
            return;
        }

        var formula = cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r';
        var quote = formula || cell.AsSpan().IndexOfAny(",\"\r\n") >= 0;
        if (!quote)
        {
            line.Append(cell);
            return;
        }

        line.Append('"');
        if (formula)
        {
            line.Append('\'');
        }

        foreach (var c in cell)
        {
            if (c == '"')
            {
                line.Append('"');
            }

            line.Append(c);
        }

        line.Append('"');
    }
}

/// <summary>An HTTP answer that streams a CSV file as its rows are produced.</summary>
public static class CsvResults
{
    /// <summary>
    /// A <c>text/csv</c> attachment named <paramref name="fileName"/>: the header, then each row of
    /// <paramref name="rows"/> as it is enumerated (so a database reader can feed it directly).
    /// </summary>
    public static IResult Stream(string fileName, IReadOnlyList<string> header, IAsyncEnumerable<IReadOnlyList<string?>> rows) =>
        Results.Stream(async body =>
        {
            await using var csv = new CsvWriter(body);
            await csv.WriteRowAsync(header);
            await foreach (var row in rows)
            {
                await csv.WriteRowAsync(row);
            }
        }, "text/csv; charset=utf-8", fileName);
}
