// Classroom benchmark: a server process (SQLite), a class of N simulated Chromebooks sending
// thumbnails at 1 s, and a teacher's classroom page in Chromium. Measures the bytes per second the
// teacher's browser receives (images and the live connection) and each device sends, the delay from
// a thumbnail's capture on the device to its display in the page, and a class lock from click to
// every tile showing locked. Prints a table; JSON goes to bench/results/.
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

const string Password = "classroom benchmark password";
var options = BenchReport.ParseArguments(args);
var students = options.Int("students", 30);
var seconds = options.Int("seconds", 20);
var locks = options.Int("locks", 10);
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");
var chromium = options.GetValueOrDefault("chromium", "/usr/bin/chromium");var results = new Dictionary<string, object>();

// Teachers start ad-hoc sessions only within the school day (07:00 to 17:00, Monday to Friday, by
// default); the benchmark runs at any hour, so the server it starts (which inherits this process's
// environment) has a school day of every day and all day. The binder appends to the default days.
Environment.SetEnvironmentVariable("Homeroom__Classroom__SchoolDays__0", "saturday");
Environment.SetEnvironmentVariable("Homeroom__Classroom__SchoolDays__1", "sunday");
Environment.SetEnvironmentVariable("Homeroom__Classroom__SchoolDayStart", "00:00");
Environment.SetEnvironmentVariable("Homeroom__Classroom__SchoolDayEnd", "23:59");

