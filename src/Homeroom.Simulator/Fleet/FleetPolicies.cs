using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Filtering;
using Homeroom.Rules.Policies;

namespace Homeroom.Simulator.Fleet;

/// <summary>
/// What the devices of one fleet share to enforce policies: the category lists they download from
/// the server (once per list version and set of categories, as every device of a real fleet would
/// fetch the same file) and the filters compiled from them.
/// </summary>
public sealed class FleetPolicies(HttpClient http, Uri server)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<FilterList>>> _lists = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WebFilter> _filters = new(StringComparer.Ordinal);

    /// <summary>The filter a policy document asks for, downloading its categories with the device's credential when needed.</summary>
    public async Task<WebFilter> FilterForAsync(PolicyDocument policy, Guid deviceId, string credential, CancellationToken cancellationToken)
    {
        var categories = policy.ListCategories;
        var list = FilterList.Empty;
        if (categories.Count > 0)
        {
            var key = $"{policy.ListVersion}|{string.Join(',', categories)}";
            var lazy = _lists.GetOrAdd(key, _ => new Lazy<Task<FilterList>>(() => DownloadAsync(categories, deviceId, credential, cancellationToken)));
            try
            {
                list = await lazy.Value;
            }
            catch
            {
                _lists.TryRemove(key, out _); // the next device tries again
                throw;
            }
        }

        var settings = policy.WebFilter;
        var filterKey = $"{policy.ListVersion}|{string.Join('\u001f', [.. settings.BlockedCategories, "|", .. settings.AllowedCategories, "|", .. settings.BlockedSites, "|", .. settings.AllowedSites])}|{settings.AllowOnly}";
        return _filters.GetOrAdd(filterKey, _ => WebFilter.Compile(list, settings));
    }

    private async Task<FilterList> DownloadAsync(IReadOnlyList<string> categories, Guid deviceId, string credential, CancellationToken cancellationToken)
    {
        using var request = AgentProtocol.FilterListRequest(server, deviceId, credential, categories);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        return await FilterListText.ReadAsync(reader, cancellationToken);
    }
}
