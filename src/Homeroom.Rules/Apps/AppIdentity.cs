namespace Homeroom.Rules.Apps;

/// <summary>
/// How an app is known on each platform, and whether a given identity parses. Each check is strict
/// and bounded: an identity that does not parse is refused before anything is stored.
/// </summary>
public static class AppIdentity
{
    /// <summary>A Chrome extension id: exactly 32 letters a to p (a SHA-256 prefix written in base 16 with the letters a–p).</summary>
    public const int ChromeExtensionIdLength = 32;

    /// <summary>The longest web app URL accepted.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>The longest App Store id (adam id) accepted, in digits.</summary>
    public const int MaxAdamIdDigits = 15;

    /// <summary>Apple's limit on a bundle identifier.</summary>
    public const int MaxBundleIdLength = 155;

    /// <summary>The longest Windows package id accepted (a winget id, a Store product id or a package family name).</summary>
    public const int MaxWindowsPackageIdLength = 128;

    /// <summary>The longest Debian package name accepted (the protocol's package identity limit).</summary>
    public const int MaxLinuxPackageLength = 128;

    /// <summary>The longest Mac package id (the receipt id <c>pkgutil</c> knows it by) accepted: the protocol's package identity limit.</summary>
    public const int MaxMacPackageIdLength = 128;

    /// <summary>The longest path of a Mac app bundle accepted.</summary>
    public const int MaxMacAppPathLength = 255;

    /// <summary>A SHA-256 written in base 16: 64 characters.</summary>
    public const int Sha256HexLength = 64;

    /// <summary>The longest Windows executable file name accepted.</summary>
    public const int MaxWindowsExecutableLength = 64;

    /// <summary>The most executables one catalog entry names.</summary>
    public const int MaxWindowsExecutables = 10;

    /// <summary>The longest Android package name accepted.</summary>
    public const int MaxAndroidPackageLength = 255;

    /// <summary>Google's update URL for extensions from the Chrome Web Store, as ExtensionInstallForcelist takes it.</summary>
    public const string ChromeWebStoreUpdateUrl = "https://clients2.google.com/service/update2/crx";

