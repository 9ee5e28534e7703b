using System.Threading.RateLimiting;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Enrollment;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Agents;

/// <summary>The two doors agents use: HTTP enrollment and the protocol WebSocket.</summary>
public static class AgentEndpoints
{
    public const string EnrollRateLimit = "agent-enroll";

    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost(AgentProtocol.EnrollPath, EnrollAsync)
            .AllowAnonymous()
            .RequireRateLimiting(EnrollRateLimit)
            .WithTags("Agents")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status429TooManyRequests);

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

    public static RateLimitPartition<string> EnrollPartition(HttpContext context, AgentOptions options) =>
        RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = options.EnrollmentsPerMinutePerAddress, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
}
