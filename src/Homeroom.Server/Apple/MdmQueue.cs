using System.Collections.Concurrent;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apple;
using Homeroom.Rules.Commands;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// The MDM command loop for one Apple device, over Homeroom's durable command deliveries: the
/// device polls (Idle), gets its oldest pending command as an MDM command whose CommandUUID is the
/// Homeroom command id, and answers it. Acknowledged succeeds, Error and CommandFormatError fail
/// (keeping the error chain), NotNow leaves it pending and it is offered again only after a pause, so
/// a busy device is never asked in a tight loop. An answer for a command this device was not sent
/// changes nothing. A <c>DeviceInformation</c> answer updates the device's inventory through the same batched
/// writer as agents' inventory reports; an <c>InstalledApplicationList</c> answer replaces its app list at once,
/// before the command counts as done (the list also as <c>app.inventory</c> activity events, <see cref="AppleAppEvents"/>); <c>ManagedApplicationList</c>
/// answers update the app status rows (<see cref="Apps.AppleManagedApps"/>);
/// <c>DeviceLocation</c> answers (Lost Mode only) go to the <see cref="LocationTracker"/> like an agent's fix.
/// </summary>
public sealed class MdmQueue(
    CommandProgress progress,
    PolicyDistributor policies,
    InventoryWriter inventory,
    ZoneMembership zones,
    FilterListStore lists,
    LocationTracker locations,
    PresenceTracker presence,
    AppleAppEvents appEvents,
    Apps.AppleManagedApps managedApps,
    Diagnostics.DiagnosticsStore diagnostics,
    IOptions<AppleOptions> options,
    TimeProvider time,
    ILogger<MdmQueue> logger)
{
    public const int MaxResultLength = 4096;

    // (device, command) -> not before. In memory: after a restart a NotNow'd command is offered once more, which is harmless.
    private readonly ConcurrentDictionary<(Guid, Guid), DateTime> _notNow = new();

    /// <summary>
    /// Records the device's answer to a command. Returns the device's facts as they are after it: an answer to
    /// DeviceInformation may say the device's supervision changed, and the next command in the same response (its
    /// policy profile, or one that needs supervision) is built from what the device just said, not from before.
    /// </summary>
    public async Task<AppleDeviceFacts> RecordAsync(HomeroomDbContext db, Guid deviceId, AppleDeviceFacts facts, Guid commandId, string status, Dictionary<string, object> answer, CancellationToken cancellationToken)
    {
        var delivery = await (
            from d in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
            where d.CommandId == commandId && d.DeviceId == deviceId && d.Status == DeliveryStatus.Sent
            select new { d.Result, c.Kind })
            .FirstOrDefaultAsync(cancellationToken);
        if (delivery is null)
        {
            AppleLog.UnknownCommand(logger, deviceId, commandId, status);
            return facts;
        }

        var now = time.GetUtcNow().UtcDateTime;
        switch (status)
        {
            case "Acknowledged":
                _notNow.TryRemove((deviceId, commandId), out _);
                // What the answer carries is stored before the command counts as done: whoever reads a succeeded
                // list command (the app reconciler) reads its list too.
                if (await LearnAsync(db, deviceId, facts.Platform, answer, now, cancellationToken) is { } supervised)
                {
                    facts = facts with { Supervised = supervised };
                }

                await UpdateAsync(db, commandId, deviceId, DeliveryStatus.Succeeded, null, delivery.Result ?? Summary(answer), now, cancellationToken);
                if (delivery.Kind == CommandKinds.ApplyPolicy && PolicyVersionOf(delivery.Result) is { } applied)
                {
                    policies.Report(deviceId, new PolicyStatusFrame(applied, true, null));
                    policies.ProfileApplied(deviceId, applied);
                }

                if (delivery.Kind == CommandKinds.Diagnose && answer.GetValueOrDefault("QueryResponses") is Dictionary<string, object> diagnosed)
                {
                    await diagnostics.AcceptAppleAsync(deviceId, commandId, diagnosed, facts.Platform, cancellationToken);
                }
                if (delivery.Kind == CommandKinds.Locate && AppleDeviceLocation.Read(answer, time.GetUtcNow()) is { } fix
                    && await locations.ObserveLocateAnswerAsync(deviceId, fix, cancellationToken) == FixOutcome.Accepted)
                {
                    // A Lost Mode location reaches the track (and so the map) and the device's last position.
                    presence.Heartbeat(deviceId, new HeartbeatFrame(null, null, fix));
                }

                break;
            case "Error":
            case "CommandFormatError":
                _notNow.TryRemove((deviceId, commandId), out _);
                var chain = answer.TryGetValue("ErrorChain", out var c) ? JsonSerializer.Serialize(ToJson(c)) : null;
                await UpdateAsync(db, commandId, deviceId, DeliveryStatus.Failed, Truncate($"{status}: {chain ?? "no error chain"}"), delivery.Result, now, cancellationToken);
                if (delivery.Kind == CommandKinds.ApplyPolicy && PolicyVersionOf(delivery.Result) is { } failed)
                {
                    policies.Report(deviceId, new PolicyStatusFrame(failed, false, [Truncate($"The policy profile was refused: {chain ?? status}")]));
                }

                break;
            case "NotNow":
                _notNow[(deviceId, commandId)] = now + options.Value.NotNowRetry;
                break;
        }

        return facts;
    }

    /// <summary>The device's next command as the MDM response body, marking it sent; null when nothing is pending.</summary>
    public async Task<byte[]?> NextAsync(HomeroomDbContext db, Guid deviceId, AppleDeviceFacts facts, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var pending = await (
            from d in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
            where d.DeviceId == deviceId && (d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent) && c.ExpiresAt > now
            orderby c.IssuedAt, c.Id
            select new { c.Id, c.Kind, c.ArgumentsJson })
            .Take(50)
            .ToListAsync(cancellationToken);
        foreach (var command in pending)
        {
            if (_notNow.TryGetValue((deviceId, command.Id), out var notBefore) && notBefore > now)
            {
                continue;
            }

            if (MdmCommands.Unsupported(command.Kind, facts) is { } reason)
            {
                await UpdateAsync(db, command.Id, deviceId, DeliveryStatus.Failed, reason, null, now, cancellationToken);
                continue;
            }

            var arguments = JsonSerializer.Deserialize(command.ArgumentsJson, CommandJsonContext.Default.DictionaryStringString);
            string? result;
            MdmCommand built;
            if (command.Kind == CommandKinds.ApplyPolicy)
            {
                // Always the policy as it is now, however long the command waited. The version is read first, so the
                // document is at least as new as the version it is labelled with: a change stored while this command was
                // still queued (the distributor then queued no other) shows as a version behind when the device
                // acknowledges, and the distributor queues the profile again.
                var version = await db.DevicePolicies.Where(p => p.DeviceId == deviceId).Select(p => p.Version).FirstOrDefaultAsync(cancellationToken);
                var document = await EffectivePolicies.DocumentAsync(db, deviceId, zones, lists, time, cancellationToken);
                built = MdmCommands.Build(command.Kind, arguments, facts, document);
                result = $"policy version {version}";
            }
            else if (command.Kind == CommandKinds.Wallpaper)
            {
                var wallpaperId = Guid.Parse(arguments!["wallpaperId"]);
                var image = await db.AppleWallpapers.Where(w => w.Id == wallpaperId).Select(w => w.Content).FirstOrDefaultAsync(cancellationToken);
                if (image is null)
                {
                    await UpdateAsync(db, command.Id, deviceId, DeliveryStatus.Failed, "The wallpaper was deleted before the device fetched it.", null, now, cancellationToken);
                    continue;
                }

                built = MdmCommands.Build(command.Kind, arguments, facts, image: image);
                result = null;
            }
            else
            {
                built = MdmCommands.Build(command.Kind, arguments, facts);
                result = built.Secret is { } pin ? $"PIN {pin}" : null;
            }

            await UpdateAsync(db, command.Id, deviceId, DeliveryStatus.Sent, null, result, now, cancellationToken);
            return PropertyList.WriteXml(new Dictionary<string, object>
            {
                ["CommandUUID"] = command.Id.ToString().ToUpperInvariant(),
                ["Command"] = built.Command,
            });
        }

        return null;
    }

    // What the answer tells about the device: its facts, supervision and battery, or its apps. Returns the supervision
    // the device reported, if it did.
    private async Task<bool?> LearnAsync(HomeroomDbContext db, Guid deviceId, DevicePlatform platform, Dictionary<string, object> answer, DateTime now, CancellationToken cancellationToken)
    {
        bool? learned = null;
        if (answer.GetValueOrDefault("QueryResponses") is Dictionary<string, object> responses)
        {
            var information = MdmAnswers.DeviceInformation(responses, platform);
            await inventory.EnqueueAsync(new InventoryReport(deviceId, information.Inventory, now), cancellationToken);
            if (information.Supervised is { } supervised)
            {
                learned = supervised;
                // Supervision decides which commands the device can take; learn it from the device itself.
                if (await db.AppleDevices.Where(a => a.DeviceId == deviceId && a.Supervised != supervised).ExecuteUpdateAsync(s => s.SetProperty(a => a.Supervised, supervised), cancellationToken) > 0)
                {
                    // A supervised device's profile carries the catalog's blocked apps; an unsupervised one's does not.
                    policies.RequestDevice(deviceId);
                }
            }

            if (information.BatteryPercent is { } battery)
            {
                // Rare (one per DeviceInformation answer), so written at once rather than through presence, which has no
                // place for a level without a charging state.
                await db.Devices.Where(d => d.Id == deviceId).ExecuteUpdateAsync(s => s.SetProperty(d => d.BatteryLevel, battery), cancellationToken);
            }
        }

        if (answer.GetValueOrDefault("InstalledApplicationList") is List<object> list)
        {
            var apps = MdmAnswers.InstalledApplications(list);
            await inventory.WriteNowAsync(new InventoryReport(deviceId, new InventoryFrame(null, null, null, null, null, null, apps), now), cancellationToken);
            await appEvents.RecordAsync(deviceId, apps, now, cancellationToken);
        }

        if (answer.GetValueOrDefault("ManagedApplicationList") is Dictionary<string, object> managed)
        {
            // Apple's own word on each managed app's install (prompting, installed, declined, failed) for the app status rows.
            await managedApps.RecordAsync(db, deviceId, managed, cancellationToken);
        }

        return learned;
    }

    // Forward-only, like the agents' status writer; written at once (MDM answers are few) so a result set
    // when the command was sent (a Mac's PIN) is there when the answer comes.
    private async Task UpdateAsync(HomeroomDbContext db, Guid commandId, Guid deviceId, DeliveryStatus status, string? error, string? result, DateTime now, CancellationToken cancellationToken)
    {
        var changed = await db.CommandDeliveries
            .Where(d => d.CommandId == commandId && d.DeviceId == deviceId && d.Status <= status && d.Status < DeliveryStatus.Succeeded)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, status).SetProperty(d => d.UpdatedAt, now).SetProperty(d => d.Error, error).SetProperty(d => d.Result, result), cancellationToken);
        if (changed > 0)
        {
            progress.Report(new DeliveryUpdate(commandId, deviceId, status, now, error, result));
        }
    }

    private static long? PolicyVersionOf(string? result) =>
        result is not null && result.StartsWith("policy version ", StringComparison.Ordinal) && long.TryParse(result.AsSpan(15), System.Globalization.CultureInfo.InvariantCulture, out var version)
            ? version
            : null;

    private static string? Summary(Dictionary<string, object> answer)
    {
        var interesting = answer.Where(p => p.Key is not ("UDID" or "Status" or "CommandUUID" or "EnrollmentID" or "EnrollmentUserID")).ToDictionary(p => p.Key, p => ToJson(p.Value));
        return interesting.Count == 0 ? null : Truncate(JsonSerializer.Serialize(interesting));
    }

    private static object? ToJson(object value) => value switch
    {
        byte[] data => Convert.ToBase64String(data),
        DateTimeOffset date => date.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        Dictionary<string, object> dict => dict.ToDictionary(p => p.Key, p => ToJson(p.Value)),
        List<object> list => list.Select(ToJson).ToList(),
        _ => value,
    };

    private static string Truncate(string text) => text.Length <= MaxResultLength ? text : text[..MaxResultLength];
}
