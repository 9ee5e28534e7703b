// The crossing phase: end to end, from the device crossing its campus boundary to (a) the live notice
// on a staff member's open console page and (b) the out-of-bounds message the extension shows. The
// server runs on its real clock and the extension on its own schedule; the only thing faked is the
// position the offscreen document reads (FakeLocation).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;

namespace Homeroom.Bench.Location;

/// <summary>One crossing: how long after it the console showed the notice and the extension the message; null when not within the wait.</summary>
public sealed record CrossingRun(string Scenario, int Run, double? NoticeSeconds, double? MessageSeconds, double FirstOutsideFixAfterSeconds);

public sealed class Crossing(HttpClient api, Guid deviceId, Guid zoneId, FakeLocation location, IBrowserContext extension, IPage console, int intervalSeconds)
{
    // The campus: a square about 1 km a side around the point the idle phase also uses.
    public const double CentreLatitude = 41.8781, CentreLongitude = -87.6298;
    public const double HalfLatitude = 0.0045, HalfLongitude = 0.006;
    public const double North = CentreLatitude + HalfLatitude;
    private const double MetersPerDegreeLatitude = 111_320;
    // A walk, comfortably above the extension's 0.5 m/s "moving" threshold.
    private const double WalkMetersPerSecond = 1.4;
    // How far inside the north edge the edge runs walk along it before turning out.
    private const double EdgeWalkMetersInside = 60;

    public static object Zone() => new
    {
        type = "Feature",
        properties = new { name = "Bench campus", kind = "campus" },
        geometry = new
        {
            type = "Polygon",
            coordinates = new[]
            {
                new[]
                {
                    new[] { CentreLongitude - HalfLongitude, CentreLatitude - HalfLatitude }, new[] { CentreLongitude + HalfLongitude, CentreLatitude - HalfLatitude },
                    new[] { CentreLongitude + HalfLongitude, North }, new[] { CentreLongitude - HalfLongitude, North },
                    new[] { CentreLongitude - HalfLongitude, CentreLatitude - HalfLatitude },
                },
            },
        },
    };

    private static double Random01() => System.Security.Cryptography.RandomNumberGenerator.GetInt32(1_000_000) / 1_000_000.0;

    /// <summary>
    /// Edge: the device walks east along the inside of the north edge until its fixes come every quarter
    /// interval (moving near the boundary), turns north at a random moment and walks out at the same pace.
    /// </summary>
    public async Task<CrossingRun> EdgeAsync(int run)
    {
        var start = Stopwatch.GetTimestamp();
        location.Walk(North - EdgeWalkMetersInside / MetersPerDegreeLatitude, CentreLongitude - HalfLongitude / 2, 0, WalkMetersPerSecond);
        await InsideAndClearAsync();
        // Two fixes on the walk: the second sees the device moving near the edge, so the next comes a quarter interval later.
        await FixesAsync(2, p => p.Latitude > North - (EdgeWalkMetersInside + 30) / MetersPerDegreeLatitude);
        await Task.Delay(TimeSpan.FromSeconds(Random01() * Math.Max(15, intervalSeconds / 4)));
        var (lat, lon) = location.Position;
        location.Walk(lat, lon, WalkMetersPerSecond, 0);
        // The moment the walk's centre passes the edge (the position is recomputed every half second).
        var crossesIn = TimeSpan.FromSeconds((North - lat) * MetersPerDegreeLatitude / WalkMetersPerSecond);
        var result = await MeasureAsync("edge", run, crossesIn);
        Console.WriteLine($"edge run {run}: notice {Format(result.NoticeSeconds)} s, message {Format(result.MessageSeconds)} s (set-up {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s)");
        return result;
    }

