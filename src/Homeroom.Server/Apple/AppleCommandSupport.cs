using Homeroom.Rules.Apple;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

/// <summary>Which of a command's target devices are Apple devices that cannot carry it out, and why.</summary>
public static class AppleCommandSupport
{
    /// <summary>Arguments that name stored things (a wallpaper) must name ones that exist.</summary>
    public static async Task<Dictionary<string, string[]>> ValidateReferencesAsync(HomeroomDbContext db, string kind, IReadOnlyDictionary<string, string>? arguments, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (kind == Homeroom.Contracts.Agents.CommandKinds.Wallpaper
            && arguments?.GetValueOrDefault("wallpaperId") is { } text && Guid.TryParse(text, out var id)
            && !await db.AppleWallpapers.AnyAsync(w => w.Id == id, cancellationToken))
        {
            errors["arguments.wallpaperId"] = ["No such wallpaper."];
        }

        return errors;
    }

    public static async Task<Dictionary<Guid, string>> FindUnsupportedAsync(HomeroomDbContext db, string kind, IReadOnlyList<Guid> deviceIds, CancellationToken cancellationToken)
    {
        var unsupported = new Dictionary<Guid, string>();
        foreach (var chunk in deviceIds.Chunk(5_000))
        {
            var apple = await (
                from a in db.AppleDevices
                join d in db.Devices on a.DeviceId equals d.Id
                where chunk.Contains(a.DeviceId) && a.CheckedOutAt == null
                select new { a.DeviceId, d.Platform, a.Supervised })
                .ToListAsync(cancellationToken);
            foreach (var device in apple)
            {
                if (MdmCommands.Unsupported(kind, new AppleDeviceFacts(device.Platform, device.Supervised)) is { } reason)
                {
                    unsupported[device.DeviceId] = reason;
                }
            }

            if (MdmCommands.AppleOnly.Contains(kind))
            {
                var managed = apple.Select(a => a.DeviceId).ToHashSet();
                foreach (var other in chunk.Where(id => !managed.Contains(id)))
                {
                    unsupported[other] = $"'{kind}' is carried out only by devices managed through Apple MDM for now.";
                }
            }
        }

        return unsupported;
    }
}
