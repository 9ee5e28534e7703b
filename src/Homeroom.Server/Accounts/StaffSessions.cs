using System.Security.Claims;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>What a session check found.</summary>
public enum SessionCheck
{
    /// <summary>Signed out, ended, expired, or the account disabled or changed.</summary>
    Ended,
    Active,

    /// <summary>Active, but the account must set up two-step sign-in before anything else.</summary>
    MustSetUpTwoStep,
}

/// <summary>A session of the signed-in staff member, as their account page lists it.</summary>
public sealed record StaffSessionDto(Guid Id, DateTime CreatedAt, DateTime LastSeenAt, DateTime ExpiresAt, string? RemoteAddress, string? UserAgent, bool Current);

/// <summary>
/// Server-side staff sessions. The session cookie carries a random session id (only its hash is
/// stored); every request checks, with one indexed lookup, that the session exists, is neither ended
/// nor expired, and began under the account's current security stamp, and that the account is enabled.
/// Whatever ends sessions (sign-out, ending a session, a changed stamp) calls <see cref="NotifyChanged"/>
/// so the console's live connections of that account check again at once.
/// </summary>
public sealed class StaffSessions(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time, IOptions<AccountOptions> options)
{
    /// <summary>Last-seen (and the sliding expiry) is written at most this often per session.</summary>
    public static readonly TimeSpan LastSeenResolution = TimeSpan.FromMinutes(1);

    private const int MaxUserAgentLength = 300;

    /// <summary>Raised with an account id after its sessions may have ended (revoked, or its stamp changed).</summary>
    public event Action<Guid>? Changed;

    /// <summary>Tells this server's live console connections of the account to check their session now.</summary>
    public void NotifyChanged(Guid accountId) => Changed?.Invoke(accountId);

    /// <summary>The session id of a signed-in principal, if it signed in with a password.</summary>
    public static string? SessionOf(ClaimsPrincipal principal) => principal.FindFirstValue(StaffUser.SessionClaim);

