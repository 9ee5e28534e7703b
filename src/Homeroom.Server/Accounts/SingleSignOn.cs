using System.Net;
using System.Security.Claims;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Homeroom.Server.Accounts;

/// <summary>Why a single sign-on was refused; the sign-in page says it in words (<c>/login?sso=…</c>).</summary>
public enum SingleSignOnFailure
{
    /// <summary>The ID token's signature did not verify with the provider's published keys.</summary>
    Signature,

    /// <summary>The ID token came from another issuer than the configured provider.</summary>
    Issuer,

    /// <summary>The ID token was issued to another application.</summary>
    Audience,

    /// <summary>The ID token had expired (or was not valid yet).</summary>
    Expired,

    /// <summary>The answer's state is unknown here or was already used (a replayed or forged callback), or the sign-in took too long.</summary>
    State,

    /// <summary>The provider did not vouch for the e-mail address.</summary>
    Unverified,

    /// <summary>No mapping of the district gives the person a role.</summary>
    NoMapping,

    /// <summary>No staff account has the address, and no matching mapping allows creating one.</summary>
    NoAccount,

    /// <summary>The staff account is disabled.</summary>
    Disabled,

    /// <summary>The person cancelled, or the provider refused, at the provider.</summary>
    Denied,

    /// <summary>No such provider is configured.</summary>
    UnknownProvider,

    /// <summary>Any other answer that could not be checked.</summary>
    Invalid,
}

