// Location benchmark, two phases (--phase idle, crossing or all; idle by default).
// Idle: does the extension's own location reporting cost CPU while the browser is idle? A server
// process (SQLite) and Chromium with the unpacked extension enrolled; no tab does anything. Two
// phases of --minutes each: monitoring.location off, then on (reporting hours "always", --interval
// seconds, geolocation overridden in the offscreen document through the DevTools protocol). In each,
// the CPU time (user + system, /proc/<pid>/stat) of the extension's renderer process (the service
// worker and the offscreen document; Chromium marks it --extension-process) and of every process of
// the browser.
// Crossing: end to end, from the device crossing its campus boundary to the live notice on a staff
// member's open console page (a second Chromium, signed in) and to the out-of-bounds message the
// extension shows; --runs times each for a device walking out across the edge and for one jumping
// from deep inside (Crossing.cs). The server and the extension run on real time.
// Prints a table; JSON to bench/results/.
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Bench.Location;
using Microsoft.Playwright;

var options = BenchReport.ParseArguments(args);
var phase = options.GetValueOrDefault("phase", "idle");
if (phase is not ("idle" or "crossing" or "all"))
{
    Console.Error.WriteLine("--phase must be idle, crossing or all.");
    return 2;
}

var minutes = options.Int("minutes", 3);
var runs = options.Int("runs", 5);
var interval = options.Int("interval", 60);
var extension = Path.GetFullPath(options.GetValueOrDefault("extension", "extension"));
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");
var chromium = options.GetValueOrDefault("chromium", "/usr/bin/chromium");var userDataDirectory = Directory.CreateTempSubdirectory("homeroom-location-bench-browser-").FullName;
var results = new Dictionary<string, object>();

await using (var server = await ServerProcess.StartAsync(options, 5094))
{
    using var api = server.ApiClient(TimeSpan.FromMinutes(2));
    object Settings(bool on) => new { monitoring = new { location = on }, location = new { reportIntervalSeconds = interval, reportingHours = "always" } };
    using var createdProfile = await api.PostAsJsonAsync("/api/profiles", new { name = "Location", settings = Settings(false) });
    var profileId = (await createdProfile.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    (await api.PostAsJsonAsync("/api/assignments", new { profileId, level = "district" })).EnsureSuccessStatusCode();
    using var createdToken = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "location benchmark", maxUses = 1 });
    var token = (await createdToken.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

    using var playwright = await Playwright.CreateAsync();
    await using var context = await playwright.Chromium.LaunchPersistentContextAsync(userDataDirectory, new()
    {
        ExecutablePath = chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", $"--disable-extensions-except={extension}", $"--load-extension={extension}"],
    });
    var extensionId = ExtensionId(extension);
    var options_ = await context.NewPageAsync();
    await options_.GotoAsync($"chrome-extension://{extensionId}/pages/options.html");
    await options_.Locator("#serverUrl").FillAsync(server.Address.AbsoluteUri);
    await options_.Locator("#enrollmentToken").FillAsync(token);
    await options_.Locator("button[type=submit]").ClickAsync();
    var deviceId = Guid.Empty;
    await UntilAsync(async () =>
    {
        var enrollment = await options_.EvaluateAsync<string?>("() => chrome.storage.local.get('enrollment').then(v => v.enrollment?.deviceId ?? null)");
        return Guid.TryParse(enrollment, out deviceId);
    }, TimeSpan.FromMinutes(1));
    await options_.CloseAsync(); // an open extension page would run in the process being measured

    var blank = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
    var cdp = await context.NewCDPSessionAsync(blank);
    var browserPid = BrowserPid(userDataDirectory);

    foreach (var on in phase is "crossing" ? [] : new[] { false, true })
    {
        var state = on ? "on" : "off";
        using (var update = await api.PutAsJsonAsync($"/api/profiles/{profileId}", new { name = "Location", settings = Settings(on) }))
        {
            update.EnsureSuccessStatusCode();
        }

        await UntilAsync(async () =>
        {
            var policy = await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
            return policy.GetProperty("compliant").GetBoolean()
                && policy.GetProperty("document").GetProperty("monitoring").GetProperty("location").GetBoolean() == on;
        }, TimeSpan.FromMinutes(1));
        if (on)
        {
            // The offscreen document appears with the first attempt; once it sees a position, fixes flow.
            await UntilAsync(async () => await OverrideAsync(cdp, $"chrome-extension://{extensionId}/pages/offscreen.html"), TimeSpan.FromMinutes(1));
            await UntilAsync(async () => (await TrackAsync(api, deviceId)) > 0, TimeSpan.FromSeconds(interval + 60));
        }

        await Task.Delay(TimeSpan.FromSeconds(10)); // let the switch settle
        var fixesBefore = await TrackAsync(api, deviceId);
        var (extensionBefore, browserBefore) = CpuTimes(browserPid);
        var started = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromMinutes(minutes));
        var (extensionAfter, browserAfter) = CpuTimes(browserPid);
        var seconds = (DateTime.UtcNow - started).TotalSeconds;
        results[$"{state}_extension_process_cpu_ms"] = Math.Round((extensionAfter - extensionBefore) * 1000);
        results[$"{state}_extension_process_cpu_percent"] = Math.Round((extensionAfter - extensionBefore) / seconds * 100, 3);
        results[$"{state}_browser_cpu_ms"] = Math.Round((browserAfter - browserBefore) * 1000);
        results[$"{state}_browser_cpu_percent"] = Math.Round((browserAfter - browserBefore) / seconds * 100, 3);
        results[$"{state}_fixes_sent"] = await TrackAsync(api, deviceId) - fixesBefore;
    }

    if (phase is "crossing" or "all")
    {
        await CrossingPhaseAsync(playwright, api, server.Address, profileId, deviceId, context, cdp, extensionId);
    }
}

