using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Cross-site request forgery protection for the signed-in console: a state-changing API request
/// that relies on the session cookie (and sign-in itself) must carry the <c>X-Homeroom-Request</c>
/// header. A page on another site cannot add a custom header to a request here without a CORS
/// preflight, which Homeroom never grants; together with the SameSite=Strict cookie this keeps other
/// sites from acting as a signed-in teacher. Requests with an API key are not affected.
/// </summary>
public static class AntiforgeryHeader
{
    public const string Name = "X-Homeroom-Request";

    public static IApplicationBuilder UseAntiforgeryHeader(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var unsafeMethod = !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
        var usesCookie = request.Cookies.ContainsKey("homeroom.session") || request.Path.Equals("/api/auth/login", StringComparison.OrdinalIgnoreCase);
        if (unsafeMethod
            && request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            && usesCookie
            && !request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && !request.Headers.ContainsKey(Name))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsJsonAsync(
                new ProblemDetails { Status = 403, Title = "Missing anti-forgery header", Detail = $"Requests from the console must send the {Name} header." },
                options: null, contentType: "application/problem+json");
            return;
        }

        await next();
    });
}