/// <summary>
/// Staff sign-in through an OpenID Connect provider (ASP.NET Core's OpenID Connect handler: authorization
/// code with PKCE, the ID token's signature, issuer, audience, lifetime and nonce checked by the handler).
/// After the handler accepts the token: the e-mail address must be verified, the district's mappings
/// (<see cref="SignInMapping"/>) give the role and school, a staff account is matched by the address (its
/// username, compared without case) or created when a mapping allows, a disabled account is refused, and
/// the session begins exactly as a password sign-in's (<see cref="StaffSignIn"/>). Every refusal ends on the
/// sign-in page with its reason, logged and audited; no token is ever written anywhere.
/// </summary>
public sealed class SingleSignOn(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, StaffSignIn signIn, TimeProvider time, ILogger<SingleSignOn> logger,
    IOptions<SingleSignOnOptions> options, IOptions<AccountOptions> accountOptions)
{
    /// <summary>The longest e-mail address an account can be matched or created by (a username's limit).</summary>
    public const int MaxEmailLength = 100;

    /// <summary>The sign-in page's address saying why a sign-in was refused.</summary>
    public static string LoginWith(SingleSignOnFailure failure, string target) =>
        $"/login?sso={Code(failure)}&returnUrl={Uri.EscapeDataString(target)}";

    /// <summary>The code of a failure in the sign-in page's address.</summary>
    public static string Code(SingleSignOnFailure failure) => failure switch
    {
        SingleSignOnFailure.NoMapping => "no-mapping",
        SingleSignOnFailure.NoAccount => "no-account",
        SingleSignOnFailure.UnknownProvider => "unknown-provider",
        _ => failure.ToString().ToLowerInvariant(),
    };

    /// <summary>What the sign-in page says for a failure code; null for a code it does not know.</summary>
    public static string? Message(string? code) => code switch
    {
        "signature" => "The sign-in provider's answer had a bad signature, so it was refused.",
        "issuer" => "The sign-in answer came from an unexpected issuer, so it was refused.",
        "audience" => "The sign-in answer was meant for another application, so it was refused.",
        "expired" => "The sign-in answer had expired. Please sign in again.",
        "state" => "This sign-in answer was already used, was not started here, or came too late. Please sign in again.",
        "unverified" => "Your sign-in provider has not verified your e-mail address, so it cannot be used to sign in to Homeroom.",
        "no-mapping" => "Your account at the sign-in provider is not allowed to use Homeroom. Ask your district administrator.",
        "no-account" => "There is no Homeroom account for your e-mail address. Ask your district administrator.",
        "disabled" => "Your Homeroom account is disabled.",
        "denied" => "The sign-in was cancelled or refused at the provider.",
        "unknown-provider" => "That sign-in provider is not configured.",
        "invalid" => "The sign-in provider's answer could not be checked, so it was refused.",
        _ => null,
    };

    /// <summary>Why the handler refused an answer, from its exception (the token's own text is never looked at).</summary>
    public static SingleSignOnFailure Classify(Exception? failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException:
                    return SingleSignOnFailure.Signature;
                case SecurityTokenInvalidIssuerException:
                    return SingleSignOnFailure.Issuer;
                case SecurityTokenInvalidAudienceException:
                    return SingleSignOnFailure.Audience;
                case SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenNoExpirationException:
                    return SingleSignOnFailure.Expired;
                case OpenIdConnectProtocolInvalidNonceException:
                    return SingleSignOnFailure.State;
            }

            // The handler's own refusals of the state and its correlation cookie, and of a late answer, are plain messages.
            if (e.Message.Contains("Correlation failed", StringComparison.Ordinal) || e.Message.Contains("message.State", StringComparison.Ordinal))
            {
                return SingleSignOnFailure.State;
            }
        }

        return SingleSignOnFailure.Invalid;
    }

    /// <summary>Whether the provider vouches for the address (see <see cref="SingleSignOnKind"/>).</summary>
    public static bool IsVerified(SingleSignOnKind kind, ClaimsPrincipal principal)
    {
        static bool True(string? value) => value is not null && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");
        return True(principal.FindFirstValue("email_verified")) || (kind == SingleSignOnKind.Entra && True(principal.FindFirstValue("xms_edov")));
    }

    /// <summary>The handler accepted the ID token: sign in (or refuse), and end the request either way.</summary>
    internal async Task TokenValidatedAsync(TokenValidatedContext context, string providerId)
    {
        context.HandleResponse();
        var target = LocalOrHome(context.Properties?.RedirectUri);
        var failure = await SignInAsync(context.HttpContext, providerId, context.Principal ?? new ClaimsPrincipal(), context.HttpContext.RequestAborted);
        if (failure is { } refused)
        {
            context.Response.Redirect(LoginWith(refused, target));
            return;
        }

        // A page of this site moves on, not a redirect: the session cookie is SameSite=Strict, and a browser does
        // not send it on the rest of a redirect chain that began at the provider's site.
        var encoded = WebUtility.HtmlEncode(target);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(
            $"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={encoded}"><title>Signing in · Homeroom</title></head><body><p>Signed in. <a href="{encoded}">Continue</a></p></body></html>""",
            context.HttpContext.RequestAborted);
    }

    /// <summary>The handler refused the provider's answer (signature, issuer, audience, lifetime, state...): audit it and show why.</summary>
    internal async Task RemoteFailureAsync(RemoteFailureContext context, string providerId)
    {
        context.HandleResponse();
        var failure = Classify(context.Failure);
        await RefuseAsync(context.HttpContext, providerId, null, failure, context.Failure?.GetType().Name, context.HttpContext.RequestAborted);
        context.Response.Redirect(LoginWith(failure, LocalOrHome(context.Properties?.RedirectUri)));
    }

    /// <summary>The provider answered with an error such as <c>access_denied</c>.</summary>
    internal async Task AccessDeniedAsync(AccessDeniedContext context, string providerId)
    {
        context.HandleResponse();
        await RefuseAsync(context.HttpContext, providerId, null, SingleSignOnFailure.Denied, null, context.HttpContext.RequestAborted);
        context.Response.Redirect(LoginWith(SingleSignOnFailure.Denied, LocalOrHome(context.ReturnUrl)));
    }

    /// <summary>
    /// Signs in the person the provider's validated token describes, or says why not (audited). Returns null
    /// once signed in.
    /// </summary>
    public async Task<SingleSignOnFailure?> SignInAsync(HttpContext context, string providerId, ClaimsPrincipal external, CancellationToken cancellationToken)
    {
        if (!options.Value.Providers.TryGetValue(providerId, out var provider))
        {
            return await RefuseAsync(context, providerId, null, SingleSignOnFailure.UnknownProvider, null, cancellationToken);
        }

        var email = external.FindFirstValue("email")?.Trim().ToLowerInvariant();
        if (email is not { Length: > 2 and <= MaxEmailLength } || !email.Contains('@', StringComparison.Ordinal) || email.Any(char.IsControl))
        {
            return await RefuseAsync(context, providerId, null, SingleSignOnFailure.Unverified, "no usable e-mail address in the token", cancellationToken);
        }

        if (!IsVerified(provider.Kind, external))
        {
            return await RefuseAsync(context, providerId, email, SingleSignOnFailure.Unverified, null, cancellationToken);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var grant = SignInGrant.Resolve(await SignInMappings.ForProviderAsync(db, providerId, cancellationToken), providerId, external.Claims);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Username == email, cancellationToken);
        if (account is { DisabledAt: not null })
        {
            return await RefuseAsync(context, providerId, email, SingleSignOnFailure.Disabled, null, cancellationToken);
        }

        if (account is null)
        {
            if (grant.Create is not { } create)
            {
                return await RefuseAsync(context, providerId, email, grant.Grant is null ? SingleSignOnFailure.NoMapping : SingleSignOnFailure.NoAccount, null, cancellationToken);
            }

            account = await CreateAccountAsync(db, providerId, provider, email, external, create, cancellationToken);
        }
        else if (grant.Grant is not { } mapping)
        {
            return await RefuseAsync(context, providerId, email, SingleSignOnFailure.NoMapping, null, cancellationToken);
        }
        else
        {
            Apply(db, account, mapping, providerId);
        }

        await signIn.BeginSessionAsync(db, context, account, "sso:" + providerId, $"single sign-on with {provider.DisplayName}", cancellationToken);
        return null;
    }

    private async Task<StaffAccount> CreateAccountAsync(
        HomeroomDbContext db, string providerId, SingleSignOnProviderOptions provider, string email, ClaimsPrincipal external, SignInMapping mapping, CancellationToken cancellationToken)
    {
        var name = external.FindFirstValue("name")?.Trim();
        var schoolId = mapping.Role == StaffRole.DistrictAdmin ? null : mapping.SchoolId;

        // A teacher's classes are their roster person's: link the staff person with the same address, if there is one.
        var person = await db.People.Where(p => p.Kind == PersonKind.Staff && p.Email != null && p.Email.ToLower() == email && (schoolId == null || p.SchoolId == schoolId))
            .Select(p => (Guid?)p.Id).FirstOrDefaultAsync(cancellationToken);
        var account = new StaffAccount
        {
            Id = Guid.CreateVersion7(),
            Username = email,
            DisplayName = name is { Length: > 0 and <= 200 } && !name.Any(char.IsControl) ? name : email,
            // No password anyone knows: the account signs in through its provider (an administrator may set one for break-glass).
            PasswordHash = PasswordHasher.Hash(Secrets.Create("sso_"), accountOptions.Value.PasswordHashIterations),
            CreatedAt = time.GetUtcNow().UtcDateTime,
            Role = mapping.Role,
            SchoolId = schoolId,
            PersonId = person,
        };
        db.StaffAccounts.Add(account);
        audit.Record(db, "account.create", "account", account.Id.ToString(),
            $"{account.Username} as {account.Role} in {account.SchoolId?.ToString() ?? "the district"}, at a single sign-on with {provider.DisplayName} ({mapping.ClaimType}={mapping.ClaimValue})",
            account.SchoolId);
        AccountsLog.SingleSignOnAccountCreated(logger, account.Id, providerId);
        return account;
    }

    // The district's mapping decides the role and school at every sign-in; a change ends the account's other sessions.
    private void Apply(HomeroomDbContext db, StaffAccount account, SignInMapping mapping, string providerId)
    {
        var schoolId = mapping.Role == StaffRole.DistrictAdmin ? null : mapping.SchoolId;
        if (account.Role == mapping.Role && account.SchoolId == schoolId)
        {
            return;
        }

        var before = $"{account.Role} in {account.SchoolId?.ToString() ?? "the district"}";
        account.Role = mapping.Role;
        account.SchoolId = schoolId;
        account.RotateSecurityStamp();
        audit.Record(db, "account.update", "account", account.Id.ToString(),
            $"{before} -> {account.Role} in {account.SchoolId?.ToString() ?? "the district"}, from the single sign-on mapping {providerId}: {mapping.ClaimType}={mapping.ClaimValue}",
            account.SchoolId);
    }

    private async Task<SingleSignOnFailure> RefuseAsync(
        HttpContext context, string providerId, string? email, SingleSignOnFailure failure, string? detail, CancellationToken cancellationToken)
    {
        var provider = options.Value.Providers.TryGetValue(providerId, out var configured) ? configured.DisplayName : providerId;
        AccountsLog.SingleSignOnRefused(logger, providerId, context.Connection.RemoteIpAddress?.ToString(), Code(failure));
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        audit.Record(db, "auth.sign-in-failed", "account", email ?? "sso:" + providerId,
            $"single sign-on with {provider} refused: {Code(failure)}{(detail is null ? "" : $" ({detail})")}");
        await db.SaveChangesAsync(cancellationToken);
        return failure;
    }

    /// <summary>Only a path on this site: never an open redirect.</summary>
    public static string LocalOrHome(string? returnUrl) =>
        returnUrl is { Length: > 0 and <= 500 } && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.Contains('\\') && !returnUrl.Contains("://", StringComparison.Ordinal)
            ? "/" + returnUrl.TrimStart('/')
            : "/";
}

/// <summary>Registers one OpenID Connect scheme per configured provider.</summary>
public static class SingleSignOnRegistration
{
    public static AuthenticationBuilder AddSingleSignOn(this AuthenticationBuilder authentication, IConfiguration configuration)
    {
        var services = authentication.Services;
        services.AddOptions<SingleSignOnOptions>().BindConfiguration(SingleSignOnOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SingleSignOnOptions>, SingleSignOnOptionsValidator>();
        services.AddSingleton<SingleSignOn>();
        services.AddSingleton<SignInMappings>();

        foreach (var id in configuration.GetSection(SingleSignOnOptions.Section + ":Providers").GetChildren().Select(c => c.Key))
        {
            var scheme = SingleSignOnOptions.SchemeOf(id);
            authentication.AddOpenIdConnect(scheme, _ => { });
            services.AddOptions<OpenIdConnectOptions>(scheme).Configure<IOptions<SingleSignOnOptions>, IOptions<AccountOptions>>((o, sso, accounts) =>
            {
                if (!sso.Value.Providers.TryGetValue(id, out var provider))
                {
                    return;
                }

                o.Authority = provider.Authority?.AbsoluteUri.TrimEnd('/');
                o.ClientId = provider.ClientId;
                o.ClientSecret = provider.ClientSecret;
                o.RequireHttpsMetadata = provider.RequireHttpsMetadata;
                o.ResponseType = OpenIdConnectResponseType.Code;
                o.UsePkce = true;
                // The code comes back in the query (a top-level GET): no cross-site POST, so the handler's
                // state cookies need no SameSite=None.
                o.ResponseMode = OpenIdConnectResponseMode.Query;
                o.Scope.Clear();
                foreach (var scope in provider.EffectiveScopes)
                {
                    o.Scope.Add(scope);
                }

                o.CallbackPath = SingleSignOnOptions.CallbackPath(id);
                o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.SaveTokens = false;
                o.GetClaimsFromUserInfoEndpoint = false;
                o.MapInboundClaims = false;
                o.RemoteAuthenticationTimeout = sso.Value.SignInTimeout;
                o.TokenValidationParameters.NameClaimType = "name";
                var secure = accounts.Value.RequireSecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.CorrelationCookie.SecurePolicy = secure;
                o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SecurePolicy = secure;
                o.Events.OnTokenValidated = c => c.HttpContext.RequestServices.GetRequiredService<SingleSignOn>().TokenValidatedAsync(c, id);
                o.Events.OnRemoteFailure = c => c.HttpContext.RequestServices.GetRequiredService<SingleSignOn>().RemoteFailureAsync(c, id);
                o.Events.OnAccessDenied = c => c.HttpContext.RequestServices.GetRequiredService<SingleSignOn>().AccessDeniedAsync(c, id);
            });
        }

        return authentication;
    }
}
