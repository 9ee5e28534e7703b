using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Homeroom.Contracts.Agents;

/// <summary>
/// The answer to a <see cref="CommandKinds.RunScript"/> command the agent ran: its exit code and output, sent before the
/// command's <c>succeeded</c> status. A script the agent refused (bad signature, wrong body, wrong platform) gets no
/// such frame, only a <c>failed</c> status saying why.
/// </summary>
/// <param name="CommandId">The <c>runScript</c> command this answers.</param>
/// <param name="ExitCode">The process's exit code; null when it was killed at its time limit.</param>
/// <param name="TimedOut">Whether the time limit ended it.</param>
/// <param name="Milliseconds">How long it ran.</param>
/// <param name="Stdout">Its standard output, cut to <see cref="ScriptLimits.MaxOutputChars"/> (the end is kept).</param>
/// <param name="Stderr">Its standard error, cut the same way.</param>
/// <param name="OutputTruncated">Whether either output was cut.</param>
public sealed record ScriptResultFrame(
    Guid CommandId, int? ExitCode, bool TimedOut, int Milliseconds, string Stdout, string Stderr, bool OutputTruncated) : AgentFrame;

/// <summary>The platforms a script is written for, and the interpreter each means.</summary>
public static class ScriptPlatforms
{
    /// <summary>Windows: PowerShell (<c>powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File</c>).</summary>
    public const string Windows = "windows";
    /// <summary>macOS: <c>/bin/sh</c>.</summary>
    public const string MacOS = "macos";
    /// <summary>Linux: <c>/bin/bash</c> when present, else <c>/bin/sh</c>.</summary>
    public const string Linux = "linux";

    /// <summary>Every platform a script may name.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Windows, MacOS, Linux };
}

/// <summary>The limits of scripts and of <see cref="ScriptResultFrame"/>.</summary>
public static class ScriptLimits
{
    /// <summary>
    /// Largest script body, in UTF-8 bytes. The body travels base64-encoded inside one command frame, which must fit
    /// <see cref="ProtocolLimits.MaxTextFrameBytes"/> (64 KiB): 32 KiB of script is 43,692 bytes of base64.
    /// </summary>
    public const int MaxBodyBytes = 32 * 1024;

    /// <summary>Shortest time limit, in seconds.</summary>
    public const int MinTimeLimitSeconds = 1;

    /// <summary>Longest time limit, in seconds (one hour).</summary>
    public const int MaxTimeLimitSeconds = 3600;

    /// <summary>Most characters of each output kept (the last ones: errors come at the end).</summary>
    public const int MaxOutputChars = 16 * 1024;

    /// <summary>Returns null when the frame is valid, otherwise a short reason fit for a close message.</summary>
    public static string? Validate(ScriptResultFrame f) =>
        f.CommandId == Guid.Empty ? "scriptResult commandId missing"
        : f.Stdout is null || f.Stderr is null ? "scriptResult output missing"
        : f.Stdout.Length > MaxOutputChars || f.Stderr.Length > MaxOutputChars ? "scriptResult output too long"
        : f.Milliseconds < 0 ? "scriptResult milliseconds negative"
        : f.TimedOut == f.ExitCode.HasValue ? "scriptResult needs an exit code, or timedOut without one"
        : null;
}

/// <summary>
/// The signed statement that a district administrator approved one version of a script (docs/agent-protocol.md,
/// Scripts). The server signs <see cref="Payload"/> with its ECDSA P-256 script-signing key (SHA-256, the 64-byte
/// IEEE P1363 form r‖s); agents hold the public key from the welcome frame and check the signature and the body's
/// hash before anything is written to disk.
/// </summary>
public static class ScriptSigning
{
    /// <summary>The first line of every payload: what is signed, in which version of this format.</summary>
    public const string Format = "homeroom-script-v1";

