using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;

namespace Homeroom.Server.WebConsole;

/// <summary>The web console: Blazor components rendered on the server, interactive over one live connection per browser tab.</summary>
public static class ConsoleSetup
{
    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        // Each live connection checks its session again while it lives, and closes when it ends.
        services.AddScoped<AuthenticationStateProvider, ConsoleAuthenticationStateProvider>();
        services.AddScoped<SignInNavigation>();
        services.AddScoped<CircuitHandler, ConsoleSessionGuard>();
        services.AddHttpContextAccessor();
        services.AddScoped<ConsoleUser>();
        return services;
    }

    private static readonly string[] MachinePaths = ["/api", "/agent", "/mdm", "/openapi", "/healthz", "/readyz", "/metrics", "/auth", "/_framework", "/_blazor", "/_content", "/lib", "/js"];

    /// <summary>A browser's request for a console page (GET, HTML), not one of the API, agents, MDM or static files.</summary>
    public static bool IsConsolePageRequest(HttpRequest request) =>
        HttpMethods.IsGet(request.Method)
        && request.Headers.Accept.Any(accept => accept?.Contains("text/html", StringComparison.OrdinalIgnoreCase) == true)
        && !MachinePaths.Any(path => request.Path.StartsWithSegments(path, StringComparison.OrdinalIgnoreCase));

    public static WebApplication MapConsole(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapConsoleAuthEndpoints();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
