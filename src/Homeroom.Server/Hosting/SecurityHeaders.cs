using System.Text.RegularExpressions;
using Homeroom.Server.Locations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Headers on every response that keep the console's pages to what they need: scripts only from this server (no inline
/// script, no eval: the console needs neither), styles from this server and the page's own style block, images from this
/// server, <c>data:</c> and <c>blob:</c> URLs (QR codes, screenshots, screen thumbnails) and the map's tile server,
/// connections (the live console and session sockets) only to this server, no plug-ins, no framing by another site, and
/// no camera, microphone or location for a page. A script injected through some future mistake could neither run inline
/// nor send what it read elsewhere. API and agent responses carry the same headers; they are harmless there.
/// </summary>
public static partial class SecurityHeaders
{
    /// <summary>The policy for <paramref name="tileUrl"/> (the configured map tiles; empty: none).</summary>
    public static string ContentSecurityPolicy(string? tileUrl)
    {
        var tiles = TileSource(tileUrl) is { } source ? " " + source : string.Empty;
        return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
            $"img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; object-src 'none'; " +
            "base-uri 'self'; frame-ancestors 'none'";
    }

    /// <summary>The CSP source of a tile URL template: its scheme and host, a leading <c>{s}</c> label as <c>*</c>; null when empty.</summary>
    public static string? TileSource(string? tileUrl)
    {
        if (string.IsNullOrWhiteSpace(tileUrl) || OriginPattern().Match(tileUrl) is not { Success: true } match)
        {
            return null;
        }

        var (scheme, host) = (match.Groups["scheme"].Value, match.Groups["host"].Value);
        if (host.StartsWith("{s}.", StringComparison.Ordinal))
        {
            host = "*" + host[3..];
        }

        // Any other placeholder in the host cannot be written as a source: allow the scheme (still no other scheme, no inline).
        return host.Contains('{', StringComparison.Ordinal) ? scheme + ":" : $"{scheme}://{host}";
    }

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        var policy = ContentSecurityPolicy(app.ApplicationServices.GetRequiredService<IOptions<MapOptions>>().Value.TileUrl);
        return app.Use((context, next) =>
        {
            // When the response starts, so headers survive the exception handler clearing the response.
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = policy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                return Task.CompletedTask;
            });
            return next(context);
        });
    }

    [GeneratedRegex(@"^(?<scheme>https?)://(?<host>[^/?#]+)", RegexOptions.CultureInvariant)]
    private static partial Regex OriginPattern();
}
