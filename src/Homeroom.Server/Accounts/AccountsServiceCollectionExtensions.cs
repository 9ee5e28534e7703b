using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using System.Threading.RateLimiting;

namespace Homeroom.Server.Accounts;

/// <summary>Registers staff accounts, sign-in and the authentication schemes (API key or session cookie).</summary>
public static class AccountsServiceCollectionExtensions
{
    /// <summary>The scheme every staff endpoint authenticates with: an API key when one is sent, else the session cookie.</summary>
    public const string AuthScheme = "Homeroom";

    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section)
            .Validate(o => o.LockoutThreshold is >= 3 and <= 100 && o.LockoutDuration >= TimeSpan.FromMinutes(1), "Lockout settings are out of range.")
            .ValidateOnStart();
        services.AddSingleton<StaffSignIn>();
        services.AddSingleton<AdminBootstrapper>();

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
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.LoginPath = "/login";
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
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(AuthScheme).RequireAuthenticatedUser().Build());

        // One check of who may do what, for which school, for the API and the console alike.
        services.AddSingleton<IAuthorizationPolicyProvider, StaffPolicyProvider>();
        services.AddSingleton<IAuthorizationHandler, StaffAuthorizationHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, StaffAuthorizationResultHandler>();
        services.AddSingleton<StaffAccountDirectory>();

        services.Configure<RateLimiterOptions>(o => o.AddPolicy(AccountEndpoints.SignInRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })));
        return services;
    }
}