results["phase"] = phase;
results["interval_seconds"] = interval;
if (phase is not "crossing")
{
    results["minutes_per_phase"] = minutes;
}

results["cpu_clock_resolution_ms"] = 10;
results["machine"] = BenchReport.Machine();
results["date"] = BenchReport.Now();
await BenchReport.WriteAsync(results, resultsDirectory, phase is "idle" ? $"location-{interval}s" : $"location-{phase}-{interval}s");
try
{
    Directory.Delete(userDataDirectory, recursive: true);
}
catch (IOException)
{
    // Chromium may hold a lock file a moment longer.
}

return 0;

async Task CrossingPhaseAsync(IPlaywright playwright, HttpClient api, Uri server, Guid profileId, Guid deviceId, IBrowserContext extensionContext, ICDPSession cdp, string extensionId)
{
    using var createdZone = await api.PostAsJsonAsync("/api/zones", Crossing.Zone());
    var zoneId = Guid.Parse((await createdZone.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    var settings = new
    {
        monitoring = new { location = true },
        location = new { reportIntervalSeconds = interval, reportingHours = "always", allowedZones = new[] { zoneId }, outOfBoundsMessage = "Please go back to campus." },
    };
    using (var update = await api.PutAsJsonAsync($"/api/profiles/{profileId}", new { name = "Location", settings }))
    {
        update.EnsureSuccessStatusCode();
    }

    await using var location = new FakeLocation(cdp, $"chrome-extension://{extensionId}/pages/offscreen.html", Crossing.CentreLatitude, Crossing.CentreLongitude);
    await UntilAsync(async () =>
    {
        var policy = await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
        return policy.GetProperty("compliant").GetBoolean() && policy.GetProperty("document").GetRawText().Contains(zoneId.ToString(), StringComparison.OrdinalIgnoreCase);
    }, TimeSpan.FromMinutes(1));

    // A district administrator with the console open in another browser, as on a staff member's own computer.
    const string StaffPassword = "location bench staff passphrase";
    using (var account = await api.PostAsJsonAsync("/api/accounts", new { username = "bench-staff", displayName = "Bench staff", password = StaffPassword, role = "districtAdmin" }))
    {
        account.EnsureSuccessStatusCode();
    }

    await using var staffBrowser = await playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    });
    var console = await staffBrowser.NewPageAsync(new() { BaseURL = server.AbsoluteUri });
    await console.GotoAsync("/login");
    await console.GetByLabel("Username").FillAsync("bench-staff");
    await console.GetByLabel("Password").FillAsync(StaffPassword);
    await console.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    await console.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal), new() { WaitUntil = WaitUntilState.Commit, Timeout = 60_000 });
    await console.GetByTestId("live-notifications").WaitForAsync(new() { State = WaitForSelectorState.Attached, Timeout = 60_000 });
    await console.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });

    var crossing = new Crossing(api, deviceId, zoneId, location, extensionContext, console, interval);
    var measured = new List<CrossingRun>();
    for (var run = 1; run <= runs; run++)
    {
        measured.Add(await crossing.EdgeAsync(run));
    }

    for (var run = 1; run <= runs; run++)
    {
        measured.Add(await crossing.JumpAsync(run));
    }

    Console.WriteLine();
    Console.WriteLine("| scenario | runs | notice median s | notice max s | message median s | message max s | missed |");
    Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
    foreach (var scenario in new[] { "edge", "jump" })
    {
        var these = measured.Where(m => m.Scenario == scenario).ToList();
        var notices = these.Where(m => m.NoticeSeconds is not null).Select(m => m.NoticeSeconds!.Value).ToList();
        var messages = these.Where(m => m.MessageSeconds is not null).Select(m => m.MessageSeconds!.Value).ToList();
        var missed = these.Count(m => m.NoticeSeconds is null || m.MessageSeconds is null);
        Console.WriteLine(FormattableString.Invariant($"| {scenario} | {these.Count} | {Median(notices):F1} | {Max(notices):F1} | {Median(messages):F1} | {Max(messages):F1} | {missed} |"));
        // JSON has no NaN: a figure with no run behind it, or a run that saw nothing, is written as null.
        static double? Rounded(double value) => double.IsNaN(value) ? null : Math.Round(value, 1);
        results[$"{scenario}_notice_median_s"] = Rounded(Median(notices))!;
        results[$"{scenario}_notice_max_s"] = Rounded(Max(notices))!;
        results[$"{scenario}_message_median_s"] = Rounded(Median(messages))!;
        results[$"{scenario}_message_max_s"] = Rounded(Max(messages))!;
        results[$"{scenario}_notice_s"] = Series(these.Select(m => Rounded(m.NoticeSeconds ?? double.NaN)));
        results[$"{scenario}_message_s"] = Series(these.Select(m => Rounded(m.MessageSeconds ?? double.NaN)));
        results[$"{scenario}_first_fix_outside_s"] = Series(these.Select(m => Rounded(m.FirstOutsideFixAfterSeconds)));
        results[$"{scenario}_missed"] = missed;
    }

    results["runs_per_scenario"] = runs;
    results["walk_meters_per_second"] = 1.4;
}

