using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting;

/// <summary>
/// The TLS-terminating reverse proxy in front of Homeroom (configuration section <c>Homeroom:Proxy</c>).
/// Only requests arriving from a trusted proxy have their X-Forwarded-For, -Proto and -Host believed.
/// </summary>
public sealed class ProxyOptions
{
    public const string Section = "Homeroom:Proxy";

    /// <summary>Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/24</c>, <c>fd00::/64</c>) of the proxies to believe.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Believe a proxy on this machine (127.0.0.0/8 and ::1), the layout the operations guide describes.</summary>
    public bool TrustLoopback { get; set; } = true;

    /// <summary>Whether any proxy is trusted at all.</summary>
    public bool Enabled => TrustLoopback || TrustedProxies.Count > 0;

    /// <summary>The trusted proxies as networks (a single address is a /32 or /128 network).</summary>
    public IEnumerable<System.Net.IPNetwork> Networks()
    {
        if (TrustLoopback)
        {
            yield return System.Net.IPNetwork.Parse("127.0.0.0/8");
            yield return new System.Net.IPNetwork(IPAddress.IPv6Loopback, 128);
        }

        foreach (var entry in TrustedProxies)
        {
            yield return TryParse(entry) ?? throw new FormatException($"Not an address or network: {entry}");
        }
    }

    internal static System.Net.IPNetwork? TryParse(string? entry)
    {
        entry = entry?.Trim();
        if (string.IsNullOrEmpty(entry))
        {
            return null;
        }

        if (entry.Contains('/', StringComparison.Ordinal))
        {
            return System.Net.IPNetwork.TryParse(entry, out var network) ? network : null;
        }

        return IPAddress.TryParse(entry, out var address)
            ? new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
            : null;
    }
}

/// <summary>Refuses to start with a trusted proxy that is not an address or network.</summary>
public sealed class ProxyOptionsValidator : IValidateOptions<ProxyOptions>
{
    private const int MaxEntries = 100;

    public ValidateOptionsResult Validate(string? name, ProxyOptions options)
    {
        if (options.TrustedProxies.Count > MaxEntries)
        {
            return ValidateOptionsResult.Fail($"Homeroom:Proxy:TrustedProxies lists more than {MaxEntries} entries.");
        }

        var bad = options.TrustedProxies.Where(e => ProxyOptions.TryParse(e) is null).ToList();
        return bad.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Homeroom:Proxy:TrustedProxies has entries that are not an IP address or a network like 10.0.0.0/24: {string.Join(", ", bad)}");
    }
}

/// <summary>Believes X-Forwarded-For, -Proto and -Host from trusted proxies only, before anything reads the request.</summary>
public static class ReverseProxy
{
    public static IServiceCollection AddReverseProxy(this IServiceCollection services)
    {
        services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProxyOptions>, ProxyOptionsValidator>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ProxyOptions>>((o, proxy) =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            // Each hop taken from the right of X-Forwarded-For must itself come from a trusted proxy, so
            // a chain of trusted proxies works and a client's own X-Forwarded-For entries are never believed.
            o.ForwardLimit = null;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var network in proxy.Value.Networks())
            {
                o.KnownIPNetworks.Add(network);
            }
        });
        return services;
    }

    /// <summary>First in the pipeline: the client address (audit, rate limits, throttling), scheme (Secure cookies) and host (generated URLs) are then the client's.</summary>
    public static WebApplication UseReverseProxy(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ProxyOptions>>().Value.Enabled)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }
}