await using (var server = await ServerProcess.StartAsync(options, 5093))
{
    using var api = server.ApiClient(TimeSpan.FromMinutes(2));
    async Task<Guid> IdAsync(string path, object body)
    {
        using var response = await api.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    var classId = await IdAsync("/api/groups", new { name = "Benchmark class", kind = "class" });
    using var created = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "classroom benchmark", maxUses = students });
    var token = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    await using var fleet = new Fleet(new FleetOptions { Server = server.Address, EnrollToken = token, Devices = students, Seed = 3, AlwaysOnline = true, SlowAnswerChance = 0, HelpRequests = false });
    fleet.Start();
    if (!await fleet.WaitForConnectedAsync(students, TimeSpan.FromSeconds(120)))
    {
        throw new InvalidOperationException("The fleet did not connect.");
    }

    for (var i = 0; i < students; i++)
    {
        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Student", familyName = $"{i:D2}" });
        (await api.PatchAsJsonAsync($"/api/devices/{fleet.Devices[i].DeviceId}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
        (await api.PostAsJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
    }

    var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Bench", familyName = "Teacher" });
    (await api.PostAsJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { teacher } })).EnsureSuccessStatusCode();
    (await api.PostAsJsonAsync("/api/accounts", new { username = "teacher", displayName = "Bench Teacher", password = Password, role = "teacher", personId = teacher })).EnsureSuccessStatusCode();

    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
    var context = await browser.NewContextAsync(new() { BaseURL = server.Address.AbsoluteUri, ViewportSize = new() { Width = 1280, Height = 800 } });
    var page = await context.NewPageAsync();
    await page.GotoAsync("/login");
    await page.GetByLabel("Username").FillAsync("teacher");
    await page.GetByLabel("Password").FillAsync(Password);
    await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    await page.WaitForURLAsync("**/classroom");
    await page.GotoAsync($"/classroom/{classId}");
    await page.GetByTestId("start-session").ClickAsync();
    page.Console += (_, message) =>
    {
        if (message.Type == "error")
        {
            Console.Error.WriteLine("[browser] " + message.Text);
        }
    };
    try
    {
        await page.Locator("[data-testid=tile] img").Nth(students - 1).WaitForAsync(new() { Timeout = 90_000 });
    }
    catch (TimeoutException)
    {
        var seen = await page.EvaluateAsync<string>("() => `${document.querySelectorAll('[data-testid=tile]').length} tiles, ${document.querySelectorAll('[data-testid=tile] img').length} images, ${document.querySelectorAll('[data-testid=tile] img[src]').length} shown`");
        await page.ScreenshotAsync(new() { Path = Path.Combine(resultsDirectory, "classroom-timeout.png") });
        throw new TimeoutException($"Not every tile showed a screen within 90 s: {seen}.");
    }

    // Bytes to the teacher, counted by the browser (Chrome DevTools Protocol): the live connection's
    // WebSocket messages by their payload (binary messages decoded from the base64 the protocol
    // carries them in; WebSocket framing and compression not counted), and every HTTP response
    // (images) with its headers. Before 2026-12-02 binary messages were counted by their base64
    // length and responses without headers; that figure is still reported, as the "_old_way" row.
    var cdp = await context.NewCDPSessionAsync(page);
    await cdp.SendAsync("Network.enable");
    long wsIn = 0, wsInMessages = 0, wsInBase64 = 0, wsOut = 0, httpIn = 0, httpBodies = 0, httpResponses = 0;
    cdp.Event("Network.webSocketFrameReceived").OnEvent += (_, e) =>
    {
        var (bytes, text) = Payload(e!.Value.GetProperty("response"));
        Interlocked.Add(ref wsIn, bytes);
        Interlocked.Add(ref wsInBase64, text);
        Interlocked.Increment(ref wsInMessages);
    };
    cdp.Event("Network.webSocketFrameSent").OnEvent += (_, e) => Interlocked.Add(ref wsOut, Payload(e!.Value.GetProperty("response")).Bytes);
    cdp.Event("Network.dataReceived").OnEvent += (_, e) => Interlocked.Add(ref httpBodies, e!.Value.GetProperty("encodedDataLength").GetInt64());
    cdp.Event("Network.loadingFinished").OnEvent += (_, e) =>
    {
        // Object URLs (blob:) load too, from memory: not network traffic.
        var bytes = e!.Value.GetProperty("encodedDataLength").GetInt64();
        if (bytes > 0)
        {
            Interlocked.Add(ref httpIn, bytes);
            Interlocked.Increment(ref httpResponses);
        }
    };

    // Capture-to-display: each image that finishes loading, against the capture time the device stamped.
    await page.EvaluateAsync(@"() => {
        window.__delays = [];
        document.addEventListener('load', e => {
            const img = e.target;
            if (img.tagName === 'IMG' && img.dataset.captured) { window.__delays.push(Date.now() - Number(img.dataset.captured)); }
        }, true);
    }");
    var sentBefore = fleet.Metrics.ThumbnailBytes;
    long[] Counters() => [Interlocked.Read(ref wsIn), Interlocked.Read(ref wsInMessages), Interlocked.Read(ref wsInBase64), Interlocked.Read(ref wsOut),
        Interlocked.Read(ref httpIn), Interlocked.Read(ref httpBodies), Interlocked.Read(ref httpResponses)];
    var before = Counters();
    var cpuBefore = server.CpuTime();
    var watch = Stopwatch.StartNew();
    await Task.Delay(TimeSpan.FromSeconds(seconds));
    var elapsed = watch.Elapsed.TotalSeconds;
    var cpu = server.CpuTime() - cpuBefore;
    var after = Counters();
    double Rate(int counter) => Math.Round((after[counter] - before[counter]) / elapsed, 0);
    var delays = (await page.EvaluateAsync<double[]>("() => window.__delays")).Order().ToArray();
    var teacherRate = Rate(0) + Rate(4);
    results["teacher_bytes_per_second"] = teacherRate;
    results["teacher_bytes_per_second_per_student"] = Math.Round(teacherRate / students, 0);
    results["teacher_live_connection_bytes_per_second"] = Rate(0);
    results["teacher_live_connection_messages_per_second"] = Rate(1);
    results["teacher_http_bytes_per_second"] = Rate(4);
    results["teacher_http_responses_per_second"] = Rate(6);
    results["teacher_bytes_per_second_old_way"] = Rate(2) + Rate(5);
    results["teacher_sent_bytes_per_second"] = Rate(3);
    results["thumbnails_displayed_per_second"] = Math.Round(delays.Length / elapsed, 1);
    results["capture_to_display_ms_p50"] = Percentile(delays, 0.50);
    results["capture_to_display_ms_p95"] = Percentile(delays, 0.95);
    results["capture_to_display_ms_max"] = delays.Length == 0 ? 0 : delays[^1];
    results["device_thumbnail_bytes_per_second"] = Math.Round((fleet.Metrics.ThumbnailBytes - sentBefore) / elapsed / students, 0);
    results["server_cpu_percent_of_one_core"] = Math.Round(cpu.TotalSeconds / elapsed * 100, 1);

    // A class lock: click, then the moment the last tile shows locked (timed in the page).
    var lockTimes = new List<double>();
    for (var round = 0; round < locks; round++)
    {
        foreach (var (button, state) in new[] { ("lock-class", "locked"), ("unlock-class", "online") })
        {
            var ms = await page.EvaluateAsync<double>(@"([button, state, count]) => new Promise(resolve => {
                const start = performance.now();
                const done = () => document.querySelectorAll(`[data-testid=tile][data-state=${state}]`).length === count;
                const observer = new MutationObserver(() => { if (done()) { observer.disconnect(); resolve(performance.now() - start); } });
                observer.observe(document.querySelector('[data-testid=tiles]'), { subtree: true, attributes: true, childList: true });
                document.querySelector(`[data-testid=${button}]`).click();
            })", new object[] { button, state, students });
            if (state == "locked")
            {
                lockTimes.Add(ms);
            }
        }
    }

    lockTimes.Sort();
    results["class_lock_ms_p50"] = Percentile([.. lockTimes], 0.5);
    results["class_lock_ms_max"] = Math.Round(lockTimes[^1], 0);
    results["class_lock_rounds"] = lockTimes.Count;
    results["server_rss_mb"] = Math.Round(server.ResidentBytes() / 1048576.0, 0);
}

results["students"] = students;
results["seconds"] = seconds;
results["machine"] = BenchReport.Machine();
results["date"] = BenchReport.Now();
await BenchReport.WriteAsync(results, resultsDirectory, $"classroom-{students}");

// A WebSocket message's payload in bytes (binary ones arrive base64-encoded), and its length as text.
static (long Bytes, long Text) Payload(JsonElement response)
{
    var data = response.GetProperty("payloadData").GetString()!;
    if (response.GetProperty("opcode").GetInt32() != 2)
    {
        return (System.Text.Encoding.UTF8.GetByteCount(data), data.Length);
    }

    var padding = data.EndsWith("==", StringComparison.Ordinal) ? 2 : data.EndsWith('=') ? 1 : 0;
    return (data.Length / 4 * 3 - padding, data.Length);
}

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 0);
