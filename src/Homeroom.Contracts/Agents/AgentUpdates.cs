using System.Globalization;
using System.Text;

namespace Homeroom.Contracts.Agents;

/// <summary>
/// One agent build the server offers: which runtime it is for, its version, the SHA-256 (lower-case hex) and size of
/// the program file, the server's signature of <see cref="AgentUpdates.Payload"/>, and where the device downloads it.
/// </summary>
public sealed record AgentUpdateManifest(string Rid, string Version, string Sha256, long Size, byte[] Signature, string DownloadPath);

/// <summary>
/// Signed self-updates of the desktop agent (docs/agent-protocol.md, Agent updates): the signed manifest, the
/// <see cref="CommandKinds.AgentUpdate"/> command's arguments and the agent's check of them.
/// </summary>
public static class AgentUpdates
{
    /// <summary>The first line of every payload: what is signed, in which version of this format.</summary>
    public const string Format = "homeroom-agent-update-v1";

    /// <summary>Largest agent build, in bytes (a self-contained single file is about 70 MB).</summary>
    public const long MaxPackageBytes = 150L * 1024 * 1024;

    /// <summary>The runtimes builds are made for (scripts/package-agent.sh).</summary>
    public static readonly IReadOnlySet<string> Runtimes = new HashSet<string>(StringComparer.Ordinal) { "linux-x64", "win-x64", "osx-arm64", "osx-x64" };

    /// <summary>The prefix of the agent's version in <see cref="AuthFrame.AgentVersion"/>.</summary>
    public const string AgentVersionPrefix = "homeroom-agent/";

    /// <summary>
    /// The exact bytes signed: five lines joined by <c>\n</c> in UTF-8, without a final newline: the format, the
    /// runtime, the version, the program's SHA-256 (lower-case hex) and its size in bytes.
    /// </summary>
    public static byte[] Payload(string rid, string version, string sha256Hex, long size) =>
        Encoding.UTF8.GetBytes(string.Join('\n', Format, rid, version, sha256Hex, size.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Whether a text is a version builds may carry: SemVer's core <c>MAJOR.MINOR.PATCH</c>, each 0 to 65535 without leading zeros.</summary>
    public static bool IsVersion(string? text) => TryParse(text, out _);

    /// <summary>Orders two versions that <see cref="IsVersion"/> accepts.</summary>
    public static int Compare(string a, string b) =>
        TryParse(a, out var x) && TryParse(b, out var y) ? x.CompareTo(y) : throw new ArgumentException("Not a version.");

    /// <summary>The version in an agent's <see cref="AuthFrame.AgentVersion"/> (<c>homeroom-agent/1.2.3</c>), or null.</summary>
    public static string? VersionOfAgent(string? agentVersion) =>
        agentVersion is not null && agentVersion.StartsWith(AgentVersionPrefix, StringComparison.Ordinal) && IsVersion(agentVersion[AgentVersionPrefix.Length..])
            ? agentVersion[AgentVersionPrefix.Length..]
            : null;

    /// <summary>The runtimes a device of a platform may run (none for platforms without the desktop agent).</summary>
    public static IReadOnlyList<string> RuntimesOf(Enrollment.DevicePlatform platform) => platform switch
    {
        Enrollment.DevicePlatform.Windows => ["win-x64"],
        Enrollment.DevicePlatform.MacOS => ["osx-arm64", "osx-x64"],
        Enrollment.DevicePlatform.Linux => ["linux-x64"],
        _ => [],
    };

    /// <summary>The platform of a runtime.</summary>
    public static Enrollment.DevicePlatform PlatformOf(string rid) =>
        rid.StartsWith("win-", StringComparison.Ordinal) ? Enrollment.DevicePlatform.Windows
        : rid.StartsWith("osx-", StringComparison.Ordinal) ? Enrollment.DevicePlatform.MacOS
        : Enrollment.DevicePlatform.Linux;

    /// <summary>
    /// The arguments of an <c>agentUpdate</c> command: one per build, named by its runtime, whose value is the version,
    /// SHA-256, size, signature (base64) and download path separated by spaces.
    /// </summary>
    public static Dictionary<string, string> Arguments(IEnumerable<AgentUpdateManifest> manifests) =>
        manifests.ToDictionary(
            m => m.Rid,
            m => string.Join(' ', m.Version, m.Sha256, m.Size.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(m.Signature), m.DownloadPath),
            StringComparer.Ordinal);

    /// <summary>
    /// Checks an <c>agentUpdate</c> command's build for this agent's runtime against the server's public key and this
    /// agent's version (only a newer version is taken: an old signed build cannot be replayed to go back). Returns the
    /// reason it must not be installed, or null with the verified manifest.
    /// </summary>
    public static string? Verify(IReadOnlyDictionary<string, string>? arguments, byte[]? publicKey, string rid, string currentVersion, out AgentUpdateManifest? manifest)
    {
        manifest = null;
        if (publicKey is null)
        {
            return "no signing key from the server yet";
        }

        if (arguments?.GetValueOrDefault(rid) is not { } value)
        {
            return $"no build for {rid} in the command";
        }

        var parts = value.Split(' ');
        if (parts.Length != 5 || !IsVersion(parts[0]) || !IsSha256(parts[1])
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size is < 1 or > MaxPackageBytes
            || parts[4] != UpdatePathOf(parts[1]))
        {
            return "the build's manifest is malformed";
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return "the build's signature is not base64";
        }

        if (ServerSignature.Verify(publicKey, Payload(rid, parts[0], parts[1], size), signature) is { } bad)
        {
            return bad == ServerSignature.UnreadableKey ? bad : "the build's signature does not verify";
        }

        if (IsVersion(currentVersion) && Compare(parts[0], currentVersion) <= 0)
        {
            return $"the build's version {parts[0]} is not newer than this agent's {currentVersion}";
        }

        manifest = new AgentUpdateManifest(rid, parts[0], parts[1], size, signature, parts[4]);
        return null;
    }

    /// <summary>Whether a text is a SHA-256 in lower-case hex.</summary>
    public static bool IsSha256(string? text) => text is { Length: 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private static string UpdatePathOf(string sha256) => AgentProtocol.UpdatePath(sha256);

    private static bool TryParse(string? text, out (int Major, int Minor, int Patch) version)
    {
        version = default;
        var parts = text?.Split('.');
        if (parts is not { Length: 3 } || !parts.All(IsNumber))
        {
            return false;
        }

        version = (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
        return true;

        static bool IsNumber(string p) =>
            p.Length is > 0 and <= 5 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') && int.Parse(p, CultureInfo.InvariantCulture) <= 65535;
    }
}
