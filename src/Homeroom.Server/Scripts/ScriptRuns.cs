using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Scripts;

/// <summary>Which script to run: its newest version, which must be approved.</summary>
public sealed record RunScriptRequest(Guid? ScriptId);

/// <summary>A run asked for: one <c>runScript</c> command to the devices (those of another platform are recorded as failed).</summary>
public sealed record ScriptRunRequestedDto(Guid CommandId, Guid ScriptId, int Version, string ScriptName, int DeviceCount, DateTime RequestedAt);

/// <summary>What a device answered: its exit code (null when killed at the time limit) and output (the end kept when cut).</summary>
public sealed record ScriptOutputDto(int? ExitCode, bool TimedOut, int Milliseconds, string Stdout, string Stderr, bool OutputTruncated, DateTime ReceivedAt);

/// <summary>One run on one device: the command's delivery status (and error, such as a refused signature) and the result once it came.</summary>
public sealed record DeviceScriptRunDto(
    Guid CommandId, Guid ScriptId, int Version, string ScriptName, string RequestedBy, DateTime RequestedAt, DeliveryStatus Status, string? Error, ScriptOutputDto? Output);

/// <summary>One device of a group's run.</summary>
public sealed record GroupDeviceScriptDto(Guid DeviceId, string DeviceName, DeliveryStatus Status, string? Error, ScriptOutputDto? Output);

/// <summary>A run on a group with each device's outcome.</summary>
public sealed record GroupScriptRunDto(
    Guid CommandId, Guid ScriptId, int Version, string ScriptName, string RequestedBy, DateTime RequestedAt, List<GroupDeviceScriptDto> Devices);