    /// <summary>
    /// The exact bytes signed: six lines joined by <c>\n</c> in UTF-8, without a final newline: the format, the script
    /// id (lower-case, with hyphens), the version, the platform, the body's SHA-256 (lower-case hex) and the time limit in seconds.
    /// </summary>
    public static byte[] Payload(Guid scriptId, int version, string platform, string sha256Hex, int timeLimitSeconds) =>
        Encoding.UTF8.GetBytes(string.Join('\n',
            Format,
            scriptId.ToString("D"),
            version.ToString(CultureInfo.InvariantCulture),
            platform,
            sha256Hex,
            timeLimitSeconds.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The SHA-256 of a body, lower-case hex.</summary>
    public static string Hash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>The arguments of a <c>runScript</c> command: <c>scriptId</c>, <c>version</c>, <c>name</c>, <c>platform</c>, <c>timeLimit</c>, <c>sha256</c>, <c>signature</c> (base64) and <c>body</c> (base64).</summary>
    public static Dictionary<string, string> Arguments(
        Guid scriptId, int version, string name, string platform, int timeLimitSeconds, string sha256Hex, byte[] signature, byte[] body) => new(StringComparer.Ordinal)
    {
        ["scriptId"] = scriptId.ToString("D"),
        ["version"] = version.ToString(CultureInfo.InvariantCulture),
        ["name"] = name,
        ["platform"] = platform,
        ["timeLimit"] = timeLimitSeconds.ToString(CultureInfo.InvariantCulture),
        ["sha256"] = sha256Hex,
        ["signature"] = Convert.ToBase64String(signature),
        ["body"] = Convert.ToBase64String(body),
    };

    /// <summary>
    /// Checks a <c>runScript</c> command's arguments against the server's public key (SubjectPublicKeyInfo, DER) and
    /// this device's platform. Returns the reason it must not run, or null with the verified script.
    /// </summary>
    public static string? Verify(IReadOnlyDictionary<string, string>? arguments, byte[]? publicKey, string devicePlatform, out VerifiedScript? script)
    {
        script = null;
        if (publicKey is null)
        {
            return "no script-signing key from the server yet";
        }

        string? Get(string name) => arguments?.GetValueOrDefault(name);
        if (!Guid.TryParse(Get("scriptId"), out var scriptId)
            || !int.TryParse(Get("version"), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1
            || Get("platform") is not { } platform || !ScriptPlatforms.All.Contains(platform)
            || !int.TryParse(Get("timeLimit"), NumberStyles.None, CultureInfo.InvariantCulture, out var timeLimit)
            || timeLimit is < ScriptLimits.MinTimeLimitSeconds or > ScriptLimits.MaxTimeLimitSeconds
            || Get("sha256") is not { Length: 64 } sha256
            || Get("signature") is not { } signatureText || Get("body") is not { } bodyText)
        {
            return "the script's arguments are missing or malformed";
        }

        byte[] signature, body;
        try
        {
            signature = Convert.FromBase64String(signatureText);
            body = Convert.FromBase64String(bodyText);
        }
        catch (FormatException)
        {
            return "the script's signature or body is not base64";
        }

        if (body.Length > ScriptLimits.MaxBodyBytes)
        {
            return "the script's body is larger than allowed";
        }

        if (ServerSignature.Verify(publicKey, Payload(scriptId, version, platform, sha256, timeLimit), signature) is { } bad)
        {
            return bad == ServerSignature.UnreadableKey ? "the server's script-signing key is unreadable" : "the script's signature does not verify";
        }

        // The signature covers the hash; the body must be the one hashed.
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(body)), Encoding.ASCII.GetBytes(sha256)))
        {
            return "the script's body does not match its signed hash";
        }

        if (platform != devicePlatform)
        {
            return $"the script is for {platform}, this device runs {devicePlatform}";
        }

        script = new VerifiedScript(scriptId, version, Get("name") ?? "script", platform, TimeSpan.FromSeconds(timeLimit), body);
        return null;
    }
}

/// <summary>
/// Checks a signature of the server's signing key (ECDSA P-256 over SHA-256, the 64-byte IEEE P1363 form r‖s), the
/// key the agent pinned from its first welcome frame. One key signs approved scripts and agent builds; each payload
/// starts with its own format line (<see cref="ScriptSigning.Format"/>, <see cref="AgentUpdates.Format"/>), so a
/// signature of one kind never verifies as the other.
/// </summary>
public static class ServerSignature
{
    /// <summary>The answer when the public key cannot be read.</summary>
    public const string UnreadableKey = "the server's signing key is unreadable";

    /// <summary>The answer when the signature does not verify.</summary>
    public const string BadSignature = "the signature does not verify";

    /// <summary>Null when <paramref name="signature"/> is the server's over <paramref name="payload"/>, else why not.</summary>
    public static string? Verify(byte[] publicKey, byte[] payload, byte[] signature)
    {
        using var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKey, out _);
        }
        catch (CryptographicException)
        {
            return UnreadableKey;
        }

        return signature.Length == 64 && key.VerifyData(payload, signature, HashAlgorithmName.SHA256) ? null : BadSignature;
    }
}

/// <summary>A script whose signature and body hash verified.</summary>
/// <param name="ScriptId">The script.</param>
/// <param name="Version">Its approved version.</param>
/// <param name="Name">Its name, for logs.</param>
/// <param name="Platform">Its platform (this device's).</param>
/// <param name="TimeLimit">How long it may run before it is killed.</param>
/// <param name="Body">The script, UTF-8.</param>
public sealed record VerifiedScript(Guid ScriptId, int Version, string Name, string Platform, TimeSpan TimeLimit, byte[] Body);
