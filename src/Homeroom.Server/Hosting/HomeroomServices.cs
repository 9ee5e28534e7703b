using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Agents;
using Homeroom.Server.Apple;
using Homeroom.Server.AppleSchoolManager;
using Homeroom.Server.Apps;
using Homeroom.Server.Audit;
using Homeroom.Server.Classroom;
using Homeroom.Server.Commands;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.WebConsole;
using Homeroom.Server.Data;
using Homeroom.Server.Demo;
using Homeroom.Server.Devices;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Filtering;
using Homeroom.Server.Insights;
using Homeroom.Server.Locations;
using Homeroom.Server.RemoteSupport;
using Homeroom.Server.Notifications;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Homeroom.Server.Roster.OneRoster;
using Homeroom.Server.Roster.Rollover;
using Homeroom.Server.Safety;
using Homeroom.Server.Support;
using Homeroom.Server.Diagnostics;
using Homeroom.Server.Scripts;
using Homeroom.Server.SelfUpdates;
using Homeroom.Server.Updates;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Homeroom.Server.Hosting;

/// <summary>Registers every feature. Each feature's own <c>AddXxx</c> lives next to its code.</summary>
public static class HomeroomServices
{
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
        services.AddHomeroomOpenApi();
        services.AddConsole();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        services.AddReadiness();
        services.AddServerMetrics(configuration);
        services.AddJobLeases();

        services.AddRateLimiter(o => o.RejectionStatusCode = StatusCodes.Status429TooManyRequests);
        services.AddReverseProxy();

        services.AddHomeroomData(configuration);
        services.AddHomeroomSecrets();
        services.AddSingleton<BulkSql>();
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContext());

        services.AddAccounts(configuration);
        services.AddRoster();
        services.AddOneRoster();
        services.AddRollover();
        services.AddAudit();
        services.AddDevices();
        services.AddEnrollment();
        services.AddAgents();
        services.AddCommands();
        services.AddBackplane();
        services.AddActivity();
        services.AddInsights();
        services.AddFiltering();
        services.AddPolicies();
        services.AddApps();
        services.AddLocations();
        services.AddNotifications();
        services.AddSafety();
        services.AddSupport();
        services.AddDiagnostics();
        services.AddScripts();
        services.AddAgentUpdates();
        services.AddRemoteSupport();
        services.AddApple();
        services.AddAppleSchoolManager();
        services.AddClassroom();
        services.AddInsightsReports();
        services.AddUpdates();
        services.AddDemo();
        return services;
    }

    public static WebApplication UseHomeroom(this WebApplication app)
    {
        app.UseReverseProxy();
        app.UseSecurityHeaders();
        app.UseServerMetrics();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // A browser asking for a console address that does not exist gets the console's own page;
        // the API, agents and scripts keep their ProblemDetails. (Inside the one above, so it answers first.)
        app.UseWhen(context => ConsoleSetup.IsConsolePageRequest(context.Request),
            console => console.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));
        // Routing after the status-code pages, so a re-executed request finds its own endpoint.
        app.UseRouting();
        app.UseWebSockets();
        app.UseAntiforgeryHeader();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.UseAntiforgery();

        app.MapOpenApi().AllowAnonymous();
        app.MapHealthChecks("/healthz", new HealthCheckOptions()).AllowAnonymous();
        app.MapReadiness();
        app.MapServerMetrics();
        app.MapAgentEndpoints();
        app.MapAccountEndpoints();
        app.MapStaffAccountEndpoints();
        app.MapSingleSignOnEndpoints();
        app.MapRosterEndpoints();
        app.MapOneRosterEndpoints();
        app.MapRolloverEndpoints();
        app.MapDeviceEndpoints();
        app.MapEnrollmentTokenEndpoints();
        app.MapCommandEndpoints();
        app.MapAuditEndpoints();
        app.MapActivityEndpoints();
        app.MapInsightsEndpoints();
        app.MapFilterListEndpoints();
        app.MapProfileEndpoints();
        app.MapAssignmentEndpoints();
        app.MapAppEndpoints();
        app.MapPolicyEndpoints();
        app.MapZoneEndpoints();
        app.MapAlertEndpoints();
        app.MapNotificationEndpoints();
        app.MapSafetyEndpoints();
        app.MapSupportEndpoints();
        app.MapDiagnosticsEndpoints();
        app.MapScriptEndpoints();
        app.MapAgentUpdateEndpoints();
        app.MapRemoteSupportEndpoints();
        app.MapMdmEndpoints();
        app.MapEnrollmentProfile();
        app.MapWallpaperEndpoints();
        app.MapPushCertificateEndpoints();
        app.MapAppleSchoolManagerEndpoints();
        app.MapAdeEnrollment();
        app.MapAppleStatusEndpoints();
        app.MapClassSessionEndpoints();
        app.MapScreenViewEndpoints();
        app.MapClassroomEndpoints();
        app.MapInsightsReportEndpoints();
        app.MapUpdateEndpoints();
        app.MapDemoEndpoints();
        app.MapConsole();
        StaffAuthorization.VerifyEveryEndpointHasARule(app);

        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        var drain = app.Services.GetRequiredService<ShutdownDrain>();
        // /readyz answers 503 from the first moment; the balancer takes the node out before its agents are sent away.
        app.Lifetime.ApplicationStopping.Register(() =>
            drain.Drain(() => registry.DisconnectAll(Contracts.Agents.AgentCloseCodes.ServerShuttingDown, "server stopping")));
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
