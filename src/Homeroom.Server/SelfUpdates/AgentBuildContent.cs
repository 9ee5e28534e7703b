using System.Data;
using System.Security.Cryptography;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Npgsql;
using NpgsqlTypes;

namespace Homeroom.Server.SelfUpdates;

/// <summary>A stored build's program file for a download: a file on this node (SQLite), or chunks every node reads (PostgreSQL).</summary>
/// <param name="File">The file's path on SQLite; null on PostgreSQL.</param>
/// <param name="Size">Its length in bytes.</param>
/// <param name="WriteAsync">On PostgreSQL, writes the file to the response one chunk at a time.</param>
public sealed record AgentBuildDownload(string? File, long Size, Func<Stream, CancellationToken, Task>? WriteAsync);

/// <summary>
/// Where the agent builds' program files are kept, by SHA-256 (one copy for the builds that are the same file). On SQLite
/// (one node) files under <c>data/agent-updates</c>, owner-only, as always. On PostgreSQL, rows of
/// <c>agent_build_content</c> of <see cref="ChunkBytes"/> each, so that every node of a cluster serves a build uploaded
/// through any of them: the upload streams into the rows under a temporary name inside one transaction, which takes the
/// file's name only once the whole file is hashed and checked (a refused, oversized or broken upload leaves nothing);
/// a download reads one chunk at a time. Neither way holds a whole file in memory.
/// </summary>
public sealed class AgentBuildContent(DatabaseOptions database)
{
    /// <summary>The size of a stored chunk on PostgreSQL (and of the buffer an upload or download holds).</summary>
    public const int ChunkBytes = 1 << 20;

    private const int HeaderBytes = 64;

    private readonly string _directory = Path.Combine(database.DataDirectory, "agent-updates");

    /// <summary>Whether the files are in the database (PostgreSQL) rather than in this node's data directory.</summary>
    public bool InDatabase => database.Provider == DatabaseProvider.Postgres;

    /// <summary>
    /// Reads <paramref name="body"/> to its end, hashing and counting, and keeps it: <see cref="PayloadTooLargeException"/>
    /// past <paramref name="maxBytes"/>, a validation problem when its first bytes are not an executable of <paramref name="rid"/>.
    /// </summary>
    public Task<(string Sha256, long Size)> StoreAsync(Stream body, string rid, long maxBytes, CancellationToken cancellationToken) =>
        InDatabase ? StoreInDatabaseAsync(body, rid, maxBytes, cancellationToken) : StoreInFileAsync(body, rid, maxBytes, cancellationToken);

    /// <summary>The file with this SHA-256 (of <paramref name="size"/> bytes, as its build says), or null when it is not kept.</summary>
    public async Task<AgentBuildDownload?> OpenAsync(string sha256, long size, CancellationToken cancellationToken)
    {
        if (!InDatabase)
        {
            var file = Path.Combine(_directory, sha256);
            return File.Exists(file) ? new AgentBuildDownload(file, size, null) : null;
        }

        await using (var connection = await OpenConnectionAsync(cancellationToken))
        {
            await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM agent_build_content WHERE sha256 = @sha AND seq = 0)", connection);
            command.Parameters.AddWithValue("sha", sha256);
            if (!(bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return null;
            }
        }

        return new AgentBuildDownload(null, size, (output, token) => WriteChunksAsync(sha256, output, token));
    }

    /// <summary>Deletes the file with this SHA-256 (the caller knows no build is that file any more).</summary>
    public async Task DeleteAsync(string sha256, CancellationToken cancellationToken)
    {
        if (!InDatabase)
        {
            File.Delete(Path.Combine(_directory, sha256));
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM agent_build_content WHERE sha256 = @sha", connection);
        command.Parameters.AddWithValue("sha", sha256);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // One connection per chunk: a slow device's download does not hold a pooled connection for minutes.
    private async Task WriteChunksAsync(string sha256, Stream output, CancellationToken cancellationToken)
    {
        for (var seq = 0; ; seq++)
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT data FROM agent_build_content WHERE sha256 = @sha AND seq = @seq", connection);
            command.Parameters.AddWithValue("sha", sha256);
            command.Parameters.AddWithValue("seq", seq);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return;
            }

            await using var chunk = reader.GetStream(0);
            await chunk.CopyToAsync(output, cancellationToken);
        }
    }

