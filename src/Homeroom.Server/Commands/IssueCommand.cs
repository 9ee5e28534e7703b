using System.Text.Json;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Apple;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Commands;

/// <summary>Who a command is for: exactly one of a device list, a group or a school.</summary>
public sealed record CommandTarget(IReadOnlyList<Guid>? DeviceIds, Guid? GroupId, Guid? SchoolId);

public sealed record IssuedCommand(Command Command, IReadOnlyList<Guid> DeviceIds);

/// <summary>
/// Stores a command and one queued status row per target device in one transaction, then hands it
/// to the dispatcher. Nothing is sent before it is stored, so a restart loses nothing.
/// </summary>
public sealed class IssueCommand(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    BulkSql bulk,
    CommandDispatcher dispatcher,
    CommandProgress progress,
    AuditTrail audit,
    IEnumerable<ICommandWaker> wakers,
    IOptions<CommandOptions> options,
    TimeProvider time)
{
    private static readonly string[] DeliveryParameters = ["@c", "@d", "@s", "@u", "@e"];
    private const string InsertDeliverySql = "INSERT INTO command_deliveries (command_id, device_id, status, updated_at, error) VALUES (@c, @d, @s, @u, @e)";

    /// <summary>Issues a command to devices, a group or a school of the scope (staff who may issue commands).</summary>
    public Task<IssuedCommand> ExecuteAsync(
        StaffScope scope, string kind, IReadOnlyDictionary<string, string>? arguments, CommandTarget target, TimeSpan? timeToLive, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.IssueCommands);
        return IssueAsync(scope, kind, arguments, target, timeToLive, cancellationToken);
    }

    /// <summary>Issues a classroom command; the classroom has checked the teacher's class, session and kind.</summary>
    internal Task<IssuedCommand> ExecuteForClassroomAsync(
        StaffScope scope, string kind, IReadOnlyDictionary<string, string>? arguments, IReadOnlyList<Guid> deviceIds, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.UseClassroom);
        return IssueAsync(scope, kind, arguments, new CommandTarget(deviceIds, null, null), timeToLive, cancellationToken);
    }

    /// <summary>
    /// Issues a <c>runScript</c> command; <see cref="Scripts.ScriptRuns"/> has checked that the script's newest version is
    /// approved and built its signed arguments. Devices of another platform than the script's cannot run it: a single
    /// such device is refused, and in a group they are recorded as failed with the reason.
    /// </summary>
    internal Task<IssuedCommand> ExecuteScriptAsync(
        StaffScope scope, IReadOnlyDictionary<string, string> arguments, CommandTarget target, TimeSpan timeToLive, Contracts.Enrollment.DevicePlatform platform, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RunScripts);
        return IssueAsync(scope, Contracts.Agents.CommandKinds.RunScript, arguments, target, timeToLive, cancellationToken, platform);
    }

    /// <summary>
    /// Issues an <c>agentUpdate</c> command to one device, for the server itself (<see cref="SelfUpdates.AgentUpdateOffers"/>
    /// has chosen the builds and signed them); like <c>runScript</c>, it never comes through the command catalog.
    /// </summary>
    internal Task<IssuedCommand> ExecuteAgentUpdateAsync(
        IReadOnlyDictionary<string, string> arguments, Guid deviceId, Contracts.Enrollment.DevicePlatform platform, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        IssueAsync(StaffScope.System, Contracts.Agents.CommandKinds.AgentUpdate, arguments, new CommandTarget([deviceId], null, null), timeToLive, cancellationToken, platform);

    /// <summary>
    /// Issues an <c>installPackage</c> or <c>removePackage</c> for the app catalog, for the server itself
    /// (<see cref="Apps.AppInstallReconciler"/>): only this way may it carry a Mac package's download URL, hash and app bundle.
    /// </summary>
    internal Task<IssuedCommand> ExecuteCatalogPackageAsync(
        string kind, IReadOnlyDictionary<string, string> arguments, CommandTarget target, TimeSpan timeToLive, CancellationToken cancellationToken) =>
        IssueAsync(StaffScope.System, kind, arguments, target, timeToLive, cancellationToken, catalogPackage: true);

    private async Task<IssuedCommand> IssueAsync(
        StaffScope scope, string kind, IReadOnlyDictionary<string, string>? arguments, CommandTarget target, TimeSpan? timeToLive, CancellationToken cancellationToken,
        Contracts.Enrollment.DevicePlatform? scriptPlatform = null, bool catalogPackage = false)
    {
        // A script's arguments are built and checked by ScriptRuns; the catalog (POST /api/commands) does not know runScript.
        var errors = scriptPlatform is not null ? new Dictionary<string, string[]>(StringComparer.Ordinal)
            : catalogPackage ? CommandCatalog.ValidateCatalogPackage(kind, arguments)
            : CommandCatalog.Validate(kind, arguments);
        var ttl = timeToLive ?? options.Value.DefaultTimeToLive;
        if (ttl <= TimeSpan.Zero || ttl > options.Value.MaxTimeToLive)
        {
            errors["ttlSeconds"] = [$"Must be between 1 and {(int)options.Value.MaxTimeToLive.TotalSeconds} seconds."];
        }

        var targetKinds = (target.DeviceIds is { Count: > 0 } ? 1 : 0) + (target.GroupId is null ? 0 : 1) + (target.SchoolId is null ? 0 : 1);
        if (targetKinds != 1)
        {
            errors["target"] = ["Give exactly one of deviceIds, groupId or schoolId."];
        }
        else if (target.DeviceIds?.Count > options.Value.MaxTargets)
        {
            errors["deviceIds"] = [$"At most {options.Value.MaxTargets} devices."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await AppleCommandSupport.ValidateReferencesAsync(db, kind, arguments, cancellationToken) is { Count: > 0 } referenceErrors)
        {
            throw new RequestValidationException(referenceErrors);
        }

        var (targetType, targetId, deviceIds) = await ResolveTargetsAsync(db, target, scope, cancellationToken);
        if (deviceIds.Count > options.Value.MaxTargets)
        {
            throw new RequestValidationException(new() { ["target"] = [$"The target has {deviceIds.Count} devices; at most {options.Value.MaxTargets} allowed."] });
        }

        // Apple devices that cannot carry this action out: a single device is refused; in a group they
        // are recorded as failed with the reason, and the others get the command.
        var unsupported = scriptPlatform is { } platform
            ? await OtherPlatformsAsync(db, deviceIds, platform, cancellationToken)
            : await AppleCommandSupport.FindUnsupportedAsync(db, kind, deviceIds, cancellationToken);
        if (unsupported.Count > 0 && unsupported.Count == deviceIds.Count && target.DeviceIds is { Count: 1 })
        {
            throw new RequestValidationException(new() { ["kind"] = [unsupported.Values.First()] });
        }

        var auditSchool = await AuditSchoolAsync(db, targetType, targetId, deviceIds, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var command = new Command
        {
            Id = Guid.CreateVersion7(),
            Kind = kind,
            ArgumentsJson = JsonSerializer.Serialize(
                new Dictionary<string, string>(arguments ?? new Dictionary<string, string>()), CommandJsonContext.Default.DictionaryStringString),
            TargetType = targetType,
            TargetId = targetId,
            TargetCount = deviceIds.Count,
            IssuedBy = scope.Username,
            IssuedAt = now,
            ExpiresAt = now + ttl,
        };

        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            db.Commands.Add(command);
            audit.Record(db, "command.issue", targetType, targetId?.ToString(), $"{kind} to {deviceIds.Count} device(s), command {command.Id}", auditSchool);
            await db.SaveChangesAsync(cancellationToken);
            var connection = db.Database.GetDbConnection();
            await bulk.ExecuteManyAsync(connection, transaction.GetDbTransaction(), InsertDeliverySql, DeliveryParameters, deviceIds, (deviceId, v) =>
            {
                v[0] = bulk.Id(command.Id);
                v[1] = bulk.Id(deviceId);
                var reason = unsupported.GetValueOrDefault(deviceId);
                v[2] = (short)(reason is null ? DeliveryStatus.Queued : DeliveryStatus.Failed);
                v[3] = now;
                v[4] = reason;
            }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        progress.Track(command.Id, deviceIds.Count, kind, arguments);
        var reachable = unsupported.Count == 0 ? deviceIds : deviceIds.Where(id => !unsupported.ContainsKey(id)).ToList();
        await dispatcher.DispatchAsync(command, reachable);
        foreach (var waker in wakers)
        {
            await waker.WakeAsync(reachable, cancellationToken);
        }

        return new IssuedCommand(command, deviceIds);
    }

    private static async Task<Dictionary<Guid, string>> OtherPlatformsAsync(
        HomeroomDbContext db, IReadOnlyList<Guid> deviceIds, Contracts.Enrollment.DevicePlatform platform, CancellationToken cancellationToken)
    {
        var other = new Dictionary<Guid, string>();
        foreach (var chunk in deviceIds.Chunk(5_000))
        {
            foreach (var device in await db.Devices.AsNoTracking().Where(d => chunk.Contains(d.Id) && d.Platform != platform)
                .Select(d => new { d.Id, d.Platform }).ToListAsync(cancellationToken))
            {
                other[device.Id] = $"the script is for {Scripts.ScriptLibrary.PlatformName(platform)}; this device runs {device.Platform}";
            }
        }

        return other;
    }

    // The school a command concerns, for its audit entry: the target school, the group's school, or the
    // one school of a handful of devices (else none: the actor's school is recorded).
    private static async Task<Guid?> AuditSchoolAsync(HomeroomDbContext db, string targetType, Guid? targetId, List<Guid> deviceIds, CancellationToken cancellationToken) => targetType switch
    {
        "school" => targetId,
        "group" => await db.Groups.Where(g => g.Id == targetId).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken),
        _ when deviceIds.Count is > 0 and <= 500 => await db.Devices.Where(d => deviceIds.Contains(d.Id)).Select(d => d.SchoolId).Distinct().OrderBy(s => s).Take(2).ToListAsync(cancellationToken) is [var only] ? only : null,
        _ => null,
    };

    private static async Task<(string Type, Guid? Id, List<Guid> DeviceIds)> ResolveTargetsAsync(
        HomeroomDbContext db, CommandTarget target, StaffScope scope, CancellationToken cancellationToken)
    {
        // Revoked and retired devices never receive commands; staff reach only the devices of their scope.
        var manageable = scope.Devices(db).Manageable();
        if (target.GroupId is { } groupId)
        {
            if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
            {
                throw new NotFoundException("No such group.");
            }

            var ids = await manageable.InGroup(db, groupId).Select(d => d.Id).ToListAsync(cancellationToken);
            return ("group", groupId, ids);
        }

        if (target.SchoolId is { } schoolId)
        {
            if (!await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken) || !scope.IncludesSchool(schoolId))
            {
                throw new NotFoundException("No such school.");
            }

            return ("school", schoolId, await manageable.Where(d => d.SchoolId == schoolId).Select(d => d.Id).ToListAsync(cancellationToken));
        }

        var requested = target.DeviceIds!.Distinct().ToList();
        var found = new List<Guid>(requested.Count);
        foreach (var chunk in requested.Chunk(5_000))
        {
            found.AddRange(await manageable.Where(d => chunk.Contains(d.Id)).Select(d => d.Id).ToListAsync(cancellationToken));
        }

        if (found.Count != requested.Count)
        {
            var missing = requested.Except(found).Take(5).ToList();
            throw new RequestValidationException(new()
            {
                ["deviceIds"] = [$"{requested.Count - found.Count} device(s) do not exist, are revoked or are retired, for example {string.Join(", ", missing)}."],
            });
        }

        return ("devices", null, found);
    }
}