    /// <summary>Whether a text is a Chrome extension id.</summary>
    public static bool IsChromeExtensionId(string? value)
    {
        if (value is null || value.Length != ChromeExtensionIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < 'a' or > 'p')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether a text is an absolute https URL of a web app (http only for localhost-free real hosts is refused: apps are served over TLS).</summary>
    public static bool IsWebAppUrl(string? value) =>
        value is { Length: > 0 and <= MaxUrlLength }
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && uri.Scheme == Uri.UriSchemeHttps
        && uri.Host.Length > 0
        && string.IsNullOrEmpty(uri.UserInfo)
        && !value.Any(char.IsWhiteSpace);

    /// <summary>Whether a text is an absolute https URL a Mac package is downloaded from (the same rule as a web app's URL).</summary>
    public static bool IsPackageUrl(string? value) => IsWebAppUrl(value);

    /// <summary>Whether a text is a SHA-256 in base 16 (64 characters 0-9, a-f, either case).</summary>
    public static bool IsSha256(string? value) => value is { Length: Sha256HexLength } && value.All(char.IsAsciiHexDigit);

    /// <summary>
    /// Whether a text is a Mac package id, the receipt id <c>pkgutil --pkgs</c> lists (<c>com.example.app.pkg</c>): at least
    /// two dot-separated parts of ASCII letters, digits, hyphens and underscores, starting with a letter or digit, at most 128.
    /// It is passed to <c>pkgutil</c> and can never be read as an option or a path.
    /// </summary>
    public static bool IsMacPackageId(string? value) =>
        IsDotted(value, MaxMacPackageIdLength, allowHyphen: true, allowUnderscore: true, letterFirst: false) && char.IsAsciiLetterOrDigit(value![0]);

    /// <summary>
    /// Whether a text is the path of the app bundle a Mac package installs: under <c>/Applications/</c>, ending in <c>.app</c>,
    /// at most 255 characters, each part non-empty and neither <c>.</c> nor <c>..</c>, without control characters or
    /// <c>\ : * ? " &lt; &gt; |</c>. The desktop agent moves this bundle away when the app is removed.
    /// </summary>
    public static bool IsMacAppPath(string? value)
    {
        const string Root = "/Applications/";
        if (value is not { Length: > 18 and <= MaxMacAppPathLength } || !value.StartsWith(Root, StringComparison.Ordinal)
            || !value.EndsWith(".app", StringComparison.Ordinal) || value.Any(c => char.IsControl(c) || c is '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|'))
        {
            return false;
        }

        var parts = value[Root.Length..].Split('/');
        return parts.All(p => p.Length > 0 && p != "." && p != ".." && p == p.Trim()) && parts[^1].Length > 4;
    }

    /// <summary>Whether a text is an App Store id (iTunesStoreID, "adam id"): digits only, no leading zero.</summary>
    public static bool IsAdamId(string? value) =>
        value is { Length: > 0 and <= MaxAdamIdDigits } && value[0] != '0' && value.All(char.IsAsciiDigit);

    /// <summary>
    /// Whether a text is an Apple bundle identifier: reverse-DNS, at least two dot-separated parts, each
    /// of ASCII letters, digits and hyphens (Apple's CFBundleIdentifier rule), at most 155 characters.
    /// </summary>
    public static bool IsBundleId(string? value) => IsDotted(value, MaxBundleIdLength, allowHyphen: true, allowUnderscore: false, letterFirst: false);

    /// <summary>
    /// Whether a text is an Android package name: at least two dot-separated parts, each starting with a
    /// letter and made of ASCII letters, digits and underscores.
    /// </summary>
    public static bool IsAndroidPackage(string? value) => IsDotted(value, MaxAndroidPackageLength, allowHyphen: false, allowUnderscore: true, letterFirst: true);

    /// <summary>
    /// Whether a text is a Windows package id: a winget id (<c>Publisher.Package</c>), a Microsoft Store
    /// product id (<c>9NBLGGH4NNS1</c>) or a package family name (<c>Name_publisherhash</c>): ASCII
    /// letters, digits, dots, hyphens and underscores, starting with a letter or digit.
    /// </summary>
    public static bool IsWindowsPackageId(string? value) =>
        value is { Length: > 0 and <= MaxWindowsPackageIdLength }
        && char.IsAsciiLetterOrDigit(value[0])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
        && !value.Contains("..", StringComparison.Ordinal)
        && value[^1] != '.';

    /// <summary>
    /// Whether a text is a Debian package name (Debian Policy 5.6.7): at least two characters, lower-case
    /// ASCII letters, digits, <c>+</c>, <c>-</c> and <c>.</c>, starting with a letter or digit; at most 128 here.
    /// The desktop agent installs it with apt on Debian and Ubuntu machines.
    /// </summary>
    public static bool IsLinuxPackage(string? value) =>
        value is { Length: >= 2 and <= MaxLinuxPackageLength }
        && (char.IsAsciiLetterLower(value[0]) || char.IsAsciiDigit(value[0]))
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '-' or '.')
        && !value.Contains("..", StringComparison.Ordinal)
        && value[^1] != '.';

    /// <summary>
    /// Whether a text is the file name of a Windows program (<c>steam.exe</c>): ASCII letters, digits, spaces and
    /// <c>. _ - ( ) +</c>, starting with a letter or digit, ending in <c>.exe</c>, at most 64; no folder.
    /// </summary>
    public static bool IsWindowsExecutable(string? value) =>
        value is { Length: > 4 and <= MaxWindowsExecutableLength }
        && char.IsAsciiLetterOrDigit(value[0])
        && value.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is ' ' or '.' or '_' or '-' or '(' or ')' or '+')
        && !value.Contains("..", StringComparison.Ordinal);

    /// <summary>The ExtensionInstallForcelist line Google Admin takes for a Chrome Web Store extension.</summary>
    public static string ChromeForceInstallLine(string extensionId) => $"{extensionId};{ChromeWebStoreUpdateUrl}";

    private static bool IsDotted(string? value, int maxLength, bool allowHyphen, bool allowUnderscore, bool letterFirst)
    {
        if (value is null || value.Length == 0 || value.Length > maxLength)
        {
            return false;
        }

        var parts = 0;
        var partLength = 0;
        for (var i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || value[i] == '.')
            {
                if (partLength == 0)
                {
                    return false;
                }

                parts++;
                partLength = 0;
                continue;
            }

            var c = value[i];
            var ok = char.IsAsciiLetterOrDigit(c) || (allowHyphen && c == '-') || (allowUnderscore && c == '_');
            if (!ok || (letterFirst && partLength == 0 && !char.IsAsciiLetter(c)))
            {
                return false;
            }

            partLength++;
        }

        return parts >= 2;
    }
}
