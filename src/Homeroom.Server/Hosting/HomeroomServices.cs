using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Agents;
using Homeroom.Server.Apple;
using Homeroom.Server.Audit;
using Homeroom.Server.Classroom;
using Homeroom.Server.Commands;
using Homeroom.Server.WebConsole;
using Homeroom.Server.Data;
using Homeroom.Server.Demo;
using Homeroom.Server.Devices;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting;

/// <summary>Registers every feature. Each feature's own <c>AddXxx</c> lives next to its code.</summary>
public static class HomeroomServices
{
    public const string AuthScheme = "Homeroom";

    public static IServiceCollection AddHomeroom(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddHttpContextAccessor();
        services.AddProblemDetails();
        services.AddExceptionHandler<DomainExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
            o.SerializerOptions.MaxDepth = 32;
        });
        services.AddOpenApi();
        services.AddConsole();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");

        var dataDirectory = configuration["Homeroom:DataDirectory"] ?? "./data";
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "keys"))).SetApplicationName("Homeroom");

        services.AddAuthentication(AuthScheme)
            .AddPolicyScheme(AuthScheme, "API key or session cookie", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
            {
                o.Cookie.Name = "homeroom.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.LoginPath = "/login";
                o.Events.OnRedirectToLogin = c =>
                {
                    // The API answers 401; a console page sends the browser to sign in.
                    if (c.Request.Path.StartsWithSegments("/api") || c.Request.Path.StartsWithSegments("/agent") || c.Request.Path.StartsWithSegments("/mdm"))
                    {
                        c.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    }
                    else
                    {
                        c.Response.Redirect(c.RedirectUri);
                    }

                    return Task.CompletedTask;
                };
                o.Events.OnRedirectToAccessDenied = c =>
                {
                    c.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(AuthScheme).RequireAuthenticatedUser().Build());

        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(AgentEndpoints.EnrollRateLimit, context =>
                AgentEndpoints.EnrollPartition(context, context.RequestServices.GetRequiredService<IOptions<AgentOptions>>().Value));
            o.AddPolicy(AccountEndpoints.SignInRateLimit, context => System.Threading.RateLimiting.RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new System.Threading.RateLimiting.FixedWindowRateLimiterOptions { PermitLimit = 20, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });

        services.AddHomeroomData(configuration);
        services.AddSingleton<BulkSql>();
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContext());

        services.AddAccounts();
        services.AddAudit();
        services.AddDevices();
        services.AddEnrollment();
        services.AddAgents();
        services.AddCommands();
        services.AddActivity();
        services.AddFiltering();
        services.AddPolicies();
        services.AddLocations();
        services.AddApple();
        services.AddSingleton<ScreenViews>();
        services.AddSingleton<Classroom.Classroom>();
        services.AddHostedService(sp => sp.GetRequiredService<ScreenViews>());
        services.AddDemo();
        return services;
    }

    public static IServiceCollection AddDemo(this IServiceCollection services)
    {
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DemoDistrict>();
        services.AddSingleton<DemoFleetService>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoFleetService>());
        return services;
    }

    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section)
            .Validate(o => o.LockoutThreshold is >= 3 and <= 100 && o.LockoutDuration >= TimeSpan.FromMinutes(1), "Lockout settings are out of range.")
            .ValidateOnStart();
        services.AddSingleton<StaffSignIn>();
        return services.AddSingleton<AdminBootstrapper>();
    }

    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section);
        services.AddSingleton<AuditTrail>();
        services.AddHostedService<AuditRetention>();
        return services;
    }

    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.Section)
            .Validate(o => o.FlushInterval >= TimeSpan.FromMilliseconds(100) && o.FlushInterval <= TimeSpan.FromMinutes(10), "Presence flush interval must be 100 ms to 10 minutes.")
            .ValidateOnStart();
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<DeviceLiveState>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        services.AddSingleton<InventoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<InventoryWriter>());
        services.AddSingleton<RevokeDevice>();
        return services;
    }

    public static IServiceCollection AddEnrollment(this IServiceCollection services) => services.AddSingleton<EnrollDevice>();

    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<AgentGateway>();
        return services;
    }

    public static IServiceCollection AddCommands(this IServiceCollection services)
    {
        services.AddOptions<CommandOptions>().BindConfiguration(CommandOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.DefaultTimeToLive > TimeSpan.Zero && o.DefaultTimeToLive <= o.MaxTimeToLive, "Default time to live must be positive and at most the maximum.")
            .Validate(o => o.Retention >= TimeSpan.FromHours(1), "Command retention must be at least an hour.")
            .Validate(o => o.MaintenanceInterval >= TimeSpan.FromSeconds(1), "Maintenance interval must be at least a second.")
            .ValidateOnStart();
        services.AddSingleton<CommandProgress>();
        services.AddSingleton<CommandStatusWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandStatusWriter>());
        services.AddSingleton<CommandDispatcher>();
        services.AddSingleton<IssueCommand>();
        services.AddSingleton<CommandMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandMaintenance>());
        return services;
    }

    public static IServiceCollection AddActivity(this IServiceCollection services)
    {
        services.AddOptions<ActivityOptions>().BindConfiguration(ActivityOptions.Section)
            .Validate(o => o.Retention >= TimeSpan.FromDays(1), "Activity retention must be at least a day.").ValidateOnStart();
        services.AddSingleton<ActivityWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityWriter>());
        services.AddSingleton<ActivityRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityRetention>());
        return services;
    }

    public static IServiceCollection AddFiltering(this IServiceCollection services)
    {
        services.AddSingleton<FilterListStore>();
        services.AddHostedService<FilterListLoader>();
        return services;
    }

    public static IServiceCollection AddPolicies(this IServiceCollection services)
    {
        services.AddSingleton<PolicyDistributor>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicyDistributor>());
        return services;
    }

    public static IServiceCollection AddLocations(this IServiceCollection services)
    {
        services.AddOptions<LocationOptions>().BindConfiguration(LocationOptions.Section)
            .Validate(o => o.MaxAccuracyMeters > 0 && o.ConsecutiveFixes is >= 1 and <= 20 && o.MinDwell >= TimeSpan.Zero, "Location hysteresis settings are out of range.")
            .Validate(o => o.Retention >= TimeSpan.FromDays(1) && o.AlertRetention >= TimeSpan.FromDays(1), "Location and alert retention must be at least a day.")
            .ValidateOnStart();
        services.AddSingleton<ZoneMembership>();
        services.AddHostedService<ZoneLoader>();
        services.AddSingleton<BoundsRules>();
        services.AddSingleton<LocationTrackWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationTrackWriter>());
        services.AddSingleton<AlertService>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertService>());
        services.AddSingleton<LocationTracker>();
        services.AddSingleton<LocationRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationRetention>());
        return services;
    }

    public static IServiceCollection AddApple(this IServiceCollection services)
    {
        services.AddOptions<AppleOptions>().BindConfiguration(AppleOptions.Section)
            .Validate(o => o.MaxBodyBytes is >= 16 * 1024 and <= 16 * 1024 * 1024 && o.NotNowRetry >= TimeSpan.FromSeconds(1), "Apple MDM limits are out of range.")
            .ValidateOnStart();
        services.AddOptions<ApnsOptions>().BindConfiguration(ApnsOptions.Section);
        services.AddSingleton<ApnsClient>();
        services.AddSingleton<ICommandWaker, MdmWaker>();
        services.AddSingleton<DeviceCertificateAuthority>();
        services.AddSingleton<MdmIdentity>();
        services.AddSingleton<MdmQueue>();
        services.AddSingleton<MdmReplayGuard>();
        return services;
    }

    public static WebApplication UseHomeroom(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWebSockets();
        app.UseAntiforgeryHeader();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UsePermissions();
        app.UseRateLimiter();
        app.UseAntiforgery();

        app.MapOpenApi().AllowAnonymous();
        app.MapHealthChecks("/healthz", new HealthCheckOptions()).AllowAnonymous();
        app.MapAgentEndpoints();
        app.MapAccountEndpoints();
        app.MapStaffAccountEndpoints();
        app.MapRosterEndpoints();
        app.MapDeviceEndpoints();
        app.MapEnrollmentTokenEndpoints();
        app.MapCommandEndpoints();
        app.MapAuditEndpoints();
        app.MapActivityEndpoints();
        app.MapFilterListEndpoints();
        app.MapProfileEndpoints();
        app.MapAssignmentEndpoints();
        app.MapPolicyEndpoints();
        app.MapZoneEndpoints();
        app.MapAlertEndpoints();
        app.MapMdmEndpoints();
        app.MapEnrollmentProfile();
        app.MapWallpaperEndpoints();
        app.MapClassSessionEndpoints();
        app.MapScreenViewEndpoints();
        app.MapClassroomEndpoints();
        app.MapDemoEndpoints();
        app.MapConsole();

        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        app.Lifetime.ApplicationStopping.Register(() =>
            registry.DisconnectAll(Contracts.Agents.AgentCloseCodes.ServerShuttingDown, "server stopping"));
        return app;
    }
}

/// <summary>Healthy when a database round trip works.</summary>
public sealed class DatabaseHealthCheck(IDbContextFactory<HomeroomDbContext> dbFactory) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            return await db.Database.CanConnectAsync(cancellationToken) && await db.Schools.CountAsync(cancellationToken) >= 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("The database cannot be reached.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The database query failed.");
        }
    }
}
