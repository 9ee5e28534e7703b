using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;

namespace Homeroom.Server;

/// <summary>Builds the Homeroom web application; used by Program and by the integration tests (real Kestrel on loopback).</summary>
public static class HomeroomApp
{
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    public static async Task<WebApplication> CreateAsync(string[] args, Action<WebApplicationBuilder>? configure = null, CancellationToken cancellationToken = default)
    {
        // The application name is the server's own, also when a test host starts it, so the console's
        // framework assets are found.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(HomeroomApp).Assembly.GetName().Name });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = builder.Configuration.GetValue("Homeroom:Api:MaxRequestBodyBytes", DefaultMaxRequestBodyBytes);
            k.AddServerHeader = false;
        });
        // The console's framework script comes from the build's static web assets in any environment
        // (a published build carries them in wwwroot instead).
        builder.WebHost.UseStaticWebAssets();
        builder.Services.AddHomeroom(builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        await app.Services.InitializeDatabaseAsync(cancellationToken);
        await app.Services.GetRequiredService<ClusterSecrets>().InitializeAsync(cancellationToken);
        await app.Services.GetRequiredService<AdminBootstrapper>().RunAsync(cancellationToken);
        app.UseHomeroom();
        return app;
    }
}