    private async Task<(string Sha256, long Size)> StoreInDatabaseAsync(Stream body, string rid, long maxBytes, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var temporary = $"upload-{Guid.NewGuid():N}";
        await using var insert = new NpgsqlCommand("INSERT INTO agent_build_content (sha256, seq, data) VALUES (@sha, @seq, @data)", connection, transaction);
        insert.Parameters.AddWithValue("sha", temporary);
        var seq = new NpgsqlParameter<int>("seq", NpgsqlDbType.Integer);
        var data = new NpgsqlParameter<ReadOnlyMemory<byte>>("data", NpgsqlDbType.Bytea);
        insert.Parameters.Add(seq);
        insert.Parameters.Add(data);

        using var reading = new Reading(rid, maxBytes);
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            var filled = 0;
            int read;
            while (filled < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
            {
                reading.Add(buffer.AsSpan(filled, read));
                filled += read;
            }

            if (filled > 0)
            {
                data.TypedValue = buffer.AsMemory(0, filled);
                await insert.ExecuteNonQueryAsync(cancellationToken);
                seq.TypedValue++;
            }

            if (filled < buffer.Length)
            {
                break;
            }
        }

        var (sha256, size) = reading.Finish();

        // Two uploads of the same file take turns; the second keeps the first's rows.
        await using (var claim = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(hashtextextended(@sha, 0));
            """, connection, transaction))
        {
            claim.Parameters.AddWithValue("sha", sha256);
            await claim.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var keep = new NpgsqlCommand(
            """
            DELETE FROM agent_build_content WHERE sha256 = @temporary AND EXISTS (SELECT 1 FROM agent_build_content WHERE sha256 = @sha);
            UPDATE agent_build_content SET sha256 = @sha WHERE sha256 = @temporary;
            """, connection, transaction))
        {
            keep.Parameters.AddWithValue("sha", sha256);
            keep.Parameters.AddWithValue("temporary", temporary);
            await keep.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (sha256, size);
    }

    private async Task<(string Sha256, long Size)> StoreInFileAsync(Stream body, string rid, long maxBytes, CancellationToken cancellationToken)
    {
        var directory = PrivateFiles.Directory(_directory);
        var temporary = Path.Combine(directory, $"upload-{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var reading = new Reading(rid, maxBytes);
            var buffer = new byte[81920];
            await using (var file = new FileStream(temporary, options))
            {
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    reading.Add(buffer.AsSpan(0, read));
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
            }

            var (sha256, size) = reading.Finish();
            var kept = Path.Combine(directory, sha256);
            if (!File.Exists(kept))
            {
                File.Move(temporary, kept);
            }

            return (sha256, size);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    // What an upload is checked against as it streams: the size limit, the SHA-256, the first bytes (the runtime's executable header).
    private sealed class Reading(string rid, long maxBytes) : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _header = new byte[HeaderBytes];
        private int _headerLength;
        private long _size;

        public void Add(ReadOnlySpan<byte> bytes)
        {
            _size += bytes.Length;
            if (_size > maxBytes)
            {
                throw new PayloadTooLargeException($"An agent build is at most {maxBytes} bytes.");
            }

            if (_headerLength < _header.Length)
            {
                var take = Math.Min(bytes.Length, _header.Length - _headerLength);
                bytes[..take].CopyTo(_header.AsSpan(_headerLength));
                _headerLength += take;
            }

            _hash.AppendData(bytes);
        }

        public (string Sha256, long Size) Finish()
        {
            if (AgentBuilds.ExecutableProblem(_header.AsSpan(0, _headerLength), rid) is { } problem)
            {
                throw new RequestValidationException(new() { ["file"] = [problem] });
            }

            return (Convert.ToHexStringLower(_hash.GetHashAndReset()), _size);
        }

        public void Dispose() => _hash.Dispose();
    }
}
