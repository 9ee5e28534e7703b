using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Windows;

/// <summary>
/// OS updates on Windows through the Windows Update Agent API (COM, <c>Microsoft.Update.Session</c>): a search
/// for <c>IsInstalled=0 and IsHidden=0 and Type='Software'</c> counts the pending updates (security ones by
/// their MSRC severity or their "Security Updates" category), and an install accepts their licences, downloads
/// and installs them; a restart is due when <c>Microsoft.Update.SystemInfo.RebootRequired</c> says so. It runs
/// as the service (LocalSystem), which the API allows without a user. The objects are called by name through
/// <see cref="ComDispatch"/> (no <c>dynamic</c>, so the trimmed and AOT-compiled builds need no runtime binder).
/// NEVER RUN: this build was written and compiled on Linux; only the mapping in <see cref="WindowsUpdateMapping"/>
/// is tested.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class WindowsUpdateAgent(TimeProvider time) : OsUpdatesBase(time)
{
    private const string Criteria = "IsInstalled=0 and IsHidden=0 and Type='Software'";
    private static readonly TimeSpan InstallLimit = TimeSpan.FromHours(2);

    public override IEnumerable<AgentCapability> Describe() =>
        [Unavailable() is { } reason ? new(CapabilityNames.OsUpdates, false, reason) : new(CapabilityNames.OsUpdates, true)];

    protected override string? Unavailable() =>
        ComDispatch.IsRegistered("Microsoft.Update.Session") ? null : "the Windows Update Agent (Microsoft.Update.Session) is not registered on this machine";

    protected override Task<OsUpdateScan> ScanAsync(CancellationToken cancellationToken) => OnStaThread<OsUpdateScan>(() =>
    {
        using var session = ComDispatch.Create("Microsoft.Update.Session");
        List<(string? Severity, List<string> Categories)> updates = Search(session);
        var security = 0;
        foreach (var update in updates)
        {
            security += WindowsUpdateMapping.IsSecurity(update.Severity, update.Categories) ? 1 : 0;
        }

        return new OsUpdateScan(updates.Count, security, RebootRequired());
    }, e => new OsUpdateScan(0, 0, false, WindowsUpdateMapping.Describe("the search", e.HResult, e.Message)), cancellationToken);

    protected override Task<OsUpdateInstall> InstallUpdatesAsync(CancellationToken cancellationToken) => OnStaThread<OsUpdateInstall>(() =>
    {
        using var session = ComDispatch.Create("Microsoft.Update.Session");
        using var collection = ComDispatch.Create("Microsoft.Update.UpdateColl");
        session.Set("ClientApplicationID", "Homeroom Agent");
        using (var searcher = session.Call("CreateUpdateSearcher"))
        using (var found = searcher.Call("Search", Criteria))
        using (var updates = found.Object("Updates"))
        {
            var count = updates.Int("Count");
            for (var i = 0; i < count; i++)
            {
                using var update = updates.Call("Item", i);
                if (!update.Bool("EulaAccepted"))
                {
                    update.Run("AcceptEula");
                }

                collection.Run("Add", update);
            }
        }

        var pending = collection.Int("Count");
        if (pending == 0)
        {
            return new OsUpdateInstall(true, "no updates pending");
        }

        using (var downloader = session.Call("CreateUpdateDownloader"))
        {
            downloader.Set("Updates", collection);
            using var downloaded = downloader.Call("Download");
            var downloadCode = downloaded.Int("ResultCode");
            if (downloadCode is not (WindowsUpdateMapping.Succeeded or WindowsUpdateMapping.SucceededWithErrors))
            {
                return WindowsUpdateMapping.Outcome("download", downloadCode, downloaded.Int("HResult"), pending, false);
            }
        }

        using var installer = session.Call("CreateUpdateInstaller");
        installer.Set("Updates", collection);
        using var installed = installer.Call("Install");
        return WindowsUpdateMapping.Outcome("install", installed.Int("ResultCode"), installed.Int("HResult"), pending, installed.Bool("RebootRequired"));
    }, e => new OsUpdateInstall(false, WindowsUpdateMapping.Describe("the install", e.HResult, e.Message)), cancellationToken, InstallLimit);

    private static List<(string? Severity, List<string> Categories)> Search(ComDispatch session)
    {
        using var searcher = session.Call("CreateUpdateSearcher");
        using var result = searcher.Call("Search", Criteria);
        using var updates = result.Object("Updates");
        var list = new List<(string?, List<string>)>();
        var count = updates.Int("Count");
        for (var i = 0; i < count; i++)
        {
            using var update = updates.Call("Item", i);
            using var categoryList = update.Object("Categories");
            var categories = new List<string>();
            var categoryCount = categoryList.Int("Count");
            for (var c = 0; c < categoryCount; c++)
            {
                using var category = categoryList.Call("Item", c);
                if (category.Text("Name") is { } name)
                {
                    categories.Add(name);
                }
            }

            list.Add((update.Text("MsrcSeverity"), categories));
        }

        return list;
    }

    private static bool RebootRequired()
    {
        using var info = ComDispatch.Create("Microsoft.Update.SystemInfo");
        return info.Bool("RebootRequired");
    }

    /// <summary>Runs the COM calls on a thread of their own (the API is apartment-threaded and blocks), failing with the COM error's words.</summary>
    private static Task<T> OnStaThread<T>(Func<T> work, Func<Exception, T> failed, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e) when (e is COMException or InvalidCastException)
            {
                done.TrySetResult(failed(e));
            }
        }) { IsBackground = true, Name = "Windows Update" };
        thread.SetApartmentState(ApartmentState.STA);
        thread.Start();
        return done.Task.WaitAsync(limit ?? TimeSpan.FromMinutes(30), cancellationToken);
    }
}