static double Median(List<double> values)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static double Max(List<double> values) => values.Count == 0 ? double.NaN : values.Max();

// A list of numbers (printed as such in the table) unless a run is missing one.
static object Series(IEnumerable<double?> values)
{
    var list = values.ToList();
    return list.TrueForAll(v => v is not null) ? list.Select(v => v!.Value).ToList() : list;
}

static async Task<int> TrackAsync(HttpClient api, Guid deviceId) =>
    (await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/locations?hours=1")).GetArrayLength();

static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
{
    var until = DateTime.UtcNow + timeout;
    while (!await condition())
    {
        if (DateTime.UtcNow > until)
        {
            throw new TimeoutException("The benchmark's setup did not finish in time.");
        }

        await Task.Delay(500);
    }
}

// Emulation.setGeolocationOverride on the offscreen document's target, reached from a page's DevTools
// session (Playwright's own override does not reach offscreen documents; see ExtensionLocationTests).
static async Task<bool> OverrideAsync(ICDPSession cdp, string offscreenUrl)
{
    var targets = await cdp.SendAsync("Target.getTargets");
    var target = targets!.Value.GetProperty("targetInfos").EnumerateArray()
        .FirstOrDefault(t => t.GetProperty("url").GetString() == offscreenUrl);
    if (target.ValueKind != JsonValueKind.Object)
    {
        return false;
    }

    var attached = await cdp.SendAsync("Target.attachToTarget", new() { ["targetId"] = target.GetProperty("targetId").GetString()!, ["flatten"] = false });
    var message = JsonSerializer.Serialize(new { id = 1, method = "Emulation.setGeolocationOverride", @params = new { latitude = 41.8781, longitude = -87.6298, accuracy = 12 } });
    await cdp.SendAsync("Target.sendMessageToTarget", new() { ["sessionId"] = attached!.Value.GetProperty("sessionId").GetString()!, ["message"] = message });
    return true;
}

// Chrome names an unpacked extension after its directory: SHA-256 of the path, 32 hex digits spelled a to p.
static string ExtensionId(string directory)
{
    var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(directory)));
    return string.Concat(Convert.ToHexStringLower(hash.AsSpan(0, 16)).Select(c => (char)('a' + Convert.ToInt32(c.ToString(), 16))));
}

static int BrowserPid(string userDataDirectory) =>
    Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
        .Where(pid => pid > 0)
        .First(pid => CommandLine(pid) is { } line && line.Contains($"--user-data-dir={userDataDirectory}", StringComparison.Ordinal) && !line.Contains("--type=", StringComparison.Ordinal));

// CPU seconds of the extension's process and of the whole browser (the browser process and every descendant).
static (double Extension, double Browser) CpuTimes(int browserPid)
{
    var parents = new Dictionary<int, int>();
    var cpu = new Dictionary<int, double>();
    foreach (var directory in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(directory), out var pid))
        {
            continue;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            cpu[pid] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            // The process ended while being read.
        }
    }

    bool InBrowser(int pid)
    {
        for (var p = pid; p > 1; p = parents.GetValueOrDefault(p))
        {
            if (p == browserPid)
            {
                return true;
            }
        }

        return false;
    }

    var browser = cpu.Where(c => InBrowser(c.Key)).ToList();
    var extensionProcesses = browser.Where(c => CommandLine(c.Key)?.Contains("--extension-process", StringComparison.Ordinal) == true);
    return (extensionProcesses.Sum(c => c.Value), browser.Sum(c => c.Value));
}

static string? CommandLine(int pid)
{
    try
    {
        return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
    }
    catch (IOException)
    {
        return null;
    }
    catch (UnauthorizedAccessException)
    {
        return null;
    }
}
