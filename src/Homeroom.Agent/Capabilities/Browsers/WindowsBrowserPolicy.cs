using System.Runtime.Versioning;
using System.Text.Json;
using Microsoft.Win32;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>One value under an extension's <c>3rdparty\extensions\&lt;id&gt;\policy</c> key: a DWORD or a string.</summary>
public sealed record RegistryPolicyValue(string Name, bool IsDword, string? Text, int Number);

/// <summary>
/// Windows: the same policy as on Linux, in the registry Chrome and Edge read their machine policy from
/// (<c>HKLM\SOFTWARE\Policies\Google\Chrome</c>, <c>HKLM\SOFTWARE\Policies\Microsoft\Edge</c>): Homeroom's entry in
/// <c>ExtensionInstallForcelist</c> (values named 1, 2, …, each <c>id;updateUrl</c>; entries others put there are kept
/// and the list stays numbered without gaps, which Chrome needs) and the managed configuration under
/// <c>3rdparty\extensions\&lt;id&gt;\policy</c> (strings as REG_SZ, true/false and whole numbers as REG_DWORD, lists and
/// objects as JSON text, which Chrome converts by the extension's schema). The id Homeroom wrote is kept in
/// <c>HKLM\SOFTWARE\Homeroom\Agent</c> so it can be taken out again. Firefox is not given policy on Windows.
/// <b>Compiled here, never run on Windows</b>; the list and value logic is unit-tested.
/// </summary>
public sealed class WindowsBrowserPolicy : BrowserPolicyBase
{
    /// <summary>Each browser's machine policy key under HKLM.</summary>
    public static readonly IReadOnlyList<(string Browser, string Key)> Browsers =
    [
        ("Google Chrome", @"SOFTWARE\Policies\Google\Chrome"),
        ("Microsoft Edge", @"SOFTWARE\Policies\Microsoft\Edge"),
    ];

    private const string RecordKey = @"SOFTWARE\Homeroom\Agent";
    private const string RecordValue = "BrowserPolicyExtensionId";

    protected override string? Unavailable() =>
        !OperatingSystem.IsWindows() ? "the registry's browser policy exists only on Windows"
        : !Environment.IsPrivilegedProcess ? "writing browser policy in HKEY_LOCAL_MACHINE needs administrator rights; the agent is not running as LocalSystem or an administrator"
        : null;

    /// <summary>
    /// The force-install list to write: <paramref name="existing"/> without the entries of Homeroom's extensions
    /// (<paramref name="homeroomIds"/>: the one written before and the one asked for now), then <paramref name="entry"/>.
    /// </summary>
    public static IReadOnlyList<string> Forcelist(IReadOnlyList<string> existing, IReadOnlyCollection<string?> homeroomIds, string? entry)
    {
        var kept = existing.Where(e => !homeroomIds.Any(id => id is not null && (e == id || e.StartsWith(id + ";", StringComparison.Ordinal)))).ToList();
        if (entry is not null)
        {
            kept.Add(entry);
        }

        return kept;
    }

    /// <summary>The managed configuration as registry values, in the order given.</summary>
    public static IReadOnlyList<RegistryPolicyValue> ThirdPartyValues(JsonElement? configuration) =>
        BrowserPolicyContent.ManagedValues(configuration).Select(pair => pair.Value.ValueKind switch
        {
            JsonValueKind.String => new RegistryPolicyValue(pair.Key, false, pair.Value.GetString(), 0),
            JsonValueKind.True => new RegistryPolicyValue(pair.Key, true, null, 1),
            JsonValueKind.False => new RegistryPolicyValue(pair.Key, true, null, 0),
            JsonValueKind.Number when pair.Value.TryGetInt32(out var number) => new RegistryPolicyValue(pair.Key, true, null, number),
            _ => new RegistryPolicyValue(pair.Key, false, pair.Value.GetRawText(), 0),
        }).ToList();

    protected override BrowserPolicyOutcome Write(BrowserPolicyRequest? request) =>
        OperatingSystem.IsWindows() ? WriteRegistry(request) : new BrowserPolicyOutcome(false, ["desktopBrowsers: the registry exists only on Windows"], []);

