using System.Security.Claims;
using Homeroom.Server.Data;

namespace Homeroom.Server.Audit;

/// <summary>
/// Adds audit entries to the same unit of work as the change they describe, so an action and its
/// record are saved together or not at all.
/// </summary>
public sealed class AuditTrail(IHttpContextAccessor httpContextAccessor, TimeProvider time)
{
    public void Record(HomeroomDbContext db, string action, string? targetType = null, string? targetId = null, string? details = null)
    {
        var context = httpContextAccessor.HttpContext;
        var user = context?.User;
        var id = user?.FindFirstValue(ClaimTypes.NameIdentifier);
        db.AuditLog.Add(new AuditEntry
        {
            At = time.GetUtcNow().UtcDateTime,
            ActorId = Guid.TryParse(id, out var actorId) ? actorId : null,
            ActorName = user?.Identity?.Name ?? "system",
            Action = action,
            TargetType = targetType,
            TargetId = targetId,
            Details = details is { Length: > 2000 } ? details[..2000] : details,
            RemoteAddress = context?.Connection.RemoteIpAddress?.ToString(),
        });
    }
}
