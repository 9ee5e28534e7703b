using System.Diagnostics;
using System.Security.Cryptography;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>A connection as saved or changed. A null <see cref="ClientSecret"/> keeps the stored one.</summary>
public sealed record OneRosterConnectionRequest(
    string? BaseUrl, string? Version, string? ClientId, string? ClientSecret, string? TokenUrl, string? Scope, int? ScheduleHours, bool? ApplyAutomatically);

/// <summary>The connection as the API shows it: the secret only as "set" or "not set".</summary>
public sealed record OneRosterConnectionDto(
    bool Configured, string? BaseUrl, string? Version, string? ClientId, string ClientSecret, string? TokenUrl, string? Scope, int? ScheduleHours,
    bool ApplyAutomatically, DateTime? NextSyncAt, DateTime? LastSyncAt, Guid? LastImportId, DateTime? UpdatedAt, string? UpdatedBy);

/// <summary>What a connection test found: the service answered with its orgs, or why not.</summary>
public sealed record OneRosterConnectionTest(bool Ok, int? Orgs, string? Error);

/// <summary>
/// The district's OneRoster REST connection and its syncs. A sync reads the whole roster from the
/// service, writes it as the CSV bulk set of the same version and goes through the same preview and
/// apply as an upload (<see cref="OneRosterImports"/>), recorded in the same history with source
/// "rest". It applies only if the connection says so, and never when it would archive more than
/// <see cref="OneRosterOptions.AutomaticArchiveLimit"/> of the active roster people: it then stops at the
/// preview and says why. One sync at a time. Full syncs only: every sync lists the whole roster, and
/// who is no longer listed is archived (deltas by dateLastModified are not used).
/// </summary>
public sealed class OneRosterSync(
    IDbContextFactory<HomeroomDbContext> dbFactory, OneRosterImports imports, OneRosterRestClient client, IDataProtectionProvider protection, AuditTrail audit,
    IOptions<OneRosterOptions> options, TimeProvider time, ILogger<OneRosterSync> logger)
{
    public const int MaxUrlLength = 2000, MaxClientIdLength = 500, MaxSecretLength = 2000, MaxScopeLength = 1000, MaxScheduleHours = 24 * 30;
    public const string ScheduleTrigger = "schedule";

    private readonly IDataProtector _secrets = protection.CreateProtector("Homeroom.OneRoster.ConnectionSecret");
    private readonly SemaphoreSlim _running = new(1, 1);

    public async Task<OneRosterConnectionDto> GetAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return Dto(await db.Set<OneRosterConnection>().Where(c => c.Id == OneRosterConnection.SingletonId).AsNoTracking().FirstOrDefaultAsync(cancellationToken));
    }

    /// <summary>Saves the connection; bad fields are reported by <see cref="RequestValidationException"/>.</summary>
    public async Task<OneRosterConnectionDto> SaveAsync(StaffScope scope, OneRosterConnectionRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var connection = await db.Set<OneRosterConnection>().Where(c => c.Id == OneRosterConnection.SingletonId).FirstOrDefaultAsync(cancellationToken);
        var errors = Validate(request, secretStored: connection?.ProtectedSecret is not null);
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (connection is null)
        {
            connection = new OneRosterConnection { BaseUrl = "", Version = "", ClientId = "", UpdatedBy = "" };
            db.Set<OneRosterConnection>().Add(connection);
        }

        var v12 = request.Version == "1.2";
        connection.BaseUrl = request.BaseUrl!.Trim().TrimEnd('/');
        connection.Version = request.Version!;
        connection.ClientId = request.ClientId!.Trim();
        if (request.ClientSecret is { } secret)
        {
            connection.ProtectedSecret = _secrets.Protect(secret);
        }

        connection.TokenUrl = v12 ? request.TokenUrl!.Trim() : null;
        connection.Scope = v12 && !string.IsNullOrWhiteSpace(request.Scope) ? request.Scope.Trim() : null;
        connection.ScheduleHours = request.ScheduleHours is > 0 ? request.ScheduleHours : null;
        connection.ApplyAutomatically = request.ApplyAutomatically ?? false;
        connection.NextSyncAt = connection.ScheduleHours is { } hours ? (connection.LastSyncAt ?? now).AddHours(hours) : null;
        connection.UpdatedAt = now;
        connection.UpdatedBy = scope.Username;
        audit.Record(db, "oneroster.connection.save", "oneroster-connection", null,
            $"{connection.Version} at {connection.BaseUrl}, client {connection.ClientId}{(request.ClientSecret is null ? "" : ", secret replaced")}, "
            + $"schedule {(connection.ScheduleHours is { } h ? $"every {h} h" : "off")}, {(connection.ApplyAutomatically ? "apply automatically" : "preview only")}");
        await db.SaveChangesAsync(cancellationToken);
        OneRosterLog.ConnectionSaved(logger, scope.Username, connection.Version, connection.BaseUrl, connection.ScheduleHours);
        return Dto(connection);
    }

    /// <summary>Reads the first page of orgs with the saved connection. 409 when none is saved.</summary>
    public async Task<OneRosterConnectionTest> TestAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var connection = await db.Set<OneRosterConnection>().Where(c => c.Id == OneRosterConnection.SingletonId).FirstOrDefaultAsync(cancellationToken) ?? throw new ConflictException("No OneRoster connection is saved.");
        OneRosterConnectionTest result;
        try
        {
            result = new OneRosterConnectionTest(true, await client.TestAsync(Endpoint(connection), cancellationToken), null);
        }
        catch (OneRosterRestException failed)
        {
            result = new OneRosterConnectionTest(false, null, failed.Message);
        }

        audit.Record(db, "oneroster.connection.test", "oneroster-connection", null, result.Ok ? $"ok: {result.Orgs} org(s)" : result.Error);
        await db.SaveChangesAsync(cancellationToken);
        return result;
    }

    /// <summary>
    /// Syncs now: the run's entry in the import history (failed, invalid, previewed or applied). 409 when
    /// no connection is saved or a sync is already running.
    /// </summary>
    public async Task<ImportDto> SyncAsync(StaffScope scope, string trigger, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        if (!await _running.WaitAsync(0, cancellationToken))
        {
            throw new ConflictException("A OneRoster sync is running; try again when it has finished.");
        }

        try
        {
            return await SyncExclusiveAsync(scope, trigger, cancellationToken);
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>Runs the scheduled sync if one is due; answers its import, or null when none was due.</summary>
    public async Task<ImportDto?> RunDueAsync(CancellationToken cancellationToken)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var now = time.GetUtcNow().UtcDateTime;
            if (!await db.Set<OneRosterConnection>().AnyAsync(c => c.ScheduleHours != null && c.NextSyncAt != null && c.NextSyncAt <= now, cancellationToken))
            {
                return null;
            }
        }

        using var actor = AuditTrail.ActAs(new AuditActor(null, ScheduleTrigger, null));
        try
        {
            return await SyncAsync(StaffScope.System with { Username = ScheduleTrigger }, ScheduleTrigger, cancellationToken);
        }
        catch (ConflictException)
        {
            return null; // A sync someone started is running; the schedule looks again at its next check.
        }
    }

    private async Task<ImportDto> SyncExclusiveAsync(StaffScope scope, string trigger, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        OneRosterConnection connection;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            connection = await db.Set<OneRosterConnection>().Where(c => c.Id == OneRosterConnection.SingletonId).AsNoTracking().FirstOrDefaultAsync(cancellationToken) ?? throw new ConflictException("No OneRoster connection is saved.");
        }

        var fileName = $"OneRoster {connection.Version} REST {new Uri(connection.BaseUrl).Host}";
        ImportDto import;
        try
        {
            var data = await client.FetchAsync(Endpoint(connection), cancellationToken);
            var zip = OneRosterRestSet.Zip(OneRosterRestSet.ToCsv(data, connection.Version));
            import = await imports.PreviewAsync(scope, ImportSources.Rest, trigger, fileName, zip, cancellationToken);
            if (import.State == ImportStates.Previewed && connection.ApplyAutomatically)
            {
                import = await ApplyWithinBrakeAsync(scope, import, cancellationToken);
            }
        }
        catch (OneRosterRestException failed)
        {
            OneRosterLog.SyncFailed(logger, trigger, failed.Message);
            import = await imports.RecordFailedAsync(scope, trigger, fileName, failed.Message, cancellationToken);
        }
        catch (ImportRefusedException refused)
        {
            import = refused.Import;
        }

        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var now = time.GetUtcNow().UtcDateTime;
            var stored = await db.Set<OneRosterConnection>().Where(c => c.Id == OneRosterConnection.SingletonId).FirstOrDefaultAsync(cancellationToken);
            if (stored is not null)
            {
                stored.LastSyncAt = now;
                stored.LastImportId = import.Id;
                stored.NextSyncAt = stored.ScheduleHours is { } hours ? now.AddHours(hours) : null;
            }

            audit.Record(db, "oneroster.sync", "oneroster-import", import.Id.ToString(), $"started by {trigger}: {import.State}{(import.Note is { } note ? " (" + note + ")" : "")}");
            await db.SaveChangesAsync(cancellationToken);
        }

        OneRosterLog.Synced(logger, trigger, import.Id, import.State, watch.ElapsedMilliseconds);
        return import;
    }

    private async Task<ImportDto> ApplyWithinBrakeAsync(StaffScope scope, ImportDto import, CancellationToken cancellationToken)
    {
        var archiving = import.Preview.Students.Archived + import.Preview.Teachers.Archived;
        int active;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            active = await db.People.CountAsync(p => p.SourcedId != null && p.ArchivedAt == null, cancellationToken);
        }

        var limit = options.Value.AutomaticArchiveLimit;
        if (archiving > 0 && archiving > limit * active)
        {
            var reason = $"Not applied automatically: it would archive {archiving:N0} of {active:N0} active roster people ({100.0 * archiving / active:0.#} %), "
                + $"more than the {limit * 100:0.#} % allowed without review. Check the student information system; apply this preview by hand if it is right.";
            OneRosterLog.Held(logger, import.Id, reason);
            return await imports.HoldAsync(import.Id, reason, cancellationToken);
        }

        try
        {
            return await imports.ApplyAsync(scope, import.Id, cancellationToken) ?? import;
        }
        catch (ImportNotAppliedException notApplied)
        {
            return notApplied.Import ?? import; // The roster changed in between: the recomputed preview waits for review.
        }
    }

    private OneRosterEndpoint Endpoint(OneRosterConnection connection)
    {
        string secret;
        try
        {
            secret = connection.ProtectedSecret is { } stored ? _secrets.Unprotect(stored) : throw new OneRosterRestException("The connection has no secret; save one.");
        }
        catch (CryptographicException)
        {
            throw new OneRosterRestException("The stored secret can no longer be read (the server's data-protection keys changed); save the secret again.");
        }

        return new OneRosterEndpoint(new Uri(connection.BaseUrl), connection.Version, connection.ClientId, secret,
            connection.TokenUrl is { } token ? new Uri(token) : null, connection.Scope);
    }

    internal static Dictionary<string, string[]> Validate(OneRosterConnectionRequest request, bool secretStored)
    {
        var errors = new Dictionary<string, string[]>();
        CheckUrl("baseUrl", request.BaseUrl, required: true);
        if (request.Version is not ("1.1" or "1.2"))
        {
            errors["version"] = ["1.1 (OAuth 1.0a) or 1.2 (OAuth 2 client credentials)."];
        }

        if (string.IsNullOrWhiteSpace(request.ClientId) || request.ClientId.Length > MaxClientIdLength || request.ClientId.Any(char.IsControl))
        {
            errors["clientId"] = [$"Required, at most {MaxClientIdLength} characters, no control characters."];
        }

        if (request.ClientSecret is { } secret ? secret.Length is 0 or > MaxSecretLength || secret.Any(char.IsControl) : !secretStored)
        {
            errors["clientSecret"] = [$"Required (unless one is stored already), at most {MaxSecretLength} characters, no control characters."];
        }

        if (request.Version == "1.2")
        {
            CheckUrl("tokenUrl", request.TokenUrl, required: true);
            if (request.Scope is { Length: > MaxScopeLength } || (request.Scope?.Any(char.IsControl) ?? false))
            {
                errors["scope"] = [$"At most {MaxScopeLength} characters, no control characters."];
            }
        }

        if (request.ScheduleHours is < 0 or > MaxScheduleHours)
        {
            errors["scheduleHours"] = [$"0 or absent (no schedule), or every 1 to {MaxScheduleHours} hours."];
        }

        return errors;

        void CheckUrl(string field, string? value, bool required)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                if (required)
                {
                    errors[field] = ["Required."];
                }

                return;
            }

            if (value.Length > MaxUrlLength || !Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri))
            {
                errors[field] = [$"An absolute URL of at most {MaxUrlLength} characters."];
            }
            else if (!(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
            {
                errors[field] = ["Must be https (plain http only to this machine)."];
            }
            else if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                errors[field] = ["No user name, query or fragment in the URL."];
            }
        }
    }

    private static OneRosterConnectionDto Dto(OneRosterConnection? c) =>
        c is null
            ? new OneRosterConnectionDto(false, null, null, null, "not set", null, null, null, false, null, null, null, null, null)
            : new OneRosterConnectionDto(true, c.BaseUrl, c.Version, c.ClientId, c.ProtectedSecret is null ? "not set" : "set", c.TokenUrl, c.Scope, c.ScheduleHours,
                c.ApplyAutomatically, c.NextSyncAt, c.LastSyncAt, c.LastImportId, c.UpdatedAt, c.UpdatedBy);
}

/// <summary>Runs the scheduled OneRoster sync when it is due, checking every <see cref="OneRosterOptions.SyncCheckInterval"/>.</summary>
public sealed class OneRosterSyncSchedule(OneRosterSync sync, IOptions<OneRosterOptions> options, JobLeases leases, TimeProvider time, ILogger<OneRosterSyncSchedule> logger)
    : PeriodicTask(options.Value.SyncCheckInterval, leases, time, logger)
{
    protected override async Task RunOnceAsync(CancellationToken cancellationToken) => await sync.RunDueAsync(cancellationToken);
}
