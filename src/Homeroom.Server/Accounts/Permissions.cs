using System.Text.Json.Serialization;

namespace Homeroom.Server.Accounts;

/// <summary>What a staff member is for. Stored as the camel-case name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StaffRole>))]
public enum StaffRole
{
    [JsonStringEnumMemberName("districtAdmin")] DistrictAdmin,
    [JsonStringEnumMemberName("schoolAdmin")] SchoolAdmin,
    [JsonStringEnumMemberName("itTechnician")] ItTechnician,
    [JsonStringEnumMemberName("teacher")] Teacher,
    [JsonStringEnumMemberName("safetyLead")] SafetyLead,
    [JsonStringEnumMemberName("readOnly")] ReadOnly,
}

/// <summary>
/// One thing a staff member may do. Every API endpoint and console page requires one (or one of a
/// few) of these, together with the school of the resource it touches (<see cref="RequireStaffAttribute"/>).
/// </summary>
public enum Permission
{
    /// <summary>Their own account: who am I, password, API keys, sign-out.</summary>
    OwnAccount,

    /// <summary>Device lists, details, apps and each device's command history.</summary>
    ReadDevices,

    /// <summary>Rename, tag, assign, move, change state, revoke, approve a re-enrollment.</summary>
    ManageDevices,

    /// <summary>Send commands to devices, groups or a school.</summary>
    IssueCommands,

    /// <summary>Read commands and their deliveries.</summary>
    ReadCommands,

    /// <summary>Schools, groups and people (and class schedules).</summary>
    ReadRoster,

    /// <summary>Create, change and delete groups and people, and class schedules.</summary>
    ManageRoster,

    /// <summary>Create, change and delete schools (a district matter).</summary>
    ManageSchools,

    /// <summary>Staff accounts of their school.</summary>
    ReadAccounts,

    /// <summary>Create staff accounts and change their role, school and state.</summary>
    ManageAccounts,

    /// <summary>The audit log of their school.</summary>
    ReadAudit,

    /// <summary>What students did on their devices.</summary>
    ReadActivity,

    /// <summary>Where devices have been: tracks, alert tracks, locate results, last location.</summary>
    ReadLocations,

    /// <summary>Alerts (without locations unless <see cref="ReadLocations"/> too).</summary>
    ReadAlerts,

    /// <summary>Acknowledge alerts.</summary>
    ManageAlerts,

    /// <summary>Enrollment tokens (never their secrets).</summary>
    ReadEnrollment,

    /// <summary>Create and revoke enrollment tokens.</summary>
    ManageEnrollment,

    /// <summary>Profiles, assignments, effective policies, compliance, zones and filter lists.</summary>
    ReadPolicies,

    /// <summary>Profiles and assignments of their school (district ones for district administrators).</summary>
    ManagePolicies,

    /// <summary>Zones of their school (district zones for district administrators).</summary>
    ManageZones,

    /// <summary>Upload and delete filter lists (district-wide).</summary>
    ManageFilterLists,

    /// <summary>Apple settings and resources (wallpapers).</summary>
    ReadApple,

    /// <summary>Change Apple settings and resources (wallpapers, the push certificate): district-wide.</summary>
    ManageApple,

    /// <summary>The classroom of their classes: tiles, commands, sessions, screens.</summary>
    UseClassroom,

    /// <summary>Remove the demo district.</summary>
    ManageDemo,

    /// <summary>Notification settings of their school (who is told by e-mail and webhook).</summary>
    ManageNotifications,

    /// <summary>Safety alerts, their cases, evidence and trends (safety leads and district administrators only).</summary>
    ReadSafety,

    /// <summary>The safety case workflow (assign, status, notes, deletion on request) and the district's lexicon adjustments.</summary>
    ManageSafety,

    /// <summary>The lexicon tester: scan a text and see the explanation, without creating an alert.</summary>
    ScanSafetyText,

    /// <summary>Insights: aggregate reports on usage, blocked sites, fleet health and classroom use, without student names.</summary>
    ReadInsights,

    /// <summary>Who is behind an insight (the students who reached blocked sites); every such read is audited.</summary>
    ReadInsightNames,

    /// <summary>Reports e-mailed on a schedule (a district matter).</summary>
    ManageReportSchedules,

    /// <summary>Add, change and remove entries of the district's app catalog (assigning apps is <see cref="ManagePolicies"/>).</summary>
    ManageAppCatalog,

    /// <summary>OS update rollouts touching their school's devices, each ring's progress, a device's ring.</summary>
    ReadUpdates,

    /// <summary>Start, pause, resume and stop OS update rollouts (a district matter).</summary>
    ManageUpdates,

    /// <summary>The school's IT queue of help requests from students: list, assign to me, notes, resolve, screenshots (audited).</summary>
    ManageHelpRequests,

