using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Homeroom.Rules.Zones;

/// <summary>
/// The IP networks (CIDRs) that identify a place, such as a school's internet connections or its local
/// Wi-Fi ranges. Small by design: matching is a linear scan of at most <see cref="MaxRanges"/> networks.
/// </summary>
public sealed class NetworkRanges
{
    /// <summary>Most networks in one list.</summary>
    public const int MaxRanges = 32;

    /// <summary>Longest text of one entry.</summary>
    public const int MaxEntryLength = 64;

    /// <summary>Shortest IPv4 prefix accepted: a /8 is already 16 million addresses, and 0.0.0.0/0 would put everyone inside.</summary>
    public const int MinIPv4Prefix = 8;

    /// <summary>Shortest IPv6 prefix accepted.</summary>
    public const int MinIPv6Prefix = 32;

    private readonly System.Net.IPNetwork[] _networks;

    private NetworkRanges(System.Net.IPNetwork[] networks) => _networks = networks;

    /// <summary>No networks: matches nothing.</summary>
    public static NetworkRanges Empty { get; } = new([]);

    /// <summary>The networks in their canonical text (<c>10.12.0.0/16</c>).</summary>
    public IReadOnlyList<string> Entries => [.. _networks.Select(n => n.ToString())];

    /// <summary>Whether there are no networks.</summary>
    public bool IsEmpty => _networks.Length == 0;

    /// <summary>
    /// Reads a list of CIDRs (a single address is taken as a /32 or /128). Every entry must be a
    /// well-formed network with no host bits set, no broader than <see cref="MinIPv4Prefix"/> or
    /// <see cref="MinIPv6Prefix"/>, at most <see cref="MaxRanges"/> entries, no duplicates.
    /// </summary>
    /// <returns>The ranges, or null with the reasons when any entry is wrong.</returns>
    public static NetworkRanges? Parse(IReadOnlyList<string?>? entries, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        errors = problems;
        if (entries is null || entries.Count == 0)
        {
            return Empty;
        }

        if (entries.Count > MaxRanges)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"At most {MaxRanges} networks."));
            return null;
        }

        var networks = new List<System.Net.IPNetwork>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i]?.Trim();
            if (string.IsNullOrEmpty(entry) || entry.Length > MaxEntryLength)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]: a network like 203.0.113.0/24 (at most {MaxEntryLength} characters)."));
                continue;
            }

            if (TryParse(entry) is not { } network)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]: '{entry}' is not a network like 203.0.113.0/24 (no host bits may be set)."));
                continue;
            }

            var min = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? MinIPv4Prefix : MinIPv6Prefix;
            if (network.PrefixLength < min)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]: '{entry}' is too broad (at least /{min})."));
                continue;
            }

            if (networks.Contains(network))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}]: '{entry}' is listed twice."));
                continue;
            }

            networks.Add(network);
        }

        return problems.Count == 0 ? new NetworkRanges([.. networks]) : null;
    }

    /// <summary>The first network containing the address, in its canonical text; null when none does (or no address).</summary>
    public string? Match(IPAddress? address)
    {
        if (address is null || _networks.Length == 0)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return network.ToString();
            }
        }

        return null;
    }

    private static System.Net.IPNetwork? TryParse(string entry)
    {
        var addressPart = entry.Split('/')[0];
        if (!addressPart.Contains(':', StringComparison.Ordinal) && addressPart.Count(c => c == '.') != 3)
        {
            return null; // IPv4 written in full (10.0.0.0), not the shorthand IPAddress also reads (10.0.0 or a bare number)
        }

        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            // A network with host bits set (10.0.0.1/8) is refused rather than silently widened: it is
            // most likely a typing mistake for a narrower network.
            return System.Net.IPNetwork.TryParse(entry, out var network)
                && IPAddress.TryParse(entry.AsSpan(0, slash), out var written) && written.Equals(network.BaseAddress)
                ? network
                : null;
        }

        return IPAddress.TryParse(entry, out var address) && !entry.Contains('%', StringComparison.Ordinal)
            ? new System.Net.IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)
            : null;
    }
}