    /// <summary>
    /// Jump: the device stands deep inside (fixes at the full interval); at a random moment of its
    /// schedule it is 5 km away (a car, or a device switched on elsewhere).
    /// </summary>
    public async Task<CrossingRun> JumpAsync(int run)
    {
        var start = Stopwatch.GetTimestamp();
        // Back in along the edge (quarter-interval fixes), then standing deep inside.
        location.Walk(North - EdgeWalkMetersInside / MetersPerDegreeLatitude, CentreLongitude - HalfLongitude / 2, 0, WalkMetersPerSecond);
        await InsideAndClearAsync();
        location.Stand(CentreLatitude, CentreLongitude);
        await FixesAsync(1, p => Math.Abs(p.Latitude - CentreLatitude) < 1e-4 && Math.Abs(p.Longitude - CentreLongitude) < 1e-4);
        await Task.Delay(TimeSpan.FromSeconds(Random01() * intervalSeconds));
        var result = await MeasureAsync("jump", run, TimeSpan.Zero, () => location.Stand(CentreLatitude + 0.045, CentreLongitude));
        Console.WriteLine($"jump run {run}: notice {Format(result.NoticeSeconds)} s, message {Format(result.MessageSeconds)} s (set-up {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s)");
        return result;
    }

    private static string Format(double? seconds) => seconds is { } s ? s.ToString("F1", CultureInfo.InvariantCulture) : "none";

    private async Task<CrossingRun> MeasureAsync(string scenario, int run, TimeSpan crossesIn, Action? cross = null)
    {
        var limit = TimeSpan.FromSeconds(2 * intervalSeconds + 90);
        var seen = await console.EvaluateAsync<string[]>("() => [...document.querySelectorAll('[data-testid=live-notification]')].map(n => n.dataset.subject)");
        var message = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnPage(object? sender, IPage page)
        {
            void Check()
            {
                if (page.Url.Contains("pages/message.html", StringComparison.Ordinal))
                {
                    message.TrySetResult(Stopwatch.GetTimestamp());
                }
            }

            Check();
            page.FrameNavigated += (_, _) => Check();
        }

        extension.Page += OnPage;
        try
        {
            var trackBefore = await TrackAsync();
            cross?.Invoke();
            await Task.Delay(crossesIn);
            var crossed = Stopwatch.GetTimestamp();
            var notice = console.WaitForFunctionAsync(
                "seen => [...document.querySelectorAll('[data-testid=live-notification]')].some(n => !seen.includes(n.dataset.subject))",
                seen,
                new() { PollingInterval = 50, Timeout = (float)limit.TotalMilliseconds });
            double? noticeSeconds = null, messageSeconds = null;
            try
            {
                await notice;
                noticeSeconds = Stopwatch.GetElapsedTime(crossed).TotalSeconds;
            }
            catch (TimeoutException)
            {
                // Reported as none.
            }

            var remaining = limit - Stopwatch.GetElapsedTime(crossed);
            if (await Task.WhenAny(message.Task, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero)) == message.Task)
            {
                messageSeconds = Stopwatch.GetElapsedTime(crossed, await message.Task).TotalSeconds;
            }

            // When the first fix outside reached the server, to tell the agent's part from the rest.
            var track = await TrackPointsAsync();
            var firstOutside = track.Skip(trackBefore).FirstOrDefault(p => p.Latitude > North);
            var firstOutsideAfter = firstOutside.At == default ? double.NaN : (firstOutside.At - DateTimeOffset.UtcNow).TotalSeconds + Stopwatch.GetElapsedTime(crossed).TotalSeconds;
            return new CrossingRun(scenario, run, noticeSeconds, messageSeconds, Math.Round(firstOutsideAfter, 1));
        }
        finally
        {
            extension.Page -= OnPage;
            foreach (var page in extension.Pages.Where(p => p.Url.Contains("pages/message.html", StringComparison.Ordinal)).ToList())
            {
                await page.CloseAsync();
            }
        }
    }

    /// <summary>Until the device is confirmed inside its campus and no alert is open (the last run's has cleared).</summary>
    private async Task InsideAndClearAsync()
    {
        await UntilAsync(async () =>
        {
            var inside = (await api.GetFromJsonAsync<JsonElement>($"/api/zones/{zoneId}/devices")).EnumerateArray().Any(d => d.GetProperty("id").GetGuid() == deviceId);
            var open = (await api.GetFromJsonAsync<JsonElement>("/api/alerts?state=open")).GetProperty("items").GetArrayLength();
            return inside && open == 0;
        }, TimeSpan.FromSeconds(3 * intervalSeconds + 60));
    }

    /// <summary>Until <paramref name="count"/> more fixes matching <paramref name="where"/> reached the track.</summary>
    private async Task FixesAsync(int count, Func<(double Latitude, double Longitude, DateTimeOffset At), bool> where)
    {
        var before = await TrackAsync();
        await UntilAsync(async () => (await TrackPointsAsync()).Skip(before).Count(where) >= count, TimeSpan.FromSeconds(count * intervalSeconds + 60));
    }

    private async Task<int> TrackAsync() => (await TrackPointsAsync()).Count;

    private async Task<List<(double Latitude, double Longitude, DateTimeOffset At)>> TrackPointsAsync() =>
        [.. (await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/locations?hours=2")).EnumerateArray()
            .Select(p => (p.GetProperty("latitude").GetDouble(), p.GetProperty("longitude").GetDouble(), p.GetProperty("at").GetDateTimeOffset()))];

    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("The crossing phase's set-up did not finish in time.");
            }

            await Task.Delay(1000);
        }
    }
}

