using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// The console's sign-in and sign-out forms. Plain form posts with Blazor's anti-forgery token,
/// the same rate limit, throttling, session and audit as the API's sign-in.
/// </summary>
public static class ConsoleAuthEndpoints
{
    private const string PendingCookie = "homeroom.second-step";

    public static IEndpointRouteBuilder MapConsoleAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth/sign-in", SignInAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        app.MapPost("/auth/sign-in/code", SignInWithCodeAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        // Single sign-on: the provider's button on the sign-in page leads here; the OpenID Connect handler takes over.
        app.MapGet("/auth/sso/{provider}", SingleSignOnChallenge).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        app.MapPost("/auth/sign-out", SignOutAsync).RequireStaff(Permission.OwnAccount).ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> SignInAsync(
        [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl, HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        var target = LocalOrHome(returnUrl);
        if (username is not { Length: > 0 and <= 100 } || password is not { Length: > 0 and <= 1024 })
        {
            return Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(target));
        }

        var result = await signIn.SignInAsync(context, username, password, code: null, cancellationToken);
        if (result.Outcome == SignInOutcome.CodeRequired)
        {
            // The second page asks only for the code; this cookie vouches for the password for a few minutes.
            context.Response.Cookies.Append(PendingCookie, signIn.PendingSecondStep(username), new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/auth/sign-in/code",
                MaxAge = StaffSignIn.SecondStepWindow,
            });
            return Results.Redirect("/login?step=code&returnUrl=" + Uri.EscapeDataString(target));
        }

        return Outcome(result, context.User.HasClaim(c => c.Type == StaffUser.TwoStepSetupClaim) ? "/account" : target);
    }

    private static async Task<IResult> SignInWithCodeAsync(
        [FromForm] string? code, [FromForm] string? returnUrl, HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        var target = LocalOrHome(returnUrl);
        if (context.Request.Cookies[PendingCookie] is not { Length: > 0 and <= 2048 } pending)
        {
            // Too late (or never signed in with a password): start again.
            return Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(target));
        }

        if (code is not { Length: > 0 and <= StaffTwoStep.MaxCodeLength })
        {
            return Results.Redirect("/login?step=code&error=1&returnUrl=" + Uri.EscapeDataString(target));
        }

        var result = await signIn.CompleteSecondStepAsync(context, pending, code, cancellationToken);
        if (result.Succeeded)
        {
            context.Response.Cookies.Delete(PendingCookie, new CookieOptions { Path = "/auth/sign-in/code" });
            return Results.Redirect(target);
        }

        return result.Outcome == SignInOutcome.Throttled
            ? Results.Redirect($"/login?step=code&wait={result.RetryAfterSeconds}&returnUrl={Uri.EscapeDataString(target)}")
            : Results.Redirect("/login?step=code&error=1&returnUrl=" + Uri.EscapeDataString(target));
    }

    private static IResult Outcome(Accounts.SignInResult result, string target) =>
        result.Outcome switch
        {
            SignInOutcome.SignedIn => Results.Redirect(target),
            SignInOutcome.Throttled => Results.Redirect($"/login?wait={result.RetryAfterSeconds}&returnUrl={Uri.EscapeDataString(target)}"),
            _ => Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(target)),
        };

    private static IResult SingleSignOnChallenge(string provider, string? returnUrl, IOptions<SingleSignOnOptions> options)
    {
        var target = LocalOrHome(returnUrl);
        return options.Value.Providers.ContainsKey(provider)
            ? Results.Challenge(new AuthenticationProperties { RedirectUri = target }, [SingleSignOnOptions.SchemeOf(provider)])
            : Results.Redirect(SingleSignOn.LoginWith(SingleSignOnFailure.UnknownProvider, target));
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        await signIn.SignOutAsync(context, cancellationToken);
        return Results.Redirect("/login");
    }

    private static string LocalOrHome(string? returnUrl) => SingleSignOn.LocalOrHome(returnUrl);
}
