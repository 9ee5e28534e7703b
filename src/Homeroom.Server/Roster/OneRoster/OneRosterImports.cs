using System.Diagnostics;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>How many records of a kind an import creates, changes, archives and leaves as they are.</summary>
public sealed record ImportCounts(int Created, int Changed, int Archived, int Unchanged);

/// <summary>
/// What an import would do (or did): counts per kind, a few sample changes, and the set's problems
/// (every one up to <see cref="OneRosterImports.MaxListedErrors"/>; <see cref="ErrorCount"/> counts them all).
/// </summary>
public sealed record ImportPreview(
    string? Version,
    IReadOnlyDictionary<string, string> Files,
    ImportCounts Schools,
    ImportCounts Students,
    ImportCounts Teachers,
    ImportCounts Classes,
    int MembershipsAdded,
    int MembershipsRemoved,
    int SkippedUsers,
    int SkippedEnrollments,
    IReadOnlyList<string> Samples,
    int ErrorCount,
    IReadOnlyList<OneRosterError> Errors)
{
    public int Changes => Schools.Created + Schools.Changed + Students.Created + Students.Changed + Students.Archived + Teachers.Created + Teachers.Changed
        + Teachers.Archived + Classes.Created + Classes.Changed + Classes.Archived + MembershipsAdded + MembershipsRemoved;
}

/// <summary>
/// An import in the history, with its preview: <c>Source</c> is where the set came from (<c>upload</c>, or
/// <c>rest</c> for a sync), <c>Note</c> why a sync failed or why its automatic apply stopped at the preview.
/// </summary>
public sealed record ImportDto(
    Guid Id, DateTime CreatedAt, string CreatedBy, string? FileName, string State, DateTime ExpiresAt, DateTime? AppliedAt, string? AppliedBy, ImportPreview Preview,
    string Source, string? Note);

/// <summary>Why an import cannot be applied; <see cref="Import"/> is its (possibly recomputed) state.</summary>
public sealed class ImportNotAppliedException(string message, ImportDto? import = null) : Exception(message)
{
    public ImportDto? Import { get; } = import;
}

