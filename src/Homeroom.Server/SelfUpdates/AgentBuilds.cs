using System.Buffers.Binary;
using System.Security.Cryptography;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Apple;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Scripts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.SelfUpdates;

/// <summary>One stored build, and how many devices of its platform report its version.</summary>
public sealed record AgentBuildDto(
    Guid Id, string Rid, string Version, string Sha256, long Size, bool Current, string UploadedBy, DateTime UploadedAt, int Devices);

/// <summary>How many desktop agents of a platform report a version (every version in use, uploaded here or not).</summary>
public sealed record AgentVersionCountDto(DevicePlatform Platform, string Version, int Devices);

/// <summary>The builds, newest first, and the versions the district's desktop agents run.</summary>
public sealed record AgentUpdatesDto(List<AgentBuildDto> Builds, List<AgentVersionCountDto> Running);

/// <summary>
/// The district's agent builds (district administrators: an agent build runs as the device's administrator on every
/// device of its platform). Upload checks the runtime, the version and that the file is an executable of that runtime
/// (ELF, PE or Mach-O for the right processor), stores it by SHA-256 under <c>data/agent-updates</c> and signs its
/// manifest with the server's signing key (<see cref="ScriptSigningKey"/>: the key agents pin). Marking a build current
/// offers it to the runtime's devices that run an older version (<see cref="AgentUpdateOffers"/>), district-wide.
/// Everything is audited.
/// </summary>
public sealed class AgentBuilds(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    DatabaseOptions database,
    ScriptSigningKey signingKey,
    AgentUpdateOffers offers,
    AuditTrail audit,
    IOptions<AgentUpdateOptions> options,
    TimeProvider time,
    ILogger<AgentBuilds> logger)
{
    private readonly string _directory = Path.Combine(database.DataDirectory, "agent-updates");

    /// <summary>The largest upload accepted.</summary>
    public long MaxPackageBytes => options.Value.MaxPackageBytes;

    public async Task<AgentUpdatesDto> ListAsync(StaffScope scope, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var desktops = new[] { DevicePlatform.Windows, DevicePlatform.MacOS, DevicePlatform.Linux };
        var running = (await scope.Devices(db)
                .Where(d => d.RevokedAt == null && desktops.Contains(d.Platform) && d.AgentVersion != null)
                .GroupBy(d => new { d.Platform, d.AgentVersion })
                .Select(g => new { g.Key.Platform, g.Key.AgentVersion, Count = g.Count() })
                .ToListAsync(cancellationToken))
            .Select(r => new AgentVersionCountDto(r.Platform, AgentUpdates.VersionOfAgent(r.AgentVersion) ?? r.AgentVersion!, r.Count))
            .OrderBy(r => r.Platform).ThenByDescending(r => r.Version, StringComparer.Ordinal)
            .ToList();
        var builds = await db.Set<AgentBuild>().AsNoTracking().ToListAsync(cancellationToken);
        return new AgentUpdatesDto(
            builds.OrderByDescending(b => b.UploadedAt).Select(b => ToDto(b, running)).ToList(),
            running);
    }

    /// <summary>
    /// Stores a build read from <paramref name="body"/>: refused with a validation problem for an unknown runtime, a
    /// version that is not MAJOR.MINOR.PATCH, a file that is not an executable of the runtime, and with
    /// <see cref="PayloadTooLargeException"/> beyond <see cref="MaxPackageBytes"/>; 409 when the runtime has the version already.
    /// </summary>
    public async Task<AgentBuildDto> UploadAsync(StaffScope scope, string? rid, string? version, Stream body, long? length, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (rid is null || !AgentUpdates.Runtimes.Contains(rid))
        {
            errors["rid"] = [$"One of {string.Join(", ", AgentUpdates.Runtimes)}."];
        }

        if (!AgentUpdates.IsVersion(version))
        {
            errors["version"] = ["A version MAJOR.MINOR.PATCH (each 0 to 65535, no leading zeros), such as 1.4.0."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        if (length > MaxPackageBytes)
        {
            throw new PayloadTooLargeException($"An agent build is at most {MaxPackageBytes} bytes; this one is {length}.");
        }

        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (await db.Set<AgentBuild>().AnyAsync(b => b.Rid == rid && b.Version == version, cancellationToken))
            {
                throw new ConflictException($"{rid} already has a build of version {version}; delete it first to replace it.");
            }
        }

        var directory = PrivateFiles.Directory(_directory);
        var temporary = Path.Combine(directory, $"upload-{Guid.NewGuid():N}.tmp");
        string sha256;
        long size;
        try
        {
            (sha256, size) = await CopyAsync(body, temporary, rid!, cancellationToken);
            var file = Path.Combine(directory, sha256);
            if (!File.Exists(file))
            {
                File.Move(temporary, file);
            }
        }
        finally
        {
            File.Delete(temporary);
        }

        var build = new AgentBuild
        {
            Id = Guid.CreateVersion7(),
            Rid = rid!,
            Version = version!,
            Sha256 = sha256,
            Size = size,
            Signature = Convert.ToBase64String(signingKey.Sign(AgentUpdates.Payload(rid!, version!, sha256, size))),
            UploadedBy = scope.Username,
            UploadedAt = time.GetUtcNow().UtcDateTime,
        };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.Add(build);
            audit.Record(db, "agentUpdate.upload", "agentBuild", build.Id.ToString(), $"{rid} {version}, {size} bytes, SHA-256 {sha256}");
            await db.SaveChangesAsync(cancellationToken);
        }

        AgentUpdatesLog.Stored(logger, build.Rid, build.Version, size, sha256);
        return ToDto(build, []);
    }

    /// <summary>Makes a build its runtime's current one and offers it to the online devices that run an older version; null when there is no such build.</summary>
    public async Task<AgentBuildDto?> SetCurrentAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        AgentBuild? build;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            build = await db.Set<AgentBuild>().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
            if (build is null)
            {
                return null;
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var rid = build.Rid;
            await db.Set<AgentBuild>().Where(b => b.Rid == rid && b.Id != id && b.IsCurrent)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.IsCurrent, false), cancellationToken);
            build.IsCurrent = true;
            audit.Record(db, "agentUpdate.current", "agentBuild", build.Id.ToString(), $"{build.Rid} {build.Version} is current");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await offers.OfferToOnlineAsync(AgentUpdates.PlatformOf(build.Rid), cancellationToken);
        return (await ListAsync(scope, cancellationToken)).Builds.First(b => b.Id == id);
    }

    /// <summary>Deletes a build (its file too, unless another build is the same file); false when there is no such build.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var build = await db.Set<AgentBuild>().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
        if (build is null)
        {
            return false;
        }

        db.Remove(build);
        audit.Record(db, "agentUpdate.delete", "agentBuild", build.Id.ToString(), $"{build.Rid} {build.Version}{(build.IsCurrent ? " (was current)" : "")}");
        await db.SaveChangesAsync(cancellationToken);
        if (!await db.Set<AgentBuild>().AnyAsync(b => b.Sha256 == build.Sha256, cancellationToken))
        {
            File.Delete(Path.Combine(_directory, build.Sha256));
        }

        return true;
    }

    /// <summary>The stored file of the build with this SHA-256, for a device's download; null when there is none.</summary>
    public async Task<string?> FileOfAsync(string sha256, CancellationToken cancellationToken)
    {
        if (!AgentUpdates.IsSha256(sha256))
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var known = await db.Set<AgentBuild>().AnyAsync(b => b.Sha256 == sha256, cancellationToken);
        var file = Path.Combine(_directory, sha256);
        return known && File.Exists(file) ? file : null;
    }

    private static AgentBuildDto ToDto(AgentBuild b, List<AgentVersionCountDto> running) => new(
        b.Id, b.Rid, b.Version, b.Sha256, b.Size, b.IsCurrent, b.UploadedBy, b.UploadedAt,
        running.Where(r => r.Platform == AgentUpdates.PlatformOf(b.Rid) && r.Version == b.Version).Sum(r => r.Devices));

    // Streams the upload to a private file, hashing and counting as it goes; the first bytes must be the runtime's executable header.
    private async Task<(string Sha256, long Size)> CopyAsync(Stream body, string path, string rid, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var header = new byte[64];
        var headerLength = 0;
        long size = 0;
        var buffer = new byte[81920];
        await using (var file = new FileStream(path, options))
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                size += read;
                if (size > MaxPackageBytes)
                {
                    throw new PayloadTooLargeException($"An agent build is at most {MaxPackageBytes} bytes.");
                }

                if (headerLength < header.Length)
                {
                    var take = Math.Min(read, header.Length - headerLength);
                    buffer.AsSpan(0, take).CopyTo(header.AsSpan(headerLength));
                    headerLength += take;
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            await file.FlushAsync(cancellationToken);
        }

        if (ExecutableProblem(header.AsSpan(0, headerLength), rid) is { } problem)
        {
            throw new RequestValidationException(new() { ["file"] = [problem] });
        }

        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }

    /// <summary>Null when the header is an executable of the runtime: ELF x86-64, PE (MZ), or Mach-O 64-bit for its processor (or universal).</summary>
    internal static string? ExecutableProblem(ReadOnlySpan<byte> header, string rid)
    {
        switch (rid)
        {
            case "linux-x64":
                return header.Length >= 20 && header[..4].SequenceEqual("\u007fELF"u8) && header[4] == 2 && BinaryPrimitives.ReadUInt16LittleEndian(header[18..]) == 0x3E
                    ? null
                    : "Not an x86-64 ELF executable (a linux-x64 build is the single file scripts/package-agent.sh writes).";
            case "win-x64":
                return header.Length >= 2 && header[0] == (byte)'M' && header[1] == (byte)'Z' ? null : "Not a Windows executable (no MZ header).";
            default:
                if (header.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(header) == 0xCAFEBABE)
                {
                    return null; // universal binary
                }

                var cpu = rid == "osx-arm64" ? 0x0100000Cu : 0x01000007u;
                return header.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(header) == 0xFEEDFACF && BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == cpu
                    ? null
                    : $"Not a 64-bit Mach-O executable for {rid}.";
        }
    }
}
