using System.Security.Cryptography;

namespace Homeroom.Contracts.Agents;

/// <summary>
/// Server → agent: one chunk of a file the technician sends to the device in an accepted control session whose school allows
/// file transfer, sent only to an agent that reports <see cref="CapabilityNames.RemoteFile"/> as available. A transfer is the
/// chunks of one <paramref name="TransferId"/> in order, from offset 0 without gaps; every chunk repeats the file's name, size
/// and hash, so the receiver can check each against the first. The receiver keeps the file only once <paramref name="Size"/>
/// bytes arrived and their SHA-256 is <paramref name="Sha256"/>, and answers with a <see cref="RemoteFileStatusFrame"/>.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="TransferId">The transfer (one file).</param>
/// <param name="Name">The file's name (<see cref="RemoteFileLimits.ValidateName"/>).</param>
/// <param name="Size">The whole file's length in bytes, 1 to <see cref="RemoteFileLimits.MaxFileBytes"/>.</param>
/// <param name="Sha256">The SHA-256 of the whole file, 64 lowercase hex digits.</param>
/// <param name="Offset">Where this chunk goes in the file.</param>
/// <param name="Data">The chunk (base64 in the JSON), 1 to <see cref="RemoteFileLimits.ChunkBytes"/> bytes, never past <paramref name="Size"/>.</param>
public sealed record RemoteFileFrame(Guid SessionId, Guid TransferId, string Name, long Size, string Sha256, long Offset, byte[] Data) : AgentFrame;

/// <summary>The states a <see cref="RemoteFileStatusFrame"/> reports.</summary>
public static class RemoteFileStatuses
{
    /// <summary>Every byte arrived, the hash matched, and the file is in the signed-in user's downloads.</summary>
    public const string Saved = "saved";

    /// <summary>Nothing was kept (the reason says why: a hash mismatch, a chunk out of order, no control session, a write error).</summary>
    public const string Refused = "refused";
}

/// <summary>Agent → server: what became of a file the technician sent.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TransferId">The transfer.</param>
/// <param name="Status">One of <see cref="RemoteFileStatuses"/>.</param>
/// <param name="Reason">Why it was refused, or the name it was saved under (at most 256 characters).</param>
public sealed record RemoteFileStatusFrame(Guid SessionId, Guid TransferId, string Status, string? Reason) : AgentFrame;

/// <summary>
/// Server → agent: the technician asks for a file in the signed-in user's home folder, in an accepted control session whose
/// school allows file transfer, sent only to an agent that reports <see cref="CapabilityNames.RemoteFileRead"/> as available.
/// The student is asked first; the agent answers with <see cref="RemoteFileRequestStatusFrame"/> (<c>allowed</c>, then the
/// file as <see cref="RemoteFileUploadFrame"/> chunks; or <c>denied</c> or <c>refused</c>).
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="TransferId">This request, and the transfer that answers it.</param>
/// <param name="Path">The file, relative to the user's home folder (<see cref="RemoteFileLimits.ValidateRequestPath"/>).</param>
/// <param name="MaxBytes">The largest file the server takes (its <c>MaxFileBytes</c>); a larger one is refused on the device.</param>
public sealed record RemoteFileRequestFrame(Guid SessionId, Guid TransferId, string Path, long MaxBytes) : AgentFrame;

/// <summary>The states a <see cref="RemoteFileRequestStatusFrame"/> reports.</summary>
public static class RemoteFileRequestStatuses
{
    /// <summary>The student allowed it: the file's chunks follow.</summary>
    public const string Allowed = "allowed";

    /// <summary>The student denied it, or did not answer in time: nothing is sent.</summary>
    public const string Denied = "denied";

    /// <summary>The device refused it before asking or while reading (the reason says why: no such file, outside the home folder, too large).</summary>
    public const string Refused = "refused";
}

/// <summary>Agent → server: what became of a <see cref="RemoteFileRequestFrame"/> before (or instead of) its chunks.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TransferId">The request.</param>
/// <param name="Status">One of <see cref="RemoteFileRequestStatuses"/>.</param>
/// <param name="Reason">Why it was denied or refused (at most 256 characters).</param>
public sealed record RemoteFileRequestStatusFrame(Guid SessionId, Guid TransferId, string Status, string? Reason) : AgentFrame;

/// <summary>
/// Agent → server: one chunk of the file a <see cref="RemoteFileRequestFrame"/> asked for, after the student allowed it, with the
/// same fields and limits as <see cref="RemoteFileFrame"/>: the chunks of one transfer in order from offset 0, each repeating the
/// name (a safe one, <see cref="RemoteFileLimits.SafeName"/>), size and SHA-256, which the server checks once every byte arrived.
/// At most <see cref="RemoteFileLimits.UploadChunksPerSecond"/> a second.
/// </summary>
public sealed record RemoteFileUploadFrame(Guid SessionId, Guid TransferId, string Name, long Size, string Sha256, long Offset, byte[] Data) : AgentFrame;

/// <summary>The limits of file transfer in remote sessions, and the file name rules both sides apply.</summary>
public static class RemoteFileLimits
{
    /// <summary>
    /// Bytes of file per <see cref="RemoteFileFrame"/>: base64 makes 32 KiB about 43.7 KiB of JSON, within the
    /// 64 KiB text frame limit with the other fields.
    /// </summary>
    public const int ChunkBytes = 32 * 1024;

    /// <summary>The largest file the protocol carries (a server may set a lower limit; 25 MB by default).</summary>
    public const long MaxFileBytes = 100L * 1024 * 1024;

    /// <summary>
    /// The most <see cref="RemoteFileUploadFrame"/> chunks an agent sends a second (about 192 KiB/s), so that with a session's
    /// screen updates (12 a second at most) it stays under the server's 20 frames a second.
    /// </summary>
    public const int UploadChunksPerSecond = 6;

