using System.Security.Claims;
using Homeroom.Server.Data;

namespace Homeroom.Server.Audit;

/// <summary>Who did something, and from where.</summary>
public sealed record AuditActor(Guid? Id, string Name, string? RemoteAddress);

/// <summary>
/// Adds audit entries to the same unit of work as the change they describe, so an action and its
/// record are saved together or not at all. The actor is the HTTP request's user, or, in the
/// console (whose actions run on a live connection, not a request), the one set by <see cref="ActAs"/>.
/// </summary>
public sealed class AuditTrail(IHttpContextAccessor httpContextAccessor, TimeProvider time)
{
    private static readonly AsyncLocal<AuditActor?> Actor = new();

    /// <summary>Attributes what follows on this async flow to <paramref name="actor"/>, until disposed.</summary>
    public static IDisposable ActAs(AuditActor actor)
    {
        var previous = Actor.Value;
        Actor.Value = actor;
        return new Restore(previous);
    }

    private sealed class Restore(AuditActor? previous) : IDisposable
    {
        public void Dispose() => Actor.Value = previous;
    }

    public void Record(HomeroomDbContext db, string action, string? targetType = null, string? targetId = null, string? details = null)
    {
        var context = httpContextAccessor.HttpContext;
        var user = context?.User;
        var id = user?.FindFirstValue(ClaimTypes.NameIdentifier);
        if (Actor.Value is { } actor)
        {
            db.AuditLog.Add(new AuditEntry
            {
                At = time.GetUtcNow().UtcDateTime,
                ActorId = actor.Id,
                ActorName = actor.Name,
                Action = action,
                TargetType = targetType,
                TargetId = targetId,
                Details = details is { Length: > 2000 } ? details[..2000] : details,
                RemoteAddress = actor.RemoteAddress,
            });
            return;
        }

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