/// <summary>
/// OneRoster CSV imports: an upload is read and compared with the stored roster into a preview (kept
/// with its package until applied or expired); applying it recomputes the changes in one transaction
/// and applies them only if they are exactly those previewed. District-wide: it creates schools.
/// </summary>
public sealed class OneRosterImports(
    IDbContextFactory<HomeroomDbContext> dbFactory, BulkSql bulk, AuditTrail audit, PolicyDistributor policies, IOptions<OneRosterOptions> options, TimeProvider time,
    ILogger<OneRosterImports> logger)
{
    public const int MaxListedErrors = 1000;
    public const int SamplesPerKind = 5;
    public const int MaxFileNameLength = 200;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly SemaphoreSlim _applying = new(1, 1);

    public OneRosterOptions Options => options.Value;

    /// <summary>Reads an uploaded zip and stores its preview. A package refused whole is recorded as refused and reported by <see cref="PackageRefusedException"/>.</summary>
    public Task<ImportDto> PreviewAsync(StaffScope scope, string? fileName, byte[] zip, CancellationToken cancellationToken = default) =>
        PreviewAsync(scope, ImportSources.Upload, scope.Username, fileName, zip, cancellationToken);

    /// <summary>
    /// Reads a set (an uploaded zip, or the CSV a REST sync wrote of what it fetched) and stores its preview,
    /// attributed to <paramref name="createdBy"/> (a staff member, or the schedule).
    /// </summary>
    internal async Task<ImportDto> PreviewAsync(StaffScope scope, string source, string createdBy, string? fileName, byte[] zip, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        fileName = fileName is { Length: > MaxFileNameLength } ? fileName[..MaxFileNameLength] : fileName;
        await PurgeAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var import = new OneRosterImport
        {
            Id = Guid.CreateVersion7(), CreatedAt = now, CreatedBy = createdBy, FileName = fileName, State = ImportStates.Refused,
            ExpiresAt = now + options.Value.PreviewLifetime, PreviewJson = "{}", Source = source,
        };
        ImportPreview preview;
        try
        {
            var set = Read(zip, options.Value);
            var plan = ImportPlanner.Plan(set, await LoadAsync(db, cancellationToken));
            preview = Preview(set, plan);
            import.Version = preview.Version;
            import.State = plan.Errors.Count > 0 ? ImportStates.Invalid : ImportStates.Previewed;
            import.Fingerprint = plan.Fingerprint();
            import.Package = plan.Errors.Count > 0 ? null : zip;
            audit.Record(db, "oneroster.preview", "oneroster-import", import.Id.ToString(),
                $"{fileName}: {preview.Changes} change(s), {preview.ErrorCount} error(s)");
            OneRosterLog.Previewed(logger, import.Id, createdBy, preview.Changes, preview.ErrorCount);
        }
        catch (PackageRefusedException refused)
        {
            preview = Empty(new OneRosterError(fileName ?? "upload", 0, null, refused.Message));
            audit.Record(db, "oneroster.refused", "oneroster-import", import.Id.ToString(), $"{fileName}: {refused.Message}");
            OneRosterLog.Refused(logger, createdBy, refused.Message);
        }

        import.ErrorCount = preview.ErrorCount;
        import.PreviewJson = JsonSerializer.Serialize(preview, Json);
        db.Set<OneRosterImport>().Add(import);
        await db.SaveChangesAsync(cancellationToken);
        return import.State == ImportStates.Refused
            ? throw new ImportRefusedException(preview.Errors[0].Message, Dto(import))
            : Dto(import);
    }

    /// <summary>
    /// Applies a previewed import in one transaction, or refuses: not found (null), not applicable
    /// (invalid, refused, applied, expired), or the roster changed since the preview (the preview is
    /// then computed again and stored, to be reviewed and applied anew).
    /// </summary>
    public async Task<ImportDto?> ApplyAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await _applying.WaitAsync(cancellationToken);
        try
        {
            return await ApplyExclusiveAsync(scope, id, cancellationToken);
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task<ImportDto?> ApplyExclusiveAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // A write first, so that on SQLite this transaction holds the write lock before it reads what it compares.
        if (await db.Set<OneRosterImport>().Where(i => i.Id == id).ExecuteUpdateAsync(s => s.SetProperty(i => i.State, i => i.State), cancellationToken) == 0)
        {
            return null;
        }

        var import = await db.Set<OneRosterImport>().FirstAsync(i => i.Id == id, cancellationToken);
        if (import.State == ImportStates.Previewed && import.ExpiresAt <= now)
        {
            Expire(import);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            throw new ImportNotAppliedException("The preview expired; upload the set again.", Dto(import));
        }

        if (import.State != ImportStates.Previewed || import.Package is null)
        {
            throw new ImportNotAppliedException(import.State switch
            {
                ImportStates.Applied => "This import was applied already.",
                ImportStates.Invalid => "This import has errors; fix the files and upload them again.",
                ImportStates.Expired => "The preview expired; upload the set again.",
                ImportStates.Failed => "This sync could not fetch the roster; nothing can be applied.",
                _ => "This upload was refused; nothing can be applied.",
            }, Dto(import));
        }

        var set = Read(import.Package, options.Value);
        var plan = ImportPlanner.Plan(set, await LoadAsync(db, cancellationToken));
        var fingerprint = plan.Fingerprint();
        if (fingerprint != import.Fingerprint || plan.Errors.Count > 0)
        {
            var preview = Preview(set, plan);
            import.Fingerprint = fingerprint;
            import.PreviewJson = JsonSerializer.Serialize(preview, Json);
            import.ErrorCount = preview.ErrorCount;
            if (plan.Errors.Count > 0)
            {
                import.State = ImportStates.Invalid;
                import.Package = null;
            }

            audit.Record(db, "oneroster.stale", "oneroster-import", id.ToString(), "The roster changed since the preview; the preview was computed again.");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            OneRosterLog.Stale(logger, id);
            throw new ImportNotAppliedException("The roster changed since this preview. The preview was computed again: review it and apply again.", Dto(import));
        }

        await WriteAsync(db, transaction.GetDbTransaction(), plan, now, cancellationToken);
        var applied = Preview(set, plan);
        import.State = ImportStates.Applied;
        import.AppliedAt = now;
        import.AppliedBy = scope.Username;
        import.Package = null;
        audit.Record(db, "oneroster.apply", "oneroster-import", id.ToString(),
            $"{import.FileName}: schools +{applied.Schools.Created} ~{applied.Schools.Changed}; students +{applied.Students.Created} ~{applied.Students.Changed} -{applied.Students.Archived}; "
            + $"teachers +{applied.Teachers.Created} ~{applied.Teachers.Changed} -{applied.Teachers.Archived}; classes +{applied.Classes.Created} ~{applied.Classes.Changed} -{applied.Classes.Archived}; "
            + $"memberships +{applied.MembershipsAdded} -{applied.MembershipsRemoved}");
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        OneRosterLog.Applied(logger, id, scope.Username, applied.Changes, watch.ElapsedMilliseconds);
        policies.RequestAll();
        return Dto(import);
    }

    /// <summary>Records a REST sync that could not fetch the roster: a failed run in the history, with why, and nothing else changed.</summary>
    internal async Task<ImportDto> RecordFailedAsync(StaffScope scope, string createdBy, string? fileName, string reason, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageSchools);
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var preview = Empty(new OneRosterError(fileName ?? "rest", 0, null, reason));
        var import = new OneRosterImport
        {
            Id = Guid.CreateVersion7(), CreatedAt = now, CreatedBy = createdBy, FileName = fileName, State = ImportStates.Failed, ExpiresAt = now,
            ErrorCount = 1, PreviewJson = JsonSerializer.Serialize(preview, Json), Source = ImportSources.Rest, Note = reason,
        };
        db.Set<OneRosterImport>().Add(import);
        audit.Record(db, "oneroster.sync.failed", "oneroster-import", import.Id.ToString(), $"{fileName}: {reason}");
        await db.SaveChangesAsync(cancellationToken);
        return Dto(import);
    }

    /// <summary>Keeps a sync's preview for a person to review, with why it was not applied automatically.</summary>
    internal async Task<ImportDto> HoldAsync(Guid id, string note, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var import = await db.Set<OneRosterImport>().FirstAsync(i => i.Id == id, cancellationToken);
        import.Note = note;
        audit.Record(db, "oneroster.sync.held", "oneroster-import", id.ToString(), note);
        await db.SaveChangesAsync(cancellationToken);
        return Dto(import);
    }

    public async Task<ImportDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var import = await db.Set<OneRosterImport>().AsNoTracking().Where(i => i.Id == id).Select(Without).FirstOrDefaultAsync(cancellationToken);
        return import is null ? null : Dto(import);
    }

    /// <summary>The newest imports first (at most <paramref name="take"/>), their previews without the error lists.</summary>
    public async Task<List<ImportDto>> ListAsync(StaffScope scope, int take, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var imports = await db.Set<OneRosterImport>().AsNoTracking().OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id).Take(take).Select(Without).ToListAsync(cancellationToken);
        return [.. imports.Select(i =>
        {
            var dto = Dto(i);
            return dto with { Preview = dto.Preview with { Errors = [], Samples = [] } };
        })];
    }

    /// <summary>Expires previews past their lifetime (their packages are deleted) and deletes history past its retention.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var before = now - options.Value.HistoryRetention;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var expired = await db.Set<OneRosterImport>().Where(i => (i.State == ImportStates.Previewed || i.Package != null) && i.ExpiresAt <= now)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.Package, (byte[]?)null).SetProperty(i => i.State, i => i.State == ImportStates.Previewed ? ImportStates.Expired : i.State), cancellationToken);
        return expired + await db.Set<OneRosterImport>().Where(i => i.CreatedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    internal static OneRosterSet Read(byte[] zip, OneRosterOptions options) => OneRosterReader.Read(OneRosterPackage.FromZip(zip, options), options);

    /// <summary>The stored roster's records that carry a sourcedId, read in <paramref name="db"/>'s transaction if it has one.</summary>
    internal static async Task<StoredRoster> LoadAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var stored = new StoredRoster();
        foreach (var s in await db.Schools.AsNoTracking().Where(s => s.SourcedId != null).Select(s => new { s.Id, s.SourcedId, s.Name }).ToListAsync(cancellationToken))
        {
            stored.Schools[s.SourcedId!] = new StoredSchool(s.Id, s.SourcedId!, s.Name);
        }

        foreach (var p in await db.People.AsNoTracking().Where(p => p.SourcedId != null).ToListAsync(cancellationToken))
        {
            stored.People[p.SourcedId!] = new StoredPerson(p.Id, p.SourcedId!, p.Kind, p.SchoolId, p.GivenName, p.FamilyName, p.Email, p.GradeLevel, p.ArchivedAt != null);
        }

        foreach (var g in await db.Groups.AsNoTracking().Where(g => g.SourcedId != null && g.Kind == GroupKind.Class).ToListAsync(cancellationToken))
        {
            stored.Classes[g.SourcedId!] = new StoredClass(g.Id, g.SourcedId!, g.SchoolId, g.Name, g.GradeLevel, g.ArchivedAt != null);
        }

        var members = from m in db.GroupMembers
                      join g in db.Groups on m.GroupId equals g.Id
                      join p in db.People on m.PersonId equals p.Id
                      where g.SourcedId != null && g.Kind == GroupKind.Class && p.SourcedId != null
                      select new { m.GroupId, m.PersonId };
        foreach (var m in await members.AsNoTracking().ToListAsync(cancellationToken))
        {
            stored.Members.Add((m.GroupId, m.PersonId));
        }

        return stored;
    }

    private async Task WriteAsync(HomeroomDbContext db, System.Data.Common.DbTransaction transaction, ImportPlan plan, DateTime now, CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        var pg = bulk.Provider == DatabaseProvider.Postgres;
        string Cast(string column, string type) => pg ? $"{column}::{type}" : column;
        var timeZone = await District.TimeZoneIdAsync(db.Districts, cancellationToken) ?? "UTC";

        var newSchools = plan.Schools.Where(s => s.Change == ChangeKind.Create).ToList();
        await bulk.ExecuteRowsAsync(connection, transaction, n => $"""
            WITH v (c0, c1, c2, c3, c4) AS ({bulk.RowsSql(n, 5)})
            INSERT INTO schools (id, name, time_zone, sourced_id, created_at) SELECT c0, c1, c2, c3, c4 FROM v
            """, 5, newSchools, (s, v) =>
        {
            v[0] = bulk.Id(s.Id);
            v[1] = s.Name;
            v[2] = timeZone;
            v[3] = s.SourcedId;
            v[4] = now;
        }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, "UPDATE schools SET name = @n WHERE id = @i", ["@n", "@i"],
            plan.Schools.Where(s => s.Change == ChangeKind.Update).ToList(), (s, v) =>
            {
                v[0] = s.Name;
                v[1] = bulk.Id(s.Id);
            }, cancellationToken);

        var newClasses = plan.Classes.Where(c => c.Change == ChangeKind.Create).ToList();
        await bulk.ExecuteRowsAsync(connection, transaction, n => $"""
            WITH v (c0, c1, c2, c3, c4, c5, c6) AS ({bulk.RowsSql(n, 7)})
            INSERT INTO groups (id, school_id, kind, name, grade_level, sourced_id, created_at)
            SELECT c0, {Cast("c1", "uuid")}, c2, c3, {Cast("c4", "integer")}, c5, c6 FROM v
            """, 7, newClasses, (c, v) =>
        {
            v[0] = bulk.Id(c.Id);
            v[1] = bulk.Id(c.SchoolId);
            v[2] = "class";
            v[3] = c.Name;
            v[4] = c.GradeLevel;
            v[5] = c.SourcedId;
            v[6] = now;
        }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, "UPDATE groups SET school_id = @s, name = @n, grade_level = @l, archived_at = NULL WHERE id = @i", ["@s", "@n", "@l", "@i"],
            plan.Classes.Where(c => c.Change == ChangeKind.Update).ToList(), (c, v) =>
            {
                v[0] = bulk.Id(c.SchoolId);
                v[1] = c.Name;
                v[2] = c.GradeLevel;
                v[3] = bulk.Id(c.Id);
            }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, "UPDATE groups SET archived_at = @a WHERE id = @i", ["@a", "@i"],
            plan.Classes.Where(c => c.Change == ChangeKind.Archive).ToList(), (c, v) =>
            {
                v[0] = now;
                v[1] = bulk.Id(c.Id);
            }, cancellationToken);

        var newPeople = plan.People.Where(p => p.Change == ChangeKind.Create).ToList();
        await bulk.ExecuteRowsAsync(connection, transaction, n => $"""
            WITH v (c0, c1, c2, c3, c4, c5, c6, c7, c8) AS ({bulk.RowsSql(n, 9)})
            INSERT INTO people (id, school_id, kind, given_name, family_name, email, grade_level, sourced_id, created_at)
            SELECT c0, {Cast("c1", "uuid")}, c2, c3, c4, {Cast("c5", "text")}, {Cast("c6", "integer")}, c7, c8 FROM v
            """, 9, newPeople, (p, v) =>
        {
            v[0] = bulk.Id(p.Id);
            v[1] = bulk.Id(p.SchoolId);
            v[2] = Kind(p.Kind);
            v[3] = p.GivenName;
            v[4] = p.FamilyName;
            v[5] = p.Email;
            v[6] = p.GradeLevel;
            v[7] = p.SourcedId;
            v[8] = now;
        }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction,
            "UPDATE people SET school_id = @s, kind = @k, given_name = @g, family_name = @f, email = @e, grade_level = @l, archived_at = NULL WHERE id = @i",
            ["@s", "@k", "@g", "@f", "@e", "@l", "@i"], plan.People.Where(p => p.Change == ChangeKind.Update).ToList(), (p, v) =>
            {
                v[0] = bulk.Id(p.SchoolId);
                v[1] = Kind(p.Kind);
                v[2] = p.GivenName;
                v[3] = p.FamilyName;
                v[4] = p.Email;
                v[5] = p.GradeLevel;
                v[6] = bulk.Id(p.Id);
            }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, "UPDATE people SET archived_at = @a WHERE id = @i", ["@a", "@i"],
            plan.People.Where(p => p.Change == ChangeKind.Archive).ToList(), (p, v) =>
            {
                v[0] = now;
                v[1] = bulk.Id(p.Id);
            }, cancellationToken);

        await bulk.ExecuteRowsAsync(connection, transaction, n => $"""
            WITH v (c0, c1) AS ({bulk.RowsSql(n, 2)})
            INSERT INTO group_members (group_id, person_id) SELECT c0, c1 FROM v WHERE true ON CONFLICT DO NOTHING
            """, 2, plan.Members.Where(m => m.Add).ToList(), (m, v) =>
        {
            v[0] = bulk.Id(m.GroupId);
            v[1] = bulk.Id(m.PersonId);
        }, cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, "DELETE FROM group_members WHERE group_id = @g AND person_id = @p", ["@g", "@p"],
            plan.Members.Where(m => !m.Add).ToList(), (m, v) =>
            {
                v[0] = bulk.Id(m.GroupId);
                v[1] = bulk.Id(m.PersonId);
            }, cancellationToken);

        static string Kind(PersonKind kind) => kind == PersonKind.Student ? "student" : "staff";
    }

    private static ImportPreview Preview(OneRosterSet set, ImportPlan plan)
    {
        ImportCounts People(PersonKind kind, int unchanged)
        {
            var ops = plan.People.Where(p => p.Kind == kind).ToList();
            return new ImportCounts(ops.Count(o => o.Change == ChangeKind.Create), ops.Count(o => o.Change == ChangeKind.Update), ops.Count(o => o.Change == ChangeKind.Archive), unchanged);
        }

        var samples = new List<string>();
        foreach (var group in plan.Schools.GroupBy(s => s.Change))
        {
            samples.AddRange(group.Take(SamplesPerKind).Select(s => $"{Verb(s.Change)} school '{s.Name}' ({s.SourcedId})"));
        }

        foreach (var group in plan.Classes.GroupBy(c => c.Change))
        {
            samples.AddRange(group.Take(SamplesPerKind).Select(c => $"{Verb(c.Change)} class '{c.Name}' ({c.SourcedId})"));
        }

        foreach (var group in plan.People.GroupBy(p => (p.Kind, p.Change)))
        {
            samples.AddRange(group.Take(SamplesPerKind).Select(p => $"{Verb(p.Change)} {(p.Kind == PersonKind.Student ? "student" : "teacher")} '{p.GivenName} {p.FamilyName}' ({p.SourcedId})"));
        }

        foreach (var group in plan.Members.GroupBy(m => m.Add))
        {
            samples.AddRange(group.Take(SamplesPerKind).Select(m => $"{(m.Add ? "add" : "remove")} {m.UserSourcedId} {(m.Add ? "to" : "from")} class {m.ClassSourcedId}"));
        }

        return new ImportPreview(
            set.Version == OneRosterVersion.V1_1 ? "1.1" : "1.2",
            set.Modes.Where(m => m.Value != OneRosterFileMode.Absent).ToDictionary(m => m.Key, m => m.Value == OneRosterFileMode.Bulk ? "bulk" : "delta"),
            new ImportCounts(plan.Schools.Count(s => s.Change == ChangeKind.Create), plan.Schools.Count(s => s.Change == ChangeKind.Update), 0, plan.UnchangedSchools),
            People(PersonKind.Student, plan.UnchangedStudents),
            People(PersonKind.Staff, plan.UnchangedTeachers),
            new ImportCounts(plan.Classes.Count(c => c.Change == ChangeKind.Create), plan.Classes.Count(c => c.Change == ChangeKind.Update), plan.Classes.Count(c => c.Change == ChangeKind.Archive), plan.UnchangedClasses),
            plan.Members.Count(m => m.Add),
            plan.Members.Count(m => !m.Add),
            plan.SkippedUsers,
            plan.SkippedEnrollments,
            samples,
            plan.Errors.Count,
            [.. plan.Errors.OrderBy(e => e.File, StringComparer.Ordinal).ThenBy(e => e.Line).Take(MaxListedErrors)]);

        static string Verb(ChangeKind change) => change switch
        {
            ChangeKind.Create => "create",
            ChangeKind.Update => "change",
            _ => "archive",
        };
    }

    private static ImportPreview Empty(OneRosterError error) =>
        new(null, new Dictionary<string, string>(), new(0, 0, 0, 0), new(0, 0, 0, 0), new(0, 0, 0, 0), new(0, 0, 0, 0), 0, 0, 0, 0, [], 1, [error]);

    private static void Expire(OneRosterImport import)
    {
        import.State = ImportStates.Expired;
        import.Package = null;
    }

    // Everything but the package, which lists and reads never need.
    private static readonly System.Linq.Expressions.Expression<Func<OneRosterImport, OneRosterImport>> Without = i => new OneRosterImport
    {
        Id = i.Id, CreatedAt = i.CreatedAt, CreatedBy = i.CreatedBy, FileName = i.FileName, Version = i.Version, State = i.State, ExpiresAt = i.ExpiresAt,
        AppliedAt = i.AppliedAt, AppliedBy = i.AppliedBy, Fingerprint = i.Fingerprint, ErrorCount = i.ErrorCount, PreviewJson = i.PreviewJson,
        Source = i.Source, Note = i.Note,
    };

    private static ImportDto Dto(OneRosterImport i) =>
        new(i.Id, i.CreatedAt, i.CreatedBy, i.FileName, i.State, i.ExpiresAt, i.AppliedAt, i.AppliedBy, JsonSerializer.Deserialize<ImportPreview>(i.PreviewJson, Json)!, i.Source, i.Note);
}

/// <summary>An upload refused whole; <see cref="Import"/> is its entry in the history.</summary>
public sealed class ImportRefusedException(string message, ImportDto import) : Exception(message)
{
    public ImportDto Import { get; } = import;
}
