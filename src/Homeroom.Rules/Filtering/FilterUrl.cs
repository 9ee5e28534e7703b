using System.Buffers;
using System.Globalization;

namespace Homeroom.Rules.Filtering;

/// <summary>
/// A URL reduced to what filtering needs: the host in canonical form (ASCII lower case, punycode for
/// international names, no trailing dot, no port, no user info) and the path with its query (no
/// fragment). Parsing allocates only when the host has to be rewritten.
/// </summary>
public readonly struct FilterUrl
{
    /// <summary>Longest URL accepted.</summary>
    public const int MaxLength = 8192;

    /// <summary>Longest host name (RFC 1035).</summary>
    public const int MaxHostLength = 253;

    // Characters of a host already in canonical form; anything else takes the slower checking path.
    private static readonly SearchValues<char> CanonicalHostChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-._");
    private static readonly SearchValues<char> AuthorityEnd = SearchValues.Create("/?#");

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

    private readonly string _text;
    private readonly int _hostStart;
    private readonly int _hostLength;
    private readonly int _pathStart;
    private readonly int _pathLength;

    private FilterUrl(string text, int hostStart, int hostLength, int pathStart, int pathLength, bool isIpAddress)
    {
        _text = text;
        _hostStart = hostStart;
        _hostLength = hostLength;
        _pathStart = pathStart;
        _pathLength = pathLength;
        IsIpAddress = isIpAddress;
    }

    /// <summary>The canonical host.</summary>
    public ReadOnlySpan<char> Host => _text.AsSpan(_hostStart, _hostLength);

    /// <summary>The path and query (no fragment): empty, or starting with <c>/</c> or <c>?</c>.</summary>
    public ReadOnlySpan<char> Path => _text.AsSpan(_pathStart, _pathLength);

    /// <summary>True when the host is an IPv4 or IPv6 literal; such hosts match only whole entries, never as suffixes.</summary>
    public bool IsIpAddress { get; }

    /// <summary>Parses a URL (<c>https://Example.COM./a?b</c>) or a bare host with an optional path (<c>example.com/a</c>).</summary>
    public static bool TryParse(string? url, out FilterUrl result, out string? error)
    {
        result = default;
        if (string.IsNullOrWhiteSpace(url))
        {
            error = "The URL is empty.";
            return false;
        }

        if (url.Length > MaxLength)
        {
            error = $"The URL is longer than {MaxLength} characters.";
            return false;
        }

        var span = url.AsSpan();
        var start = 0;
        var end = span.Length;
        while (start < end && char.IsWhiteSpace(span[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(span[end - 1]))
        {
            end--;
        }

        // Scheme: a letter, then letters, digits, '+', '-' or '.', then "://". Without one the text is a bare host.
        if (span[start..end].StartsWith("://".AsSpan()))
        {
            error = "The URL scheme is not valid.";
            return false;
        }

        if (char.IsAsciiLetter(span[start]))
        {
            var j = start + 1;
            while (j < end && j - start <= 32 && (char.IsAsciiLetterOrDigit(span[j]) || span[j] is '+' or '-' or '.'))
            {
                j++;
            }

            if (j + 2 < end && span[j] == ':' && span[j + 1] == '/' && span[j + 2] == '/')
            {
                start = j + 3;
            }
        }

        var authorityLength = span[start..end].IndexOfAny(AuthorityEnd);
        var k = authorityLength < 0 ? end : start + authorityLength;
        var pathStart = k;
        var pathEnd = end;
        var fragment = span[pathStart..end].IndexOf('#');
        if (fragment >= 0)
        {
            pathEnd = pathStart + fragment;
        }

        var authority = span[start..k];
        if (authority.IndexOfAnyExcept(CanonicalHostChars) < 0)
        {
            // The common case: no user info, no port, already canonical. Only the structure is left to check.
            var host = authority.EndsWith('.') ? authority[..^1] : authority;
            if (host.IsEmpty || host.Length > MaxHostLength || host[0] == '.' || host.IndexOf("..".AsSpan()) >= 0)
            {
                error = host.IsEmpty ? "The URL has no host." : host.Length > MaxHostLength ? "The host is longer than 253 characters." : "The host has an empty label.";
                return false;
            }

            error = null;
            result = new FilterUrl(url, start, host.Length, pathStart, pathEnd - pathStart, IsIPv4(host));
            return true;
        }

        var hostStart = start;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            hostStart += at + 1;
        }

        return Finish(url, span[hostStart..k], hostStart, pathStart, pathEnd - pathStart, out result, out error);
    }

    private static bool Finish(string text, ReadOnlySpan<char> authority, int hostOffset, int pathStart, int pathLength, out FilterUrl result, out string? error)
    {
        result = default;
        var host = authority;
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']');
            if (close < 2 || !IsPort(host[(close + 1)..]))
            {
                error = "The IPv6 address in the URL is not valid.";
                return false;
            }

            var literal = host[..(close + 1)];
            foreach (var c in literal[1..^1])
            {
                if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
                {
                    error = "The IPv6 address in the URL is not valid.";
                    return false;
                }
            }

            var lowered = literal.ToString().ToLowerInvariant();
            var combined = string.Concat(lowered, text.AsSpan(pathStart, pathLength));
            result = new FilterUrl(combined, 0, lowered.Length, lowered.Length, pathLength, isIpAddress: true);
            error = null;
            return true;
        }

        var colon = host.IndexOf(':');
        if (colon >= 0)
        {
            if (!IsPort(host[colon..]))
            {
                error = "The port in the URL is not valid.";
                return false;
            }

            host = host[..colon];
        }

        if (host.EndsWith('.'))
        {
            host = host[..^1];
        }

        if (host.IsEmpty)
        {
            error = "The URL has no host.";
            return false;
        }

        if (host.IndexOfAnyExcept(CanonicalHostChars) < 0)
        {
            // The common case: already canonical. Only the structure is left to check.
            if (host.Length > MaxHostLength || host[0] == '.' || host.IndexOf("..".AsSpan()) >= 0)
            {
                error = host.Length > MaxHostLength ? "The host is longer than 253 characters." : "The host has an empty label.";
                return false;
            }

            error = null;
            result = new FilterUrl(text, hostOffset, host.Length, pathStart, pathLength, IsIPv4(host));
            return true;
        }

        var needsRewrite = false;
        var ascii = true;
        foreach (var c in host)
        {
            if (c >= 0x80)
            {
                ascii = false;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                needsRewrite = true;
            }
            else if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.' or '_'))
            {
                error = $"The host contains a character that is not allowed: '{c}'.";
                return false;
            }
        }

        string? canonical = null;
        if (!ascii)
        {
            try
            {
                canonical = Idn.GetAscii(host.ToString().ToLowerInvariant());
            }
            catch (ArgumentException)
            {
                error = "The host is not a valid international domain name.";
                return false;
            }
        }
        else if (needsRewrite)
        {
            canonical = host.ToString().ToLowerInvariant();
        }

        var finalHost = canonical is null ? host : canonical.AsSpan();
        if (finalHost.Length > MaxHostLength || finalHost.IndexOf("..".AsSpan()) >= 0 || finalHost[0] == '.')
        {
            error = finalHost.Length > MaxHostLength ? "The host is longer than 253 characters." : "The host has an empty label.";
            return false;
        }

        var isIp = IsIPv4(finalHost);
        error = null;
        if (canonical is null)
        {
            result = new FilterUrl(text, hostOffset, host.Length, pathStart, pathLength, isIp);
            return true;
        }

        var rebuilt = string.Concat(canonical, text.AsSpan(pathStart, pathLength));
        result = new FilterUrl(rebuilt, 0, canonical.Length, canonical.Length, pathLength, isIp);
        return true;
    }

    // ":" followed by 1 to 5 digits up to 65535, or nothing at all.
    private static bool IsPort(ReadOnlySpan<char> suffix)
    {
        if (suffix.IsEmpty)
        {
            return true;
        }

        if (suffix[0] != ':' || suffix.Length is < 2 or > 6)
        {
            return false;
        }

        var digits = suffix[1..];
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return int.Parse(digits, CultureInfo.InvariantCulture) <= 65535;
    }

    private static bool IsIPv4(ReadOnlySpan<char> host)
    {
        if (host.IsEmpty || !char.IsAsciiDigit(host[^1]))
        {
            return false;
        }

        var dots = 0;
        foreach (var c in host)
        {
            if (c == '.')
            {
                dots++;
            }
            else if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return dots == 3;
    }
}
