using System.Security.Cryptography;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session;

/// <summary>
/// The helper's end of a file transfer (<see cref="RemoteFileFrame"/>, relayed by the service as <c>remoteFile</c> messages):
/// writes the chunks of one transfer, in order, to a hidden temporary file in <paramref name="directory"/> (the signed-in
/// user's <c>~/Downloads/Homeroom</c>, created when needed), hashing as it goes; once every byte arrived and the SHA-256 is
/// the one the server announced, renames it to the file's name, or to "name (2).ext" and so on when that exists (never
/// overwriting). A hash mismatch, a chunk out of order or whose name, size or hash differs from the first, and a session
/// that ends first (<see cref="Discard"/>) delete the temporary file: nothing unverified is kept under a real name.
/// </summary>
public sealed class RemoteFileReceiver(string directory) : IDisposable
{
    /// <summary>The most "name (n).ext" tried before the transfer is refused.</summary>
    private const int MaxSuffix = 999;

    private Incoming? _current;

    private sealed class Incoming(Guid transferId, string name, long size, string sha256, string temporaryPath, FileStream file) : IDisposable
    {
        public Guid TransferId => transferId;
        public string Name => name;
        public long Size => size;
        public string Sha256 => sha256;
        public string TemporaryPath => temporaryPath;
        public FileStream File => file;
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public long Written { get; set; }

        public void Dispose()
        {
            file.Dispose();
            Hash.Dispose();
        }
    }

    /// <summary>The default folder: <c>Downloads/Homeroom</c> in the home of the user the helper runs as.</summary>
    public static string DefaultDirectory() =>
        Path.Combine(Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "Downloads", "Homeroom");

    /// <summary>
    /// Takes one chunk (already checked well formed by the channel). Null while the file is incomplete; otherwise its outcome:
    /// <see cref="RemoteFileStatuses.Saved"/> with the name it was kept under, or <see cref="RemoteFileStatuses.Refused"/> with why.
    /// </summary>
    public async Task<(string Status, string Detail)?> ReceiveAsync(Guid transferId, string name, long size, string sha256, long offset, byte[] data, CancellationToken cancellationToken)
    {
        try
        {
            if (_current is { } other && other.TransferId != transferId)
            {
                Discard(); // a new transfer replaces an unfinished one (the server sends one at a time)
            }

            if (_current is null)
            {
                if (offset != 0)
                {
                    return (RemoteFileStatuses.Refused, "a chunk arrived out of order; nothing was kept");
                }

                System.IO.Directory.CreateDirectory(directory);
                var temporary = Path.Combine(directory, $".homeroom-{transferId:N}.part");
                _current = new Incoming(transferId, name, size, sha256, temporary,
                    new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true));
            }

            var current = _current;
            if (current.Name != name || current.Size != size || current.Sha256 != sha256 || current.Written != offset)
            {
                Discard();
                return (RemoteFileStatuses.Refused, "a chunk arrived out of order or did not match the first; nothing was kept");
            }

            await current.File.WriteAsync(data, cancellationToken);
            current.Hash.AppendData(data);
            current.Written += data.Length;
            if (current.Written < current.Size)
            {
                return null;
            }

            await current.File.FlushAsync(cancellationToken);
            await current.File.DisposeAsync();
            var actual = Convert.ToHexStringLower(current.Hash.GetHashAndReset());
            if (actual != current.Sha256)
            {
                Discard();
                return (RemoteFileStatuses.Refused, "the file's SHA-256 did not match what the server sent; nothing was kept");
            }

            var kept = Keep(current.TemporaryPath, current.Name);
            _current = null;
            current.Dispose();
            if (kept is null)
            {
                File.Delete(current.TemporaryPath);
                return (RemoteFileStatuses.Refused, $"too many files named {current.Name} in the folder; nothing was kept");
            }

            return (RemoteFileStatuses.Saved, kept);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Discard();
            var reason = $"the file could not be written: {e.Message}";
            return (RemoteFileStatuses.Refused, reason.Length <= ProtocolLimits.MaxShortText ? reason : reason[..ProtocolLimits.MaxShortText]);
        }
    }

    // Renames the verified file to its name, or the first free "name (n).ext"; the name it got, or null when none was free.
    private string? Keep(string temporary, string name)
    {
        var stem = Path.GetFileNameWithoutExtension(name);
        var extension = Path.GetExtension(name);
        for (var n = 1; n <= MaxSuffix; n++)
        {
            var candidate = n == 1 ? name : $"{stem} ({n}){extension}";
            try
            {
                // Never overwrites: a file of that name (even one created a moment ago) makes the next number be tried.
                File.Move(temporary, Path.Combine(directory, candidate), overwrite: false);
                return candidate;
            }
            catch (IOException) when (File.Exists(Path.Combine(directory, candidate)) || System.IO.Directory.Exists(Path.Combine(directory, candidate)))
            {
            }
        }

        return null;
    }

    /// <summary>Drops an unfinished transfer and its temporary file (the session ended, or the transfer failed).</summary>
    public void Discard()
    {
        if (_current is not { } current)
        {
            return;
        }

        _current = null;
        current.Dispose();
        try
        {
            File.Delete(current.TemporaryPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public void Dispose() => Discard();
}
