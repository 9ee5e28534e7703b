using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// The console's sign-in and sign-out forms. Plain form posts with Blazor's anti-forgery token,
/// the same rate limit, throttling, session and audit as the API's sign-in.
/// </summary>
public static class ConsoleAuthEndpoints
{
    public static IEndpointRouteBuilder MapConsoleAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth/sign-in", SignInAsync).AllowAnonymous().RequireRateLimiting(AccountEndpoints.SignInRateLimit).ExcludeFromDescription();
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

        var result = await signIn.SignInAsync(context, username, password, cancellationToken);
        return result.Outcome switch
        {
            SignInOutcome.SignedIn => Results.Redirect(target),
            SignInOutcome.Throttled => Results.Redirect($"/login?wait={result.RetryAfterSeconds}&returnUrl={Uri.EscapeDataString(target)}"),
            _ => Results.Redirect("/login?error=1&returnUrl=" + Uri.EscapeDataString(target)),
        };
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        await signIn.SignOutAsync(context, cancellationToken);
        return Results.Redirect("/login");
    }

    // Only a path on this site: never an open redirect.
    private static string LocalOrHome(string? returnUrl) =>
        returnUrl is { Length: > 0 and <= 500 } && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.Contains('\\') && !returnUrl.Contains("://", StringComparison.Ordinal)
            ? "/" + returnUrl.TrimStart('/')
            : "/";
}
