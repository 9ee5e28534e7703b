using System.Text.RegularExpressions;

namespace Homeroom.Agent.Diagnostics;

/// <summary>
/// Takes secrets out of log text before it leaves the device in a diagnostics report: Homeroom's own secrets
/// (device credentials <c>hrd_</c>, enrollment tokens <c>hre_</c>, API keys <c>hrk_</c>), the value after words such as
/// token, credential, password, secret or key, authorization headers, secrets in URLs (user info, query values
/// named like secrets) and any long run of hex or base64 that looks like a key.
/// </summary>
public static partial class LogRedaction
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mark = "[redacted]";

    /// <summary>The text with every secret replaced by <see cref="Mark"/>.</summary>
    public static string Redact(string text)
    {
        text = HomeroomSecret().Replace(text, Mark);
        text = Authorization().Replace(text, m => m.Groups[1].Value + Mark);
        text = NamedSecret().Replace(text, m => m.Groups[1].Value + Mark);
        text = UrlUserInfo().Replace(text, m => m.Groups[1].Value + Mark + "@");
        return LongKey().Replace(text, Mark);
    }

    [GeneratedRegex(@"\bhr[a-z]_[A-Za-z0-9_\-]{8,}")]
    private static partial Regex HomeroomSecret();

    [GeneratedRegex(@"(?i)(\bauthorization\s*[:=]\s*(?:bearer|basic|device|token)?\s*)[^\s,;]+")]
    private static partial Regex Authorization();

    [GeneratedRegex(@"(?i)(\b(?:[a-z_\-]*token|credential|password|passwd|secret|api[_\-]?key|private[_\-]?key|pin)""?\s*[:=]\s*""?)[^\s,;&""]+")]
    private static partial Regex NamedSecret();

    [GeneratedRegex(@"(\b[a-z][a-z0-9+.\-]*://)[^/\s@]+@")]
    private static partial Regex UrlUserInfo();

    [GeneratedRegex(@"\b(?=[A-Za-z0-9+/_]*\d)(?=[A-Za-z0-9+/_]*[A-Za-z])[A-Za-z0-9+/_]{32,}={0,2}")]
    private static partial Regex LongKey();
}