/// <summary>The Windows Update Agent's codes and categories in Homeroom's terms (pure, so tested on any OS).</summary>
public static class WindowsUpdateMapping
{
    /// <summary><c>OperationResultCode</c> values (wuapi.h).</summary>
    public const int NotStarted = 0, InProgress = 1, Succeeded = 2, SucceededWithErrors = 3, Failed = 4, Aborted = 5;

    /// <summary>A security update: Microsoft gave it an MSRC severity, or it is in the "Security Updates" category.</summary>
    public static bool IsSecurity(string? msrcSeverity, IEnumerable<string> categories) =>
        !string.IsNullOrWhiteSpace(msrcSeverity) || categories.Any(c => string.Equals(c, "Security Updates", StringComparison.OrdinalIgnoreCase));

    /// <summary>The outcome of a download or install of <paramref name="count"/> updates from its result code and HRESULT.</summary>
    public static OsUpdateInstall Outcome(string step, int resultCode, int hresult, int count, bool rebootRequired)
    {
        var updates = count == 1 ? "1 update" : $"{count} updates";
        var reboot = rebootRequired ? "; a restart is required to finish" : "";
        return resultCode switch
        {
            Succeeded => new(true, $"installed {updates} with Windows Update{reboot}"),
            SucceededWithErrors => new(false, $"Windows Update {step} of {updates} finished with errors (0x{hresult:X8}){reboot}"),
            Failed => new(false, $"Windows Update {step} of {updates} failed (0x{hresult:X8})"),
            Aborted => new(false, $"Windows Update {step} of {updates} was aborted"),
            _ => new(false, $"Windows Update {step} of {updates} ended with result code {resultCode}"),
        };
    }

    /// <summary>A COM failure in words: the well-known Windows Update errors by name, else the HRESULT.</summary>
    public static string Describe(string step, int hresult, string message)
    {
        var known = unchecked((uint)hresult) switch
        {
            0x8024402C => "the update server could not be reached (proxy or name resolution)",
            0x80240024 => "there are no updates",
            0x8024001E => "the service or system was shutting down",
            0x80240016 => "another install is in progress",
            0x8024A000 => "Automatic Updates is not running",
            0x80070422 => "the Windows Update service is disabled",
            _ => null,
        };
        return known is null ? $"Windows Update: {step} failed (0x{hresult:X8}: {message})" : $"Windows Update: {step} failed: {known} (0x{hresult:X8})";
    }
}