    /// <summary>Adds a new session for the account to <paramref name="db"/> (saved with the caller's changes) and returns its id for the cookie.</summary>
    public string Begin(HomeroomDbContext db, StaffAccount account, HttpContext context)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var secret = Secrets.Create("hrs_");
        var userAgent = context.Request.Headers.UserAgent.ToString();
        db.Set<StaffSession>().Add(new StaffSession
        {
            Id = Guid.CreateVersion7(),
            AccountId = account.Id,
            TokenHash = Secrets.Hash(secret),
            SecurityStamp = account.SecurityStamp,
            CreatedAt = now,
            LastSeenAt = now,
            ExpiresAt = ExpiryFor(now, now),
            RemoteAddress = context.Connection.RemoteIpAddress?.ToString(),
            UserAgent = userAgent.Length == 0 ? null : userAgent[..Math.Min(userAgent.Length, MaxUserAgentLength)],
        });
        return secret;
    }

    /// <summary>The cookie handler's check on every request: a session that no longer holds signs the request out.</summary>
    public async Task ValidatePrincipalAsync(CookieValidatePrincipalContext context)
    {
        var secret = context.Principal is { } principal ? SessionOf(principal) : null;
        var check = secret is null ? SessionCheck.Ended : await CheckAsync(secret, context.HttpContext.RequestAborted);
        if (check == SessionCheck.Ended)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return;
        }

        // Read on every request, not kept in the cookie: setting it up (or the district requiring it) counts at once.
        if (check == SessionCheck.MustSetUpTwoStep && context.Principal!.Identities.First() is { } identity && !identity.HasClaim(c => c.Type == StaffUser.TwoStepSetupClaim))
        {
            identity.AddClaim(new Claim(StaffUser.TwoStepSetupClaim, "1"));
        }
    }

    /// <summary>Whether the session still holds (see <see cref="IsActiveAsync"/>).</summary>
    public async Task<bool> IsActiveAsync(string secret, CancellationToken cancellationToken) =>
        await CheckAsync(secret, cancellationToken) != SessionCheck.Ended;

    /// <summary>
    /// Whether the session still holds (one indexed lookup), marking it used: last-seen and the idle
    /// expiry move on at most once per <see cref="LastSeenResolution"/>.
    /// </summary>
    public async Task<SessionCheck> CheckAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = Secrets.Hash(secret);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var session = await db.Set<StaffSession>().AsNoTracking()
            .Where(s => s.TokenHash == hash)
            .Join(db.StaffAccounts, s => s.AccountId, a => a.Id, (s, a) => new
            {
                s.Id, s.SecurityStamp, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RevokedAt, AccountStamp = a.SecurityStamp, a.DisabledAt, a.Role, a.TotpEnabledAt,
                HasKey = db.Set<StaffSecurityKey>().Any(k => k.AccountId == a.Id),
            })
            .FirstOrDefaultAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        if (session is null || session.RevokedAt is not null || session.ExpiresAt <= now || session.DisabledAt is not null
            || !string.Equals(session.SecurityStamp, session.AccountStamp, StringComparison.Ordinal))
        {
            return SessionCheck.Ended;
        }

        if (now - session.LastSeenAt >= LastSeenResolution)
        {
            var expires = ExpiryFor(session.CreatedAt, now);
            await db.Set<StaffSession>().Where(s => s.Id == session.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.LastSeenAt, now).SetProperty(s => s.ExpiresAt, expires), cancellationToken);
        }

        return session.TotpEnabledAt is null && !session.HasKey && options.Value.RequireTwoStepForDistrictAdmins && session.Role == StaffRole.DistrictAdmin
            ? SessionCheck.MustSetUpTwoStep
            : SessionCheck.Active;
    }

    /// <summary>Marks the session with this id ended in <paramref name="db"/> (saved with the caller's changes); returns its account, if found.</summary>
    public async Task<Guid?> RevokeAsync(HomeroomDbContext db, string secret, CancellationToken cancellationToken)
    {
        var hash = Secrets.Hash(secret);
        var session = await db.Set<StaffSession>().FirstOrDefaultAsync(s => s.TokenHash == hash, cancellationToken);
        if (session is null)
        {
            return null;
        }

        session.RevokedAt ??= time.GetUtcNow().UtcDateTime;
        return session.AccountId;
    }

    /// <summary>The account's sessions that still hold, newest first; <paramref name="currentSecret"/> marks the caller's own.</summary>
    public async Task<List<StaffSessionDto>> ListActiveAsync(Guid accountId, string? currentSecret, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var currentHash = currentSecret is null ? null : Secrets.Hash(currentSecret);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var stamp = await db.StaffAccounts.Where(a => a.Id == accountId && a.DisabledAt == null).Select(a => a.SecurityStamp).FirstOrDefaultAsync(cancellationToken);
        if (stamp is null)
        {
            return [];
        }

        var sessions = await db.Set<StaffSession>().AsNoTracking()
            .Where(s => s.AccountId == accountId && s.RevokedAt == null && s.SecurityStamp == stamp)
            .ToListAsync(cancellationToken);
        return sessions
            .Where(s => s.ExpiresAt > now)
            .OrderByDescending(s => s.LastSeenAt)
            .Select(s => new StaffSessionDto(s.Id, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RemoteAddress, s.UserAgent, s.TokenHash == currentHash))
            .ToList();
    }

    /// <summary>
    /// Ends the account's sessions: the one with <paramref name="sessionId"/>, or (when null) every one
    /// but the caller's own. Audited; returns how many ended.
    /// </summary>
    public async Task<int> EndAsync(Guid accountId, Guid? sessionId, string? currentSecret, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var currentHash = currentSecret is null ? "" : Secrets.Hash(currentSecret);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.Set<StaffSession>().Where(s => s.AccountId == accountId && s.RevokedAt == null);
        query = sessionId is { } id ? query.Where(s => s.Id == id) : query.Where(s => s.TokenHash != currentHash);
        var sessions = await query.ToListAsync(cancellationToken);
        foreach (var session in sessions)
        {
            session.RevokedAt = now;
            audit.Record(db, "auth.session-end", "account", accountId.ToString(), $"session {session.Id} from {session.RemoteAddress ?? "an unknown address"}");
        }

        await db.SaveChangesAsync(cancellationToken);
        if (sessions.Count > 0)
        {
            NotifyChanged(accountId);
        }

        return sessions.Count;
    }

    private DateTime ExpiryFor(DateTime createdAt, DateTime lastSeen)
    {
        var idle = lastSeen + options.Value.SessionIdleTimeout;
        var cap = createdAt + options.Value.SessionMaxLifetime;
        return idle < cap ? idle : cap;
    }
}