/// <summary>
/// Runs approved scripts on a device or a group of the scope (a <c>runScript</c> command through <see cref="IssueCommand"/>:
/// stored, journaled, delivered when each device is online, audited as <c>command.issue</c> and <c>script.run</c>), and reads
/// each device's results. Staff who may run scripts (district and school administrators, IT technicians).
/// </summary>
public sealed class ScriptRuns(
    IDbContextFactory<HomeroomDbContext> dbFactory, IssueCommand issue, AuditTrail audit, IOptions<ScriptOptions> options, TimeProvider time)
{
    /// <summary>Runs shown per device and per group.</summary>
    public const int MaxRuns = 20;

    public Task<ScriptRunRequestedDto> RunOnDeviceAsync(StaffScope scope, Guid deviceId, RunScriptRequest request, CancellationToken cancellationToken = default) =>
        RunAsync(scope, new CommandTarget([deviceId], null, null), "device", deviceId, request, cancellationToken);

    public Task<ScriptRunRequestedDto> RunOnGroupAsync(StaffScope scope, Guid groupId, RunScriptRequest request, CancellationToken cancellationToken = default) =>
        RunAsync(scope, new CommandTarget(null, groupId, null), "group", groupId, request, cancellationToken);

    private async Task<ScriptRunRequestedDto> RunAsync(
        StaffScope scope, CommandTarget target, string targetType, Guid targetId, RunScriptRequest request, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RunScripts);
        ScriptVersion script;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var found = targetType == "group"
                ? await scope.Groups(db).AnyAsync(g => g.Id == targetId, cancellationToken)
                : await scope.Devices(db).AnyAsync(d => d.Id == targetId, cancellationToken);
            if (!found)
            {
                throw new NotFoundException($"No such {targetType}.");
            }

            script = await ScriptLibrary.RunnableAsync(db, request.ScriptId, cancellationToken);
        }

        var arguments = ScriptSigning.Arguments(
            script.ScriptId, script.Version, script.Name, script.Platform, script.TimeLimitSeconds, script.Sha256,
            Convert.FromBase64String(script.Signature!), Encoding.UTF8.GetBytes(script.Body));
        var issued = await issue.ExecuteScriptAsync(scope, arguments, target, options.Value.TimeToLive, ScriptLibrary.DevicePlatformOf(script.Platform), cancellationToken);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            audit.Record(db, "script.run", targetType, targetId.ToString(),
                $"'{script.Name}' version {script.Version} (script {script.ScriptId}) on {issued.DeviceIds.Count} device(s), command {issued.Command.Id}",
                targetType == "group" ? await db.Groups.Where(g => g.Id == targetId).Select(g => (Guid?)g.SchoolId).FirstOrDefaultAsync(cancellationToken)
                    : await db.Devices.Where(d => d.Id == targetId).Select(d => d.SchoolId).FirstOrDefaultAsync(cancellationToken));
            await db.SaveChangesAsync(cancellationToken);
        }

        return new ScriptRunRequestedDto(issued.Command.Id, script.ScriptId, script.Version, script.Name, issued.DeviceIds.Count, issued.Command.IssuedAt);
    }

    /// <summary>The newest runs on a device of the scope, newest first, each with its result once it came; null when the device is not in the scope.</summary>
    public async Task<List<DeviceScriptRunDto>?> DeviceAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunScripts);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return null;
        }

        var runs = await (
            from d in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
            where d.DeviceId == deviceId && c.Kind == CommandKinds.RunScript
            orderby c.IssuedAt descending, c.Id descending
            select new { c.Id, c.IssuedBy, c.IssuedAt, d.Status, d.Error })
            .Take(MaxRuns).ToListAsync(cancellationToken);
        var ids = runs.Select(r => r.Id).ToList();
        var outputs = await db.Set<ScriptResult>().AsNoTracking().Where(r => r.DeviceId == deviceId && ids.Contains(r.CommandId)).ToDictionaryAsync(r => r.CommandId, cancellationToken);
        var named = await NamesAsync(db, ids, cancellationToken);
        return runs.Select(r =>
        {
            var (scriptId, version, name) = named[r.Id];
            return new DeviceScriptRunDto(r.Id, scriptId, version, name, r.IssuedBy, r.IssuedAt, r.Status, r.Error, outputs.TryGetValue(r.Id, out var o) ? ToDto(o) : null);
        }).ToList();
    }

    /// <summary>The newest runs on a group of the scope (newest first), each device with its outcome; null when the group is not in the scope.</summary>
    public async Task<List<GroupScriptRunDto>?> GroupAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunScripts);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            return null;
        }

        var commands = await db.Commands.AsNoTracking()
            .Where(c => c.Kind == CommandKinds.RunScript && c.TargetType == "group" && c.TargetId == groupId)
            .OrderByDescending(c => c.IssuedAt).ThenByDescending(c => c.Id)
            .Select(c => new { c.Id, c.IssuedBy, c.IssuedAt }).Take(MaxRuns).ToListAsync(cancellationToken);
        var ids = commands.Select(c => c.Id).ToList();
        var devices = scope.Devices(db);
        var deliveries = await (
            from d in db.CommandDeliveries.AsNoTracking()
            join v in devices on d.DeviceId equals v.Id
            where ids.Contains(d.CommandId)
            select new { d.CommandId, d.DeviceId, v.Name, d.Status, d.Error })
            .ToListAsync(cancellationToken);
        var outputs = await (
            from r in db.Set<ScriptResult>().AsNoTracking()
            join v in devices on r.DeviceId equals v.Id
            where ids.Contains(r.CommandId)
            select r).ToListAsync(cancellationToken);
        var byKey = outputs.ToDictionary(o => (o.CommandId, o.DeviceId));
        var named = await NamesAsync(db, ids, cancellationToken);
        return commands.Select(c =>
        {
            var (scriptId, version, name) = named[c.Id];
            var rows = deliveries.Where(d => d.CommandId == c.Id).OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase).ThenBy(d => d.DeviceId)
                .Select(d => new GroupDeviceScriptDto(d.DeviceId, d.Name, d.Status, d.Error, byKey.TryGetValue((c.Id, d.DeviceId), out var o) ? ToDto(o) : null))
                .ToList();
            return new GroupScriptRunDto(c.Id, scriptId, version, name, c.IssuedBy, c.IssuedAt, rows);
        }).ToList();
    }

    /// <summary>Deletes results past the retention; the number deleted.</summary>
    public async Task<int> PurgeAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow().UtcDateTime - options.Value.Retention;
        return await db.Set<ScriptResult>().Where(r => r.ReceivedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    // The script each command ran, from its arguments (a few commands: each carries its script's body).
    internal static async Task<Dictionary<Guid, (Guid ScriptId, int Version, string Name)>> NamesAsync(HomeroomDbContext db, IReadOnlyList<Guid> commandIds, CancellationToken cancellationToken)
    {
        var rows = await db.Commands.AsNoTracking().Where(c => commandIds.Contains(c.Id)).Select(c => new { c.Id, c.ArgumentsJson }).ToListAsync(cancellationToken);
        return rows.ToDictionary(r => r.Id, r =>
        {
            var arguments = JsonSerializer.Deserialize(r.ArgumentsJson, CommandJsonContext.Default.DictionaryStringString) ?? [];
            return (Guid.TryParse(arguments.GetValueOrDefault("scriptId"), out var id) ? id : Guid.Empty,
                int.TryParse(arguments.GetValueOrDefault("version"), System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0,
                arguments.GetValueOrDefault("name") ?? "script");
        });
    }

    private static ScriptOutputDto ToDto(ScriptResult r) => new(r.ExitCode, r.TimedOut, r.Milliseconds, r.Stdout, r.Stderr, r.OutputTruncated, r.ReceivedAt);
}
