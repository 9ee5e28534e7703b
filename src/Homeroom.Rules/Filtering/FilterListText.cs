namespace Homeroom.Rules.Filtering;

/// <summary>
/// Reads the text the server answers at <c>/agent/v1/filter-list</c>: a <c># homeroom filter list</c>
/// line, then for each category a <c># name</c> line followed by one host or host/path per line.
/// Lines that are not valid entries are skipped, as the import does.
/// </summary>
public static class FilterListText
{
    /// <summary>Reads the whole answer into a compiled list.</summary>
    public static async Task<FilterList> ReadAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var builder = new FilterListBuilder();
        var category = -1;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("# ", StringComparison.Ordinal) && FilterListBuilder.IsValidCategoryName(line[2..]))
            {
                category = builder.AddCategory(line[2..]);
            }
            else if (category >= 0 && line.Length > 0 && line[0] != '#')
            {
                builder.TryAdd(category, line, out _);
            }
        }

        return builder.Build();
    }
}
