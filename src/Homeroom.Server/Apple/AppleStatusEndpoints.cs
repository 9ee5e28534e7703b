using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

/// <summary>
/// The MDM side of one Apple device, for its device page: enrollment, supervision, whether it can be
/// woken, when it was last in touch, and its latest declarative-management status report (the JSON the
/// device sent, for example <c>StatusItems.softwareupdate</c>).
/// </summary>
public sealed record AppleStatusDto(
    string Udid,
    DateTime EnrolledAt,
    DateTime? CheckedOutAt,
    bool Supervised,
    bool CanBeWoken,
    string? Topic,
    bool Online,
    DateTime? LastSeenAt,
    DateTime? LastCheckinAt,
    JsonElement? DeclarativeStatus,
    DateTime? DeclarativeStatusAt);

/// <summary>Reads an Apple device's MDM status, within the staff member's scope.</summary>
public sealed class AppleDeviceStatus(IDbContextFactory<HomeroomDbContext> dbFactory, PresenceTracker presence)
{
    public async Task<AppleStatusDto?> GetAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await (
            from d in scope.Devices(db)
            join a in db.AppleDevices.AsNoTracking() on d.Id equals a.DeviceId
            where d.Id == deviceId
            select new { Apple = a, d.LastSeenAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            return null;
        }

        var apple = row.Apple;
        var live = presence.Get(deviceId)?.LastSeenAt;
        JsonElement? status = null;
        if (apple.DdmStatus is { } json)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                status = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                status = null; // stored only after it parsed, so not expected
            }
        }

        return new AppleStatusDto(
            apple.Udid, apple.EnrolledAt, apple.CheckedOutAt, apple.Supervised, apple.PushToken is not null && apple.PushMagic is not null && apple.CheckedOutAt is null,
            apple.Topic, presence.IsOnline(deviceId), live is { } seen && (row.LastSeenAt is null || seen > row.LastSeenAt) ? seen : row.LastSeenAt,
            apple.LastCheckinAt, status, apple.DdmStatusAt);
    }
}

public static class AppleStatusEndpoints
{
    public static IEndpointRouteBuilder MapAppleStatusEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/devices/{id:guid}/apple-status", GetAsync).WithTags("Devices").RequireStaff(ScopedResource.Device, Permission.ReadDevices)
            .WithDescription("The MDM status of an Apple device: enrollment, supervision, whether it can be woken, and its latest declarative-management status report. 404 for devices not managed through MDM.");
        return app;
    }

    private static async Task<Results<Ok<AppleStatusDto>, NotFound>> GetAsync(Guid id, StaffScope scope, AppleDeviceStatus status, CancellationToken cancellationToken) =>
        await status.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();
}
