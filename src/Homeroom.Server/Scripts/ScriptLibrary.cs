using System.Text;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Scripts;

/// <summary>A script as written or edited: every field is required; an edit writes a new version.</summary>
/// <param name="Name">1 to <see cref="ScriptLibrary.MaxName"/> characters.</param>
/// <param name="Description">What it does and why, at most <see cref="ScriptLibrary.MaxDescription"/> characters.</param>
/// <param name="Platform"><c>windows</c> (PowerShell), <c>macos</c> (sh) or <c>linux</c> (bash).</param>
/// <param name="Body">The script, at most <see cref="ScriptLimits.MaxBodyBytes"/> bytes of UTF-8.</param>
/// <param name="TimeLimitSeconds">How long it may run before it is killed, 1 to 3,600.</param>
public sealed record ScriptRequest(string? Name, string? Description, string? Platform, string? Body, int? TimeLimitSeconds);

/// <summary>Which version an approval is for: the newest, named so that an edit made meanwhile is not approved unseen.</summary>
public sealed record ScriptApprovalRequest(int? Version);

/// <summary>A script in the library list: its newest version in brief.</summary>
public sealed record ScriptSummaryDto(Guid Id, string Name, string Platform, int LatestVersion, bool Approved, string UpdatedBy, DateTime UpdatedAt);

/// <summary>One version of a script; <c>approvedBy</c> is null while it awaits approval.</summary>
public sealed record ScriptVersionDto(
    int Version, string Name, string Description, string Platform, string Body, string Sha256, int TimeLimitSeconds,
    string CreatedBy, DateTime CreatedAt, string? ApprovedBy, DateTime? ApprovedAt);

/// <summary>A script with every version, newest first; <c>runnable</c> when its newest version is approved.</summary>
public sealed record ScriptDto(Guid Id, int LatestVersion, bool Runnable, ScriptVersionDto Latest, List<ScriptVersionDto> Versions);

/// <summary>
/// The district's script library: district administrators write and edit scripts (each edit a new version that needs
/// approval again) and approve the newest version, which the server then signs (<see cref="ScriptSigning"/>); staff who
/// run scripts read the library. Every change is audited.
/// </summary>
public sealed class ScriptLibrary(IDbContextFactory<HomeroomDbContext> dbFactory, ScriptSigningKey signingKey, AuditTrail audit, TimeProvider time)
{
    public const int MaxName = 100;
    public const int MaxDescription = 2000;
    public const int MaxList = 1000;

    /// <summary>Largest request body accepted by the script endpoints (the body and the rest, JSON-escaped).</summary>
    public const long MaxRequestBytes = 256 * 1024;

    /// <summary>The script platform a device platform runs, or null for devices that run no scripts.</summary>
    public static string? PlatformOf(DevicePlatform platform) => platform switch
    {
        DevicePlatform.Windows => ScriptPlatforms.Windows,
        DevicePlatform.MacOS => ScriptPlatforms.MacOS,
        DevicePlatform.Linux => ScriptPlatforms.Linux,
        _ => null,
    };

    public static DevicePlatform DevicePlatformOf(string platform) => platform switch
    {
        ScriptPlatforms.Windows => DevicePlatform.Windows,
        ScriptPlatforms.MacOS => DevicePlatform.MacOS,
        _ => DevicePlatform.Linux,
    };

    public static string PlatformName(DevicePlatform platform) => PlatformOf(platform) ?? platform.ToString();

    public async Task<List<ScriptSummaryDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        EnsureCanRead(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await (
            from s in db.Set<Script>().AsNoTracking()
            join v in db.Set<ScriptVersion>().AsNoTracking() on new { s.Id, Version = s.LatestVersion } equals new { Id = v.ScriptId, v.Version }
            select new ScriptSummaryDto(s.Id, v.Name, v.Platform, v.Version, v.ApprovedAt != null, v.CreatedBy, v.CreatedAt))
            .ToListAsync(cancellationToken);
        return rows.OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ThenBy(r => r.Id).Take(MaxList).ToList();
    }

    /// <summary>A script with its versions; null when there is none.</summary>
    public async Task<ScriptDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureCanRead(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await ReadAsync(db, id, cancellationToken);
    }

