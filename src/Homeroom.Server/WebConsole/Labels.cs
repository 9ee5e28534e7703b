using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Devices;
using Homeroom.Server.Roster;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// The words the console shows for the server's code names: "iPad", not "IPadOS"; "District admin",
/// not "DistrictAdmin"; "Pre-K", not "-1". Every page uses these, so a label reads the same everywhere.
/// </summary>
public static class Labels
{
    public static string Of(DevicePlatform platform) => platform switch
    {
        DevicePlatform.ChromeOS => "Chromebook",
        DevicePlatform.IPadOS => "iPad",
        DevicePlatform.IOS => "iPhone",
        DevicePlatform.MacOS => "Mac",
        DevicePlatform.Windows => "Windows",
        DevicePlatform.Android => "Android",
        DevicePlatform.Linux => "Linux",
        _ => platform.ToString(),
    };

    public static string Of(Homeroom.Rules.Updates.RingPhase phase) => phase switch
    {
        Homeroom.Rules.Updates.RingPhase.Waiting => "waiting",
        Homeroom.Rules.Updates.RingPhase.InProgress => "in progress",
        Homeroom.Rules.Updates.RingPhase.Soaking => "soaking",
        Homeroom.Rules.Updates.RingPhase.Passed => "passed",
        _ => phase.ToString(),
    };

    public static string Of(DeviceState state) => state switch
    {
        DeviceState.Active => "Active",
        DeviceState.Spare => "Spare",
        DeviceState.InRepair => "In repair",
        DeviceState.Lost => "Lost",
        DeviceState.Retired => "Retired",
        _ => state.ToString(),
    };

    public static string Of(StaffRole role) => role switch
    {
        StaffRole.DistrictAdmin => "District admin",
        StaffRole.SchoolAdmin => "School admin",
        StaffRole.ItTechnician => "IT technician",
        StaffRole.Teacher => "Teacher",
        StaffRole.SafetyLead => "Safety lead",
        StaffRole.ReadOnly => "Read-only",
        _ => role.ToString(),
    };

    public static string Of(GroupKind kind) => kind switch
    {
        GroupKind.Grade => "Grade",
        GroupKind.Class => "Class",
        GroupKind.Cart => "Cart",
        GroupKind.SparePool => "Spare pool",
        GroupKind.Custom => "Group",
        _ => kind.ToString(),
    };

    public static string Of(PersonKind kind) => kind == PersonKind.Student ? "Student" : "Staff";

    /// <summary>A grade level as schools say it: -1 is pre-K, 0 kindergarten, 1–12 as numbers.</summary>
    public static string Grade(int? level) => level switch
    {
        null => "",
        -1 => "Pre-K",
        0 => "K",
        _ => level.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
