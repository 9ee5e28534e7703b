using System.Threading.RateLimiting;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Enrollment;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Agents;

/// <summary>The doors agents use: HTTP enrollment, a desktop's companion credential and the protocol WebSocket.</summary>
public static class AgentEndpoints
{
    public const string EnrollRateLimit = "agent-enroll";

    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost(AgentProtocol.EnrollPath, EnrollAsync)
            .AllowAnonymous()
            .RequireRateLimiting(EnrollRateLimit)
            .WithTags("Agents")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapPost(AgentProtocol.CompanionPath, IssueCompanionAsync)
            .AllowAnonymous()
            .RequireRateLimiting(EnrollRateLimit)
            .WithTags("Agents")
            .WithDescription("A desktop agent's companion credential for the Homeroom browser extension on the same computer (docs/agent-protocol.md, Companion credential); authenticated as the device (Authorization: Device <id>:<credential>).")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status429TooManyRequests);
        app.MapDelete(AgentProtocol.CompanionPath, RevokeCompanionAsync)
            .AllowAnonymous()
            .RequireRateLimiting(EnrollRateLimit)
            .WithTags("Agents")
            .WithDescription("Withdraws the device's companion credential and revokes the browser extensions enrolled with it (the agent asks when its policy no longer gives the browsers the extension).")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);

        app.Map(AgentProtocol.WebSocketPath, async (HttpContext context, AgentGateway gateway) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "WebSocket required",
                    detail: $"Connect with a WebSocket and send an auth frame first; see docs/agent-protocol.md.");
            }

            await gateway.RunAsync(context);
            return Results.Empty;
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task<Ok<EnrollResponse>> EnrollAsync(EnrollRequest request, EnrollDevice enroll, HttpContext context, CancellationToken cancellationToken) =>
        TypedResults.Ok(await enroll.ExecuteAsync(request, context.Connection.RemoteIpAddress?.ToString(), cancellationToken));

    private static async Task<Results<Ok<CompanionCredentialResponse>, UnauthorizedHttpResult>> IssueCompanionAsync(
        HttpContext context, HomeroomDbContext db, CompanionBrowsers companions, CancellationToken cancellationToken) =>
        await DeviceCredentials.AuthenticateAsync(context, db, cancellationToken) is { } deviceId
            ? TypedResults.Ok(await companions.IssueAsync(deviceId, cancellationToken))
            : TypedResults.Unauthorized();

    private static async Task<Results<NoContent, UnauthorizedHttpResult>> RevokeCompanionAsync(
        HttpContext context, HomeroomDbContext db, CompanionBrowsers companions, CancellationToken cancellationToken)
    {
        if (await DeviceCredentials.AuthenticateAsync(context, db, cancellationToken) is not { } deviceId)
        {
            return TypedResults.Unauthorized();
        }

        await companions.RevokeAsync(deviceId, "the desktop agent's browser policy no longer gives the extension", cancellationToken);
        return TypedResults.NoContent();
    }

    public static RateLimitPartition<string> EnrollPartition(HttpContext context, AgentOptions options) =>
        RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = options.EnrollmentsPerMinutePerAddress, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
}