    public async Task<ScriptDto> CreateAsync(StaffScope scope, ScriptRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageScripts);
        var (body, sha256) = Validate(request);
        var now = time.GetUtcNow().UtcDateTime;
        var script = new Script { Id = Guid.CreateVersion7(), LatestVersion = 1, CreatedBy = scope.Username, CreatedAt = now };
        var version = NewVersion(script.Id, 1, request, body, sha256, scope.Username, now);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.Add(script);
        db.Add(version);
        audit.Record(db, "script.create", "script", script.Id.ToString(), Describe(version));
        await db.SaveChangesAsync(cancellationToken);
        return (await ReadAsync(db, script.Id, cancellationToken))!;
    }

    /// <summary>Writes a new version (awaiting approval: the script cannot run until it is approved); null when there is no such script.</summary>
    public async Task<ScriptDto?> UpdateAsync(StaffScope scope, Guid id, ScriptRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageScripts);
        var (body, sha256) = Validate(request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var script = await db.Set<Script>().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (script is null)
        {
            return null;
        }

        var next = script.LatestVersion + 1;
        var version = NewVersion(id, next, request, body, sha256, scope.Username, time.GetUtcNow().UtcDateTime);
        script.LatestVersion = next;
        db.Add(version);
        audit.Record(db, "script.edit", "script", id.ToString(), Describe(version));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            throw new ConflictException("Someone else edited the script at the same time; read it again and repeat the edit.");
        }

        return await ReadAsync(db, id, cancellationToken);
    }

    /// <summary>
    /// Approves and signs the newest version; null when there is no such script. Approving an older version is refused
    /// (409); approving one already approved changes nothing.
    /// </summary>
    public async Task<ScriptDto?> ApproveAsync(StaffScope scope, Guid id, ScriptApprovalRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageScripts);
        if (request.Version is not > 0)
        {
            throw new RequestValidationException(new() { ["version"] = ["Name the version you approve (the newest)."] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var script = await db.Set<Script>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (script is null)
        {
            return null;
        }

        if (request.Version != script.LatestVersion)
        {
            throw new ConflictException($"Version {request.Version} is not the newest; version {script.LatestVersion} is. Only the newest version can be approved.");
        }

        var version = await db.Set<ScriptVersion>().FirstAsync(v => v.ScriptId == id && v.Version == script.LatestVersion, cancellationToken);
        if (version.ApprovedAt is null)
        {
            version.ApprovedBy = scope.Username;
            version.ApprovedAt = time.GetUtcNow().UtcDateTime;
            version.Signature = Convert.ToBase64String(signingKey.Sign(ScriptSigning.Payload(id, version.Version, version.Platform, version.Sha256, version.TimeLimitSeconds)));
            audit.Record(db, "script.approve", "script", id.ToString(), $"{Describe(version)}, SHA-256 {version.Sha256}");
            await db.SaveChangesAsync(cancellationToken);
        }

        return await ReadAsync(db, id, cancellationToken);
    }

    /// <summary>The newest version of a script when it is approved; the reason it cannot run otherwise.</summary>
    internal static async Task<ScriptVersion> RunnableAsync(HomeroomDbContext db, Guid? scriptId, CancellationToken cancellationToken)
    {
        var script = scriptId is { } id ? await db.Set<Script>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken) : null;
        if (script is null)
        {
            throw new RequestValidationException(new() { ["scriptId"] = ["No such script in the library."] });
        }

        var latest = await db.Set<ScriptVersion>().AsNoTracking().FirstAsync(v => v.ScriptId == script.Id && v.Version == script.LatestVersion, cancellationToken);
        if (latest.ApprovedAt is null || latest.Signature is null)
        {
            throw new ConflictException($"Version {latest.Version} of '{latest.Name}' awaits a district administrator's approval; only approved scripts run.");
        }

        return latest;
    }

    private static void EnsureCanRead(StaffScope scope)
    {
        if (!scope.Can(Permission.ManageScripts))
        {
            scope.EnsureCan(Permission.RunScripts);
        }
    }

    private static (byte[] Body, string Sha256) Validate(ScriptRequest request)
    {
        var validation = new Validation()
            .Required("name", request.Name, MaxName)
            .Optional("description", request.Description, MaxDescription)
            .Range("timeLimitSeconds", request.TimeLimitSeconds, ScriptLimits.MinTimeLimitSeconds, ScriptLimits.MaxTimeLimitSeconds);
        var errors = validation.Errors;
        if (request.Name is { } name && name.Any(char.IsControl))
        {
            errors["name"] = ["A name has no control characters."];
        }

        if (request.Platform is null || !ScriptPlatforms.All.Contains(request.Platform))
        {
            errors["platform"] = ["One of windows (PowerShell), macos (sh) or linux (bash)."];
        }

        if (request.TimeLimitSeconds is null)
        {
            errors["timeLimitSeconds"] = [$"Required: {ScriptLimits.MinTimeLimitSeconds} to {ScriptLimits.MaxTimeLimitSeconds} seconds."];
        }

        byte[] body = [];
        if (string.IsNullOrWhiteSpace(request.Body))
        {
            errors["body"] = ["The script is empty."];
        }
        else if ((body = Encoding.UTF8.GetBytes(request.Body)).Length > ScriptLimits.MaxBodyBytes)
        {
            errors["body"] = [$"At most {ScriptLimits.MaxBodyBytes:N0} bytes (UTF-8); this one is {body.Length:N0}."];
        }
        else if (request.Body.Contains('\0', StringComparison.Ordinal))
        {
            errors["body"] = ["A script has no NUL characters."];
        }

        if (errors.Count == 0 && FrameBytes(request, body) > ProtocolLimits.MaxTextFrameBytes)
        {
            // Base64's '+' and '/' are escaped in JSON: a body within the byte limit can still make too large a command frame.
            errors["body"] = [$"The script's command would not fit one {ProtocolLimits.MaxTextFrameBytes:N0}-byte frame; shorten the script."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        return (body, ScriptSigning.Hash(body));
    }

    // The size of the runScript command frame this version makes, measured with the wire's own serializer.
    private static int FrameBytes(ScriptRequest request, byte[] body)
    {
        var arguments = ScriptSigning.Arguments(Guid.Empty, int.MaxValue, request.Name!.Trim(), request.Platform!, request.TimeLimitSeconds!.Value, new string('0', 64), new byte[64], body);
        var now = DateTimeOffset.UnixEpoch;
        return AgentFrameCodec.Serialize(new CommandFrame(Guid.Empty, CommandKinds.RunScript, arguments, now, now)).Length;
    }

    private static ScriptVersion NewVersion(Guid scriptId, int number, ScriptRequest request, byte[] body, string sha256, string by, DateTime now) => new()
    {
        ScriptId = scriptId,
        Version = number,
        Name = request.Name!.Trim(),
        Description = request.Description?.Trim() ?? "",
        Platform = request.Platform!,
        Body = Encoding.UTF8.GetString(body),
        Sha256 = sha256,
        TimeLimitSeconds = request.TimeLimitSeconds!.Value,
        CreatedBy = by,
        CreatedAt = now,
    };

    private static string Describe(ScriptVersion v) => $"'{v.Name}' version {v.Version} ({v.Platform}, {Encoding.UTF8.GetByteCount(v.Body)} bytes, time limit {v.TimeLimitSeconds} s)";

    private static async Task<ScriptDto?> ReadAsync(HomeroomDbContext db, Guid id, CancellationToken cancellationToken)
    {
        var script = await db.Set<Script>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (script is null)
        {
            return null;
        }

        var versions = (await db.Set<ScriptVersion>().AsNoTracking().Where(v => v.ScriptId == id).ToListAsync(cancellationToken))
            .OrderByDescending(v => v.Version)
            .Select(v => new ScriptVersionDto(v.Version, v.Name, v.Description, v.Platform, v.Body, v.Sha256, v.TimeLimitSeconds, v.CreatedBy, v.CreatedAt, v.ApprovedBy, v.ApprovedAt))
            .ToList();
        var latest = versions.First(v => v.Version == script.LatestVersion);
        return new ScriptDto(id, script.LatestVersion, latest.ApprovedAt is not null, latest, versions);
    }
}