/// <summary>
/// The position the extension's offscreen document sees, set through DevTools
/// (<c>Emulation.setGeolocationOverride</c> on its target; Playwright's own override does not reach
/// offscreen documents). Chromium stamps an overridden position with the time it was set, so it is set
/// again every half second, which also moves a walking device along.
/// </summary>
public sealed class FakeLocation : IAsyncDisposable
{
    private const double MetersPerDegreeLatitude = 111_320;
    private readonly ICDPSession _cdp;
    private readonly string _offscreenUrl;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Task _loop;
    private (string TargetId, string SessionId)? _attached;
    private int _messageId;
    private (double Lat, double Lon, double North, double East, long Since) _walk;

    public FakeLocation(ICDPSession cdp, string offscreenUrl, double latitude, double longitude)
    {
        _cdp = cdp;
        _offscreenUrl = offscreenUrl;
        Stand(latitude, longitude);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Where the device is now.</summary>
    public (double Latitude, double Longitude) Position
    {
        get
        {
            var walk = _walk;
            var seconds = Stopwatch.GetElapsedTime(walk.Since).TotalSeconds;
            return (walk.Lat + walk.North * seconds / MetersPerDegreeLatitude,
                walk.Lon + walk.East * seconds / (MetersPerDegreeLatitude * Math.Cos(walk.Lat * Math.PI / 180)));
        }
    }

    /// <summary>Stands still here, from now (the override is sent at once).</summary>
    public void Stand(double latitude, double longitude) => Walk(latitude, longitude, 0, 0);

    /// <summary>Walks from here at these speeds (m/s north and east), from now.</summary>
    public void Walk(double latitude, double longitude, double northMetersPerSecond, double eastMetersPerSecond)
    {
        _walk = (latitude, longitude, northMetersPerSecond, eastMetersPerSecond, Stopwatch.GetTimestamp());
        _ = SendSafelyAsync();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await SendSafelyAsync();
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SendSafelyAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await SendAsync();
        }
        catch (PlaywrightException)
        {
            _attached = null; // the document closed (reporting stopped), or the browser is closing
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether the offscreen document exists and took the position.</summary>
    public async Task<bool> SendAsync()
    {
        var targets = await _cdp.SendAsync("Target.getTargets");
        var target = targets!.Value.GetProperty("targetInfos").EnumerateArray()
            .Where(t => t.GetProperty("url").GetString() == _offscreenUrl)
            .Select(t => t.GetProperty("targetId").GetString()!)
            .FirstOrDefault();
        if (target is null)
        {
            _attached = null;
            return false;
        }

        if (_attached?.TargetId != target)
        {
            var attached = await _cdp.SendAsync("Target.attachToTarget", new() { ["targetId"] = target, ["flatten"] = false });
            _attached = (target, attached!.Value.GetProperty("sessionId").GetString()!);
        }

        var (latitude, longitude) = Position;
        var message = JsonSerializer.Serialize(new
        {
            id = Interlocked.Increment(ref _messageId),
            method = "Emulation.setGeolocationOverride",
            @params = new { latitude, longitude, accuracy = 12 },
        });
        await _cdp.SendAsync("Target.sendMessageToTarget", new() { ["sessionId"] = _attached.Value.SessionId, ["message"] = message });
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _gate.Dispose();
    }
}
