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

    // Sent to the code's and the security key's second step alike (/auth/sign-in/code, /auth/sign-in/key...).
    private const string PendingCookiePath = "/auth/sign-in";

    public static IEndpointRouteBuilder MapConsoleAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth/sign-in", SignInAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        app.MapPost("/auth/sign-in/code", SignInWithCodeAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        // The second step with a security key: the sign-in page's script asks for a challenge, the key signs it, the form posts the answer.
        app.MapPost("/auth/sign-in/key/options", SecurityKeyOptionsAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
        app.MapPost("/auth/sign-in/key", SignInWithKeyAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
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
                Path = PendingCookiePath,
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
            context.Response.Cookies.Delete(PendingCookie, new CookieOptions { Path = PendingCookiePath });
            return Results.Redirect(target);
        }

        return SecondStepRefused(result, target);
    }

    /// <summary>
    /// The challenge for the security key step, as the options for <c>navigator.credentials.get</c>: 200 with the
    /// options, or a problem (401) when the password step is too old, the account has no key, or it must wait.
    /// </summary>
    private static async Task<IResult> SecurityKeyOptionsAsync(HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        var options = context.Request.Cookies[PendingCookie] is { Length: > 0 and <= 2048 } pending
            ? await signIn.SecurityKeyOptionsAsync(context, pending, RequestOrigin(context), cancellationToken)
            : null;
        return options is null
            ? Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "No security key step",
                detail: "Sign in with your password again: the second step has expired, or this account has no security key.")
            : Results.Text(options, "application/json");
    }

    private static async Task<IResult> SignInWithKeyAsync(
        [FromForm] string? assertion, [FromForm] string? returnUrl, HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        var target = LocalOrHome(returnUrl);
        if (context.Request.Cookies[PendingCookie] is not { Length: > 0 and <= 2048 } pending)
        {
            return Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(target));
        }

        var result = await signIn.CompleteSecurityKeyStepAsync(context, pending, assertion ?? "", RequestOrigin(context), cancellationToken);
        if (result.Succeeded)
        {
            context.Response.Cookies.Delete(PendingCookie, new CookieOptions { Path = PendingCookiePath });
            return Results.Redirect(target);
        }

        return SecondStepRefused(result, target, "key");
    }

    /// <summary>The origin the browser used (behind a trusted proxy, the forwarded scheme and host); <see cref="AccountOptions.PublicOrigin"/> overrides it.</summary>
    private static string RequestOrigin(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}";

    private static IResult SecondStepRefused(Accounts.SignInResult result, string target, string error = "1")
    {
        return result.Outcome == SignInOutcome.Throttled
            ? Results.Redirect($"/login?step=code&wait={result.RetryAfterSeconds}&returnUrl={Uri.EscapeDataString(target)}")
            : Results.Redirect($"/login?step=code&error={error}&returnUrl={Uri.EscapeDataString(target)}");
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
