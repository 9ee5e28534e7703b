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

    public static WebApplication MapConsole(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapConsoleAuthEndpoints();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
