namespace Homeroom.Server.Hosting;

/// <summary>The list shape every collection endpoint answers with.</summary>
public sealed record PagedResult<T>(IReadOnlyList<T> Items, int Total);

/// <summary><c>page</c> (from 1) and <c>pageSize</c> (1 to <see cref="MaxPageSize"/>) query parameters.</summary>
public sealed record PageQuery(int? Page, int? PageSize)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    private const int MaxPage = 1_000_000;

    public int Take => PageSize ?? DefaultPageSize;

    public int Skip => ((Page ?? 1) - 1) * Take;

    public Dictionary<string, string[]>? Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (Page is < 1 or > MaxPage)
        {
            errors["page"] = [$"Must be between 1 and {MaxPage}."];
        }

        if (PageSize is < 1 or > MaxPageSize)
        {
            errors["pageSize"] = [$"Must be between 1 and {MaxPageSize}."];
        }

        return errors.Count == 0 ? null : errors;
    }
}