    [SupportedOSPlatform("windows")]
    private static BrowserPolicyOutcome WriteRegistry(BrowserPolicyRequest? request)
    {
        var failures = new List<string>();
        var changed = new List<string>();
        var written = request?.ExtensionId is not null;
        try
        {
            using var machine = RegistryKey.OpenBaseKey(RegistryHive.LocalMachine, RegistryView.Registry64);
            using var record = machine.CreateSubKey(RecordKey);
            var previous = record.GetValue(RecordValue) as string;
            var entry = request?.ExtensionId is null ? null : BrowserPolicyContent.ForcelistEntry(request);
            var values = ThirdPartyValues(request?.ManagedConfiguration);
            foreach (var (browser, key) in Browsers)
            {
                try
                {
                    if (WriteForcelist(machine, key + @"\ExtensionInstallForcelist", [previous, request?.ExtensionId], entry))
                    {
                        changed.Add($@"HKLM\{key}\ExtensionInstallForcelist");
                    }

                    if (WriteThirdParty(machine, key + @"\3rdparty\extensions", previous, request?.ExtensionId, values))
                    {
                        changed.Add($@"HKLM\{key}\3rdparty\extensions");
                    }
                }
                catch (Exception e) when (e is UnauthorizedAccessException or System.Security.SecurityException or IOException)
                {
                    written = false;
                    failures.Add($@"desktopBrowsers: {browser}'s policy HKLM\{key} could not be written ({e.Message})");
                }
            }

            if (request?.ExtensionId is { } id)
            {
                record.SetValue(RecordValue, id, RegistryValueKind.String);
            }
            else if (failures.Count == 0)
            {
                record.DeleteValue(RecordValue, throwOnMissingValue: false);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or System.Security.SecurityException or IOException)
        {
            return new BrowserPolicyOutcome(false, [$@"desktopBrowsers: HKLM\{RecordKey} could not be written ({e.Message})"], changed);
        }

        return new BrowserPolicyOutcome(written && failures.Count == 0, failures, changed);
    }

    [SupportedOSPlatform("windows")]
    private static bool WriteForcelist(RegistryKey machine, string path, IReadOnlyCollection<string?> homeroomIds, string? entry)
    {
        using var key = entry is null ? machine.OpenSubKey(path, writable: true) : machine.CreateSubKey(path);
        if (key is null)
        {
            return false;
        }

        var existing = new List<string>();
        for (var i = 1; key.GetValue(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) is string value; i++)
        {
            existing.Add(value);
        }

        var wanted = Forcelist(existing, homeroomIds, entry);
        if (wanted.SequenceEqual(existing))
        {
            return false;
        }

        for (var i = 0; i < wanted.Count; i++)
        {
            key.SetValue((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), wanted[i], RegistryValueKind.String);
        }

        for (var i = wanted.Count + 1; i <= existing.Count; i++)
        {
            key.DeleteValue(i.ToString(System.Globalization.CultureInfo.InvariantCulture), throwOnMissingValue: false);
        }

        return true;
    }

    [SupportedOSPlatform("windows")]
    private static bool WriteThirdParty(RegistryKey machine, string path, string? previous, string? id, IReadOnlyList<RegistryPolicyValue> values)
    {
        var changed = false;
        if (previous is not null && previous != id && Exists(machine, path + @"\" + previous))
        {
            machine.DeleteSubKeyTree(path + @"\" + previous, throwOnMissingSubKey: false);
            changed = true;
        }

        if (id is null)
        {
            return changed;
        }

        var policyPath = path + @"\" + id + @"\policy";
        using (var current = machine.OpenSubKey(policyPath))
        {
            if (values.Count == 0 ? current is null : current is not null && Holds(current, values))
            {
                return changed;
            }
        }

        machine.DeleteSubKeyTree(path + @"\" + id, throwOnMissingSubKey: false);
        if (values.Count > 0)
        {
            using var policy = machine.CreateSubKey(policyPath);
            foreach (var value in values)
            {
                if (value.IsDword)
                {
                    policy.SetValue(value.Name, value.Number, RegistryValueKind.DWord);
                }
                else
                {
                    policy.SetValue(value.Name, value.Text ?? string.Empty, RegistryValueKind.String);
                }
            }
        }

        return true;
    }

    [SupportedOSPlatform("windows")]
    private static bool Exists(RegistryKey root, string path)
    {
        using var key = root.OpenSubKey(path);
        return key is not null;
    }

    [SupportedOSPlatform("windows")]
    private static bool Holds(RegistryKey key, IReadOnlyList<RegistryPolicyValue> values) =>
        key.GetValueNames().Length == values.Count
        && values.All(v => v.IsDword ? key.GetValue(v.Name) is int n && n == v.Number : key.GetValue(v.Name) is string s && s == (v.Text ?? string.Empty));
}