    /// <summary>Ask a device for a diagnostics report and read its reports (network addresses, log lines): IT work, so district and school administrators and IT technicians.</summary>
    RunDiagnostics,

    /// <summary>The district's sites every diagnostics report tests (a district matter: every device connects to them).</summary>
    ManageDiagnostics,

    /// <summary>Single sign-on mappings: which provider claims give which role and school, and whether accounts are created (a district matter).</summary>
    ManageSingleSignOn,

    /// <summary>Run approved scripts on desktops of their school and read the results (and the script library): IT work, like <see cref="RunDiagnostics"/>.</summary>
    RunScripts,

    /// <summary>Write, edit and approve the district's scripts (a district matter: an approved script runs as the device's administrator).</summary>
    ManageScripts,

    /// <summary>Upload desktop agent builds and choose the current one (a district matter: the agent runs as the device's administrator).</summary>
    ManageAgentUpdates,

    /// <summary>
    /// View or control a device's screen in a remote support session (audited; the student is asked or told, as the district
    /// decides): IT technicians and district administrators only, never teachers.
    /// </summary>
    RemoteSupport,

    /// <summary>
    /// A school's remote support settings (sessions allowed, consent or notice per role, clipboard): district administrators for
    /// any school, school administrators for their own, and those only as far as the district's defaults allow
    /// (<see cref="Homeroom.Server.RemoteSupport.RemoteSupportSettingsDirectory"/>). Never IT technicians, the staff the settings bind.
    /// </summary>
    ManageRemoteSupport,
}

/// <summary>
/// Which role may do what, in one table (least privilege): a teacher reaches only their classroom, a
/// safety lead activity, alerts and locations, an IT technician devices without anything personal,
/// read-only staff reads without anything personal. Where a school-limited account may use a
/// permission, it still reaches only its school (<see cref="StaffScope"/>).
/// </summary>
public static class Permissions
{
    private static readonly IReadOnlyDictionary<StaffRole, IReadOnlySet<Permission>> Table = new Dictionary<StaffRole, IReadOnlySet<Permission>>
    {
        [StaffRole.DistrictAdmin] = Enum.GetValues<Permission>().ToHashSet(),
        [StaffRole.SchoolAdmin] = new HashSet<Permission>
        {
            Permission.OwnAccount, Permission.ReadDevices, Permission.ManageDevices, Permission.IssueCommands, Permission.ReadCommands,
            Permission.ReadRoster, Permission.ManageRoster, Permission.ReadAccounts, Permission.ReadAudit,
            Permission.ReadActivity, Permission.ReadLocations, Permission.ReadAlerts, Permission.ManageAlerts,
            Permission.ReadEnrollment, Permission.ManageEnrollment, Permission.ReadPolicies, Permission.ManagePolicies, Permission.ManageZones,
            Permission.ReadApple, Permission.UseClassroom, Permission.ManageNotifications, Permission.ScanSafetyText,
            Permission.ReadInsights, Permission.ReadInsightNames,
            Permission.ReadUpdates,
            Permission.ManageHelpRequests, Permission.RunDiagnostics, Permission.RunScripts, Permission.ManageRemoteSupport,
        },
        [StaffRole.ItTechnician] = new HashSet<Permission>
        {
            Permission.OwnAccount, Permission.ReadDevices, Permission.ManageDevices, Permission.IssueCommands, Permission.ReadCommands,
            Permission.ReadRoster, Permission.ReadAlerts, Permission.ReadEnrollment, Permission.ManageEnrollment, Permission.ReadPolicies,
            Permission.ReadApple, Permission.ReadInsights,
            Permission.ManageHelpRequests, Permission.RunDiagnostics, Permission.RunScripts, Permission.RemoteSupport,
        },
        [StaffRole.Teacher] = new HashSet<Permission> { Permission.OwnAccount, Permission.UseClassroom },
        [StaffRole.SafetyLead] = new HashSet<Permission>
        {
            Permission.OwnAccount, Permission.ReadRoster, Permission.ReadActivity, Permission.ReadLocations, Permission.ReadAlerts, Permission.ManageAlerts,
            Permission.ReadSafety, Permission.ManageSafety, Permission.ScanSafetyText, Permission.ReadInsights, Permission.ReadInsightNames,
        },
        [StaffRole.ReadOnly] = new HashSet<Permission>
        {
            Permission.OwnAccount, Permission.ReadDevices, Permission.ReadCommands, Permission.ReadRoster, Permission.ReadPolicies,
            Permission.ReadInsights,
        },
    };

    /// <summary>Whether a role has a permission.</summary>
    public static bool Has(StaffRole role, Permission permission) => Table[role].Contains(permission);

    /// <summary>Every permission of a role.</summary>
    public static IReadOnlySet<Permission> Of(StaffRole role) => Table[role];
}
