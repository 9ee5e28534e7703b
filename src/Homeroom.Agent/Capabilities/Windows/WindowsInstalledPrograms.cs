using System.Runtime.Versioning;
using Homeroom.Contracts.Agents;
using Microsoft.Win32;

namespace Homeroom.Agent.Capabilities.Windows;

/// <summary>One program's key under an <c>Uninstall</c> key in the registry, with the values that decide whether it is listed.</summary>
/// <param name="KeyName">The key's own name: a product code such as <c>{GUID}</c>, or a name the installer chose.</param>
/// <param name="DisplayName">The name Installed apps shows; an entry without one is not listed.</param>
/// <param name="DisplayVersion">The version Installed apps shows.</param>
/// <param name="SystemComponent">1 when the installer hides it from Installed apps (a runtime or a part of another program).</param>
/// <param name="ParentKeyName">Set for an update of another program, which lists under its parent.</param>
/// <param name="ReleaseType">For example <c>Update</c> or <c>Hotfix</c>: patches, not programs.</param>
public sealed record UninstallEntry(string KeyName, string? DisplayName, string? DisplayVersion, int SystemComponent = 0, string? ParentKeyName = null, string? ReleaseType = null);

/// <summary>
/// Windows: the programs Settings lists under Installed apps, read from the <c>Uninstall</c> keys: the machine's (its
/// 64-bit and 32-bit views) and each signed-in user's (loaded under <c>HKEY_USERS</c>; the service runs as LocalSystem,
/// whose own current-user key holds none). Each program's id is its key's name, which is stable across versions of
/// most installers and unique on the device; the catalog's winget ids are matched by the package capability, not here.
/// </summary>
public sealed class WindowsInstalledPrograms : IApplicationsCapability
{
    private const string UninstallPath = @"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";

    /// <summary>Patches by their <c>ReleaseType</c>: listed by Windows under their program, not as programs.</summary>
    private static readonly HashSet<string> PatchTypes = new(StringComparer.OrdinalIgnoreCase) { "Update", "Hotfix", "Security Update", "Update Rollup", "ServicePack" };

    public IEnumerable<AgentCapability> Describe() =>
        [OperatingSystem.IsWindows() ? new(CapabilityNames.Applications, true) : new(CapabilityNames.Applications, false, "the registry's program list exists only on Windows")];

    public IReadOnlyList<InstalledApp> ListInstalled() => OperatingSystem.IsWindows() ? Select(ReadRegistry()) : [];

    /// <summary>
    /// The programs to list: named, not hidden as a system component, not an update of another program; once each
    /// (a program in both registry views or for two users is one program), by id, each text cut to the protocol's limit.
    /// </summary>
    internal static IReadOnlyList<InstalledApp> Select(IEnumerable<UninstallEntry> entries)
    {
        var programs = new SortedDictionary<string, InstalledApp>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            var name = entry.DisplayName?.Trim();
            if (string.IsNullOrEmpty(name) || string.IsNullOrWhiteSpace(entry.KeyName) || entry.SystemComponent == 1
                || !string.IsNullOrEmpty(entry.ParentKeyName) || (entry.ReleaseType is { } type && PatchTypes.Contains(type.Trim())))
            {
                continue;
            }

            var id = Short(entry.KeyName.Trim());
            programs.TryAdd(id, new InstalledApp(id, Short(name), entry.DisplayVersion?.Trim() is { Length: > 0 } version ? Short(version) : null));
        }

        return [.. programs.Values];
    }

    private static string Short(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];

    [SupportedOSPlatform("windows")]
    private static List<UninstallEntry> ReadRegistry()
    {
        var entries = new List<UninstallEntry>();
        foreach (var view in new[] { RegistryView.Registry64, RegistryView.Registry32 })
        {
            using var machine = RegistryKey.OpenBaseKey(RegistryHive.LocalMachine, view);
            ReadUninstallKey(machine, UninstallPath, entries);
        }

        using var users = RegistryKey.OpenBaseKey(RegistryHive.Users, RegistryView.Default);
        foreach (var sid in users.GetSubKeyNames())
        {
            if (!sid.EndsWith("_Classes", StringComparison.OrdinalIgnoreCase))
            {
                ReadUninstallKey(users, sid + @"\" + UninstallPath, entries);
            }
        }

        return entries;
    }

    [SupportedOSPlatform("windows")]
    private static void ReadUninstallKey(RegistryKey root, string path, List<UninstallEntry> entries)
    {
        try
        {
            using var uninstall = root.OpenSubKey(path);
            if (uninstall is null)
            {
                return;
            }

            foreach (var name in uninstall.GetSubKeyNames())
            {
                using var program = uninstall.OpenSubKey(name);
                if (program is null)
                {
                    continue;
                }

                entries.Add(new UninstallEntry(
                    name,
                    program.GetValue("DisplayName") as string,
                    program.GetValue("DisplayVersion") as string,
                    program.GetValue("SystemComponent") is int hidden ? hidden : 0,
                    program.GetValue("ParentKeyName") as string,
                    program.GetValue("ReleaseType") as string));
            }
        }
        catch (Exception e) when (e is System.Security.SecurityException or UnauthorizedAccessException or IOException)
        {
            // A user's hive unloaded meanwhile, or a key the service may not read: list what can be read.
        }
    }
}
