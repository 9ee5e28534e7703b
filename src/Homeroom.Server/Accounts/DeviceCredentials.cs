using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Authenticates an agent's plain HTTP request (outside its WebSocket) by its enrollment
/// credential: <c>Authorization: Device &lt;device id&gt;:&lt;credential&gt;</c>. Revoked devices are refused.
/// </summary>
public static class DeviceCredentials
{
    public const string Scheme = "Device";

    public static async Task<Guid?> AuthenticateAsync(HttpContext context, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.Length is < 10 or > 512 || !header.StartsWith(Scheme + " ", StringComparison.Ordinal))
        {
            return null;
        }

        var value = header[(Scheme.Length + 1)..];
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !Guid.TryParse(value.AsSpan(0, colon), out var deviceId))
        {
            return null;
        }

        var device = await db.Devices.AsNoTracking()
            .Where(d => d.Id == deviceId)
            .Select(d => new { d.CredentialHash, d.RevokedAt })
            .FirstOrDefaultAsync(cancellationToken);
        return device is { RevokedAt: null } && Secrets.Matches(value[(colon + 1)..], device.CredentialHash) ? deviceId : null;
    }
}
