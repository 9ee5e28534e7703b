namespace Homeroom.Bench.Filter;

/// <summary>
/// The straightforward implementation the engine is compared with: a dictionary from host name to
/// its categories, <see cref="Uri"/> to parse, and one substring per suffix while looking up.
/// </summary>
internal sealed class NaiveFilter
{
    private readonly Dictionary<string, HashSet<string>> _hosts = new(StringComparer.Ordinal);
    private HashSet<string> _blocked = [];

    public void Add(string category, string host)
    {
        if (!_hosts.TryGetValue(host, out var categories))
        {
            _hosts[host] = categories = [];
        }

        categories.Add(category);
    }

    public void Block(IEnumerable<string> categories) => _blocked = [.. categories];

    public bool IsBlocked(string url)
    {
        if (!url.Contains("://", StringComparison.Ordinal))
        {
            url = "http://" + url;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return true;
        }

        var host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        while (true)
        {
            if (_hosts.TryGetValue(host, out var categories) && categories.Overlaps(_blocked))
            {
                return true;
            }

            var dot = host.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0)
            {
                return false;
            }

            host = host[(dot + 1)..];
        }
    }
}