    /// <summary>The longest path a technician may ask for, in characters.</summary>
    public const int MaxRequestPathLength = 512;

    /// <summary>
    /// Null when <paramref name="path"/> may name a file in the user's home folder, otherwise why not: relative (no leading
    /// <c>/</c> or <c>~</c>), no <c>..</c> segment, no control characters, at most <see cref="MaxRequestPathLength"/> characters.
    /// Links are followed on the device, which refuses any that lead out of the home folder.
    /// </summary>
    public static string? ValidateRequestPath(string? path) =>
        string.IsNullOrWhiteSpace(path) ? "the path is missing"
        : path.Length > MaxRequestPathLength ? $"the path is longer than {MaxRequestPathLength} characters"
        : path.Any(char.IsControl) ? "the path has control characters"
        : path.StartsWith('/') || path.StartsWith('~') ? "the path must be relative to the home folder (no leading / or ~)"
        : path.Split('/').Any(segment => segment == "..") ? "the path must not go up a folder (..)"
        : path.EndsWith('/') ? "the path names a folder, not a file"
        : null;

    /// <summary>The longest file name, in characters.</summary>
    public const int MaxNameLength = 128;

    private static readonly char[] Unsafe = ['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

    /// <summary>Null when <paramref name="name"/> may be a file's name as it is, otherwise why not.</summary>
    public static string? ValidateName(string? name) =>
        string.IsNullOrWhiteSpace(name) ? "the file name is missing"
        : name.Length > MaxNameLength ? $"the file name is longer than {MaxNameLength} characters"
        : name.IndexOfAny(Unsafe) >= 0 ? "the file name has a path separator or a character Windows and Linux file systems refuse"
        : name.Any(char.IsControl) ? "the file name has control characters"
        : name is "." or ".." || name.StartsWith('.') ? "the file name starts with a dot (a hidden file)"
        : name != name.Trim() || name.EndsWith('.') ? "the file name starts or ends with a space, or ends with a dot"
        : null;

    /// <summary>
    /// A name that passes <see cref="ValidateName"/>: <paramref name="name"/> itself when it does, else its last path segment
    /// with every unsafe character replaced by <c>_</c>, leading dots and spaces removed and cut to the length limit (keeping
    /// the extension), or <c>file</c> when nothing is left.
    /// </summary>
    public static string SafeName(string? name)
    {
        if (ValidateName(name) is null)
        {
            return name!;
        }

        var last = (name ?? string.Empty).Split('/', '\\').LastOrDefault(s => s.Trim().Trim('.').Length > 0) ?? string.Empty;
        var cleaned = new string([.. last.Select(c => char.IsControl(c) || Array.IndexOf(Unsafe, c) >= 0 ? '_' : c)]).Trim().TrimStart('.').TrimEnd('.').Trim();
        if (cleaned.Length > MaxNameLength)
        {
            var extension = Path.GetExtension(cleaned);
            extension = extension.Length is > 1 and <= 16 ? extension : string.Empty;
            cleaned = cleaned[..(MaxNameLength - extension.Length)].TrimEnd() + extension;
        }

        return ValidateName(cleaned) is null ? cleaned : "file";
    }

    /// <summary>The lowercase hex SHA-256 of <paramref name="data"/>.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Null when the chunk is well formed, otherwise why not.</summary>
    public static string? Validate(RemoteFileFrame f) => ValidateChunk("remoteFile", f.SessionId, f.TransferId, f.Name, f.Size, f.Sha256, f.Offset, f.Data);

    /// <summary>Null when the chunk from the device is well formed, otherwise why not (the same rules as <see cref="RemoteFileFrame"/>).</summary>
    public static string? Validate(RemoteFileUploadFrame f) => ValidateChunk("remoteFileUpload", f.SessionId, f.TransferId, f.Name, f.Size, f.Sha256, f.Offset, f.Data);

    private static string? ValidateChunk(string type, Guid sessionId, Guid transferId, string? name, long size, string? sha256, long offset, byte[]? data) =>
        sessionId == Guid.Empty || transferId == Guid.Empty ? $"{type} ids missing"
        : ValidateName(name) is { } badName ? $"{type} {badName}"
        : size is < 1 or > MaxFileBytes ? $"{type} size out of range"
        : sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigitLower) ? $"{type} sha256 must be 64 lowercase hex digits"
        : data is not { Length: >= 1 and <= ChunkBytes } ? $"{type} chunk empty or too large"
        : offset < 0 || offset > size - data.Length ? $"{type} chunk outside the file"
        : null;

    /// <summary>Null when the request's answer is valid, otherwise why not.</summary>
    public static string? Validate(RemoteFileRequestStatusFrame f) =>
        f.SessionId == Guid.Empty || f.TransferId == Guid.Empty ? "remoteFileRequestStatus ids missing"
        : f.Status is not (RemoteFileRequestStatuses.Allowed or RemoteFileRequestStatuses.Denied or RemoteFileRequestStatuses.Refused) ? "remoteFileRequestStatus status unknown"
        : f.Reason is { Length: > ProtocolLimits.MaxShortText } ? "remoteFileRequestStatus reason too long"
        : null;

    /// <summary>Null when the status frame is valid, otherwise why not.</summary>
    public static string? Validate(RemoteFileStatusFrame f) =>
        f.SessionId == Guid.Empty || f.TransferId == Guid.Empty ? "remoteFileStatus ids missing"
        : f.Status is not (RemoteFileStatuses.Saved or RemoteFileStatuses.Refused) ? "remoteFileStatus status unknown"
        : f.Reason is { Length: > ProtocolLimits.MaxShortText } ? "remoteFileStatus reason too long"
        : null;
}
