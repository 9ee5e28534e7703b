using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Registers the insights reports that read existing tables (fleet health, classroom use), classroom-use recording and the scheduled reports.</summary>
public static class InsightsReportsServiceCollectionExtensions
{
    public static IServiceCollection AddInsightsReports(this IServiceCollection services)
    {
        services.AddOptions<InsightsReportOptions>().BindConfiguration(InsightsReportOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InsightsReportOptions>, InsightsReportOptionsValidator>();
        services.AddSingleton<IValidateOptions<InsightsReportOptions>, InsightsReportOptionsRules>();
        services.AddSingleton<ClassUsageRecorder>();
        services.AddSingleton<FleetHealth>();
        services.AddSingleton<ClassroomUse>();
        services.AddSingleton<ReportSchedules>();
        services.AddSingleton<ReportScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ReportScheduler>());
        services.AddHostedService<ClassUsageRetention>();
        return services;
    }
}
