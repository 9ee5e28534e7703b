namespace Homeroom.Server.WebConsole;

/// <summary>The web console: Blazor components rendered on the server, interactive over one live connection per browser tab.</summary>
public static class ConsoleSetup
{
    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
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
