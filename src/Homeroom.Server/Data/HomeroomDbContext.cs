using System.Text;
using Homeroom.Server.Accounts;
using Homeroom.Server.Apple;
using Homeroom.Server.Activity;
using Homeroom.Server.Audit;
using Homeroom.Server.Classroom;
using Homeroom.Server.Commands;
using Homeroom.Server.Devices;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Homeroom.Server.Data;

/// <summary>
/// The one EF Core context. The schema itself is owned by the SQL scripts in Data/Migrations
/// (see <see cref="MigrationRunner"/>); this model maps onto it, and a test checks the two agree.
/// </summary>
public sealed class HomeroomDbContext(DbContextOptions<HomeroomDbContext> options) : DbContext(options)
{
    public DbSet<District> Districts => Set<District>();
    public DbSet<School> Schools => Set<School>();
    public DbSet<Group> Groups => Set<Group>();
    public DbSet<Person> People => Set<Person>();
    public DbSet<GroupMember> GroupMembers => Set<GroupMember>();
    public DbSet<GroupDevice> GroupDevices => Set<GroupDevice>();
    public DbSet<Device> Devices => Set<Device>();
    public DbSet<DeviceApp> DeviceApps => Set<DeviceApp>();
    public DbSet<DeviceRepair> DeviceRepairs => Set<DeviceRepair>();
    public DbSet<EnrollmentToken> EnrollmentTokens => Set<EnrollmentToken>();
    public DbSet<StaffAccount> StaffAccounts => Set<StaffAccount>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Command> Commands => Set<Command>();
    public DbSet<CommandDelivery> CommandDeliveries => Set<CommandDelivery>();
    public DbSet<ActivityRecord> ActivityEvents => Set<ActivityRecord>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<Profile> Profiles => Set<Profile>();
    public DbSet<PolicyAssignmentRecord> PolicyAssignments => Set<PolicyAssignmentRecord>();
    public DbSet<DevicePolicy> DevicePolicies => Set<DevicePolicy>();
    public DbSet<FilterListRecord> FilterLists => Set<FilterListRecord>();
    public DbSet<Zone> Zones => Set<Zone>();
    public DbSet<DeviceLocation> DeviceLocations => Set<DeviceLocation>();
    public DbSet<Alert> Alerts => Set<Alert>();
    public DbSet<AppleDevice> AppleDevices => Set<AppleDevice>();
    public DbSet<AppleWallpaper> AppleWallpapers => Set<AppleWallpaper>();
    public DbSet<ClassScheduleRecord> ClassSchedules => Set<ClassScheduleRecord>();
    public DbSet<ClassSessionRecord> ClassSessions => Set<ClassSessionRecord>();
    public DbSet<Insights.ClassUsageDay> ClassUsageDays => Set<Insights.ClassUsageDay>();
    public DbSet<Insights.ReportSchedule> ReportSchedules => Set<Insights.ReportSchedule>();
    public DbSet<Updates.UpdateRollout> UpdateRollouts => Set<Updates.UpdateRollout>();
    public DbSet<Updates.UpdateRing> UpdateRings => Set<Updates.UpdateRing>();
    public DbSet<Updates.DeviceOsUpdate> DeviceOsUpdates => Set<Updates.DeviceOsUpdate>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite hands DateTime back without a kind; every stored time is UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(HomeroomDbContext).Assembly);
        ApplySnakeCaseNames(modelBuilder);
    }

    private static void ApplySnakeCaseNames(ModelBuilder modelBuilder)
    {
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(ToSnakeCase(property.Name));
            }
        }
    }

    internal static string ToSnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}

/// <summary>Stores an enum as its lower-case name, readable in SQL and stable across reordering.</summary>
public sealed class LowerCaseEnumConverter<TEnum>() : ValueConverter<TEnum, string>(
    v => v.ToString().ToLowerInvariant(),
    v => Enum.Parse<TEnum>(v, true))
    where TEnum : struct, Enum;
