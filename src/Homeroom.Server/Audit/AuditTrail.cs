using System.Security.Claims;
using Homeroom.Server.Data;

namespace Homeroom.Server.Audit;

/// <summary>Who did something, and from where.</summary>
public sealed record AuditActor(Guid? Id, string Name, string? RemoteAddress, Guid? SchoolId = null)
{
    /// <summary>The staff member of a scope, acting from an address.</summary>
    public static AuditActor Of(Accounts.StaffScope scope, string? remoteAddress) =>
        new(scope.AccountId == Guid.Empty ? null : scope.AccountId, scope.Username, remoteAddress, scope.SchoolId);
}

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

    /// <summary>
    /// Adds an entry to <paramref name="db"/>'s unit of work. <paramref name="schoolId"/> is the school
    /// the action concerns (the target's); without it, the actor's school.
    /// </summary>
    public void Record(HomeroomDbContext db, string action, string? targetType = null, string? targetId = null, string? details = null, Guid? schoolId = null)
    {
        var actor = Actor.Value ?? FromRequest(httpContextAccessor.HttpContext);
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
            SchoolId = schoolId ?? actor.SchoolId,
        });
    }

    private static AuditActor FromRequest(HttpContext? context)
    {
        var user = context?.User;
        return new AuditActor(
            Guid.TryParse(user?.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null,
            user?.Identity?.Name ?? "system",
            context?.Connection.RemoteIpAddress?.ToString(),
            Guid.TryParse(user?.FindFirstValue(Accounts.StaffUser.SchoolClaim), out var school) ? school : null);
    }
}
