namespace Homeroom.Rules.Commands;

/// <summary>
/// The site list of a <c>focus</c> command: hosts (covering their subdomains) or host/path
/// prefixes, separated by spaces, commas or line breaks, as a teacher types them.
/// </summary>
public static class FocusSites
{
    /// <summary>Most sites one focus session may list.</summary>
    public const int MaxSites = 50;

    /// <summary>Parses and normalises a list; returns null with <paramref name="error"/> set when it is not valid.</summary>
    public static IReadOnlyList<string>? Parse(string value, out string? error)
    {
        var sites = new List<string>();
        foreach (var raw in value.Split([' ', ',', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var site = raw.Trim().ToLowerInvariant();
            if (site.StartsWith("https://", StringComparison.Ordinal))
            {
                site = site["https://".Length..];
            }
            else if (site.StartsWith("http://", StringComparison.Ordinal))
            {
                site = site["http://".Length..];
            }

            site = site.TrimEnd('/');
            var host = site.Split('/')[0];
            if (host.StartsWith("*.", StringComparison.Ordinal))
            {
                host = host[2..];
            }

            if (site.Length > 512 || host.Length is 0 or > 253 || !host.Contains('.')
                || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
                || site.Any(c => char.IsControl(c) || c is '"' or '<' or '>' or '\\'))
            {
                error = $"'{Truncate(raw)}' is not a site: give a host such as docs.google.com or a host with a path.";
                return null;
            }

            if (!sites.Contains(site))
            {
                sites.Add(site);
            }
        }

        if (sites.Count == 0)
        {
            error = "List at least one site.";
            return null;
        }

        if (sites.Count > MaxSites)
        {
            error = $"At most {MaxSites} sites.";
            return null;
        }

        error = null;
        return sites;
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
