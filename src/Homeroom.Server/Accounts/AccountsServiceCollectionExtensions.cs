using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using System.Threading.RateLimiting;

namespace Homeroom.Server.Accounts;

/// <summary>Registers staff accounts, sign-in and the authentication schemes (API key or session cookie).</summary>
public static class AccountsServiceCollectionExtensions
{
    /// <summary>The scheme every staff endpoint authenticates with: an API key when one is sent, else the session cookie.</summary>
    public const string AuthScheme = "Homeroom";

    public static IServiceCollection AddAccounts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccountOptions>, AccountOptionsValidator>();
        services.AddSingleton<StaffSignIn>();
        services.AddSingleton<StaffTwoStep>();
        services.AddSingleton<StaffSecurityKeys>();
        services.AddSingleton<StaffSessions>();
        services.AddSingleton<SignInThrottle>();
        services.AddSingleton<AdminBootstrapper>();
        services.AddHostedService<SessionRetention>();

        services.AddAuthentication(AuthScheme)
            .AddPolicyScheme(AuthScheme, "API key or session cookie", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "homeroom.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                // The stored session decides when a session ends (idle timeout, sign-out, a changed
                // account); the cookie only has to outlive it.
                o.SlidingExpiration = false;
                o.LoginPath = "/login";
                o.Events.OnValidatePrincipal = c => c.HttpContext.RequestServices.GetRequiredService<StaffSessions>().ValidatePrincipalAsync(c);
                o.Events.OnRedirectToLogin = c =>
                {
                    // The API answers 401; a console page sends the browser to sign in.
                    if (c.Request.Path.StartsWithSegments("/api") || c.Request.Path.StartsWithSegments("/agent") || c.Request.Path.StartsWithSegments("/mdm"))
                    {
                        c.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    }
                    else
                    {
                        c.Response.Redirect(c.RedirectUri);
                    }

                    return Task.CompletedTask;
                };
                o.Events.OnRedirectToAccessDenied = c =>
                {
                    c.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            })
            .AddSingleSignOn(configuration);
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme).Configure<IOptions<AccountOptions>>((o, accounts) =>
        {
            o.ExpireTimeSpan = accounts.Value.SessionMaxLifetime;
            // Secure whenever the request is HTTPS, which behind a trusted proxy comes from X-Forwarded-Proto.
            o.Cookie.SecurePolicy = accounts.Value.RequireSecureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(AuthScheme).RequireAuthenticatedUser().Build());

        // One check of who may do what, for which school, for the API and the console alike.
        services.AddSingleton<IAuthorizationPolicyProvider, StaffPolicyProvider>();
        services.AddSingleton<IAuthorizationHandler, StaffAuthorizationHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, StaffAuthorizationResultHandler>();
        services.AddSingleton<StaffAccountDirectory>();
        services.AddSingleton<ApiKeyDirectory>();

        // Partitioned by the client's address (the forwarded one behind a trusted proxy; an IPv6 client by its /64).
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<AccountOptions>>((o, accounts) => o.AddPolicy(AccountEndpoints.SignInRateLimit, context =>
            RateLimitPartition.GetFixedWindowLimiter(
                SignInThrottle.AddressKey(context.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = accounts.Value.SignInsPerMinutePerAddress, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })));
        return services;
    }
}
