using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Classroom;
using Homeroom.Server.Commands;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// The teacher's classroom across two server nodes on one PostgreSQL database: the teacher's console and API are on
/// node A, the class's devices are connected to node B over real WebSockets. What B's devices show and send reaches
/// A's tiles and screens, and what the teacher does on A reaches B's devices.
/// </summary>
public sealed class ClusterClassroomTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Arrival = TimeSpan.FromSeconds(3);

    // Short heartbeats, so a silent node is noticed within seconds.
    // Twelve heartbeats to a silence: a loaded CI machine once stalled a node's heartbeats past a 3 s timeout.
    private static readonly string[] QuickHeartbeats = ["Homeroom:Backplane:HeartbeatInterval=00:00:00.500", "Homeroom:Backplane:NodeSilenceTimeout=00:00:06"];

    private sealed record Lesson(Guid ClassId, HttpClient Teacher, List<EnrollResponse> Devices) : IDisposable
    {
        public void Dispose() => Teacher.Dispose();
    }

    private static async Task<(HomeroomHost A, HomeroomHost B)> StartTwoNodesAsync(params string[] settings)
    {
        var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, settings);
        var b = await HomeroomHost.StartNodeAsync(a, settings);
        foreach (var node in new[] { a, b })
        {
            node.Clock.MoveToSchoolDayMorning();
            var listener = node.GetService<BackplaneListener>();
            await Poll.UntilAsync(() => Task.FromResult(listener.IsListening), TimeSpan.FromSeconds(15));
        }

        return (a, b);
    }

    /// <summary>A class with its own devices (a cart) and its teacher signed in on node A, in an ad-hoc session.</summary>
    private static async Task<Lesson> LessonAsync(HomeroomHost a, int devices)
    {
        var science = (await a.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class" })).GetProperty("id").GetGuid();
        var person = (await a.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Rivera" })).GetProperty("id").GetGuid();
        (await a.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { person } })).EnsureSuccessStatusCode();
        var token = await a.CreateTokenAsync();
        var enrolled = new List<EnrollResponse>();
        for (var i = 0; i < devices; i++)
        {
            enrolled.Add(await a.EnrollAsync(token, $"CART-{i}"));
        }

        (await a.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = enrolled.Select(d => d.DeviceId).ToArray() })).EnsureSuccessStatusCode();
        var teacher = await a.SignInAsNewAccountAsync("rivera", "teacher", person, "Ms. Rivera");
        (await teacher.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 30 })).EnsureSuccessStatusCode();
        return new Lesson(science, teacher, enrolled);
    }

    private static async Task<TestAgent> ConnectAsync(HomeroomHost node, EnrollResponse device)
    {
        var agent = await TestAgent.ConnectAsync(node.AgentUri, device.DeviceId, device.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    private static async Task<JsonElement> TileAsync(HttpClient teacher, Guid classId, Guid deviceId)
    {
        var classroom = await teacher.GetFromJsonAsync<JsonElement>($"/api/groups/{classId}/classroom");
        return classroom.GetProperty("tiles").EnumerateArray().Single(t => t.GetProperty("deviceId").GetGuid() == deviceId);
    }

    private static async Task TileShowsAsync(HttpClient teacher, Guid classId, Guid deviceId, Func<JsonElement, bool> condition, TimeSpan? timeout = null) =>
        await Poll.UntilAsync(async () => condition(await TileAsync(teacher, classId, deviceId)), timeout ?? Arrival);

    [Fact]
    public async Task ScreenView_StartedOnA_ReachesDevicesOnB_TheirImagesReachA_AndStoppingOnAStopsThem()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 2);
        await using var first = await ConnectAsync(b, lesson.Devices[0]);
        await using var second = await ConnectAsync(b, lesson.Devices[1]);

        (await lesson.Teacher.PostAsync($"/api/groups/{lesson.ClassId}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        foreach (var agent in new[] { first, second })
        {
            var view = await agent.ExpectAsync<ScreenViewFrame>(Arrival);
            view.Active.ShouldBeTrue();
            view.ViewerName.ShouldBe("Ms. Rivera");
        }

        // An image sent to B is what A's API returns, within a couple of seconds, and A's tile says it has one.
        var image = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 7, 7, 7, 0xFF, 0xD9 };
        var captured = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var screen = $"/api/groups/{lesson.ClassId}/screens/{first.DeviceId}";
        (await lesson.Teacher.GetAsync(screen)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        // The console page on A re-renders a tile when DeviceLiveState.Changed names its device; the device's connection
        // (which also changes the tile) is heard first, so what follows is the image's notice.
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, first.DeviceId, t => t.GetProperty("online").GetBoolean());
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.GetService<DeviceLiveState>().Changed += id =>
        {
            if (id == first.DeviceId)
            {
                changed.TrySetResult();
            }
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await first.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, captured, image), WebSocketMessageType.Binary);
        await changed.Task.WaitAsync(TimeSpan.FromSeconds(3));
        var toChange = clock.Elapsed;
        await Poll.UntilAsync(async () => (await lesson.Teacher.GetAsync(screen)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(3));
        output.WriteLine($"thumbnail sent to B: A's page told after {toChange.TotalMilliseconds:F0} ms, A's API has it after {clock.Elapsed.TotalMilliseconds:F0} ms");
        using (var shown = await lesson.Teacher.GetAsync(screen))
        {
            shown.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
            (await shown.Content.ReadAsByteArrayAsync()).ShouldBe(image);
        }

        // What the console's tile shows: the same image, through the path the page takes (read in the background on A).
        var classroom = a.GetService<global::Homeroom.Server.Classroom.Classroom>();
        var tile = new ClassDevice(first.DeviceId, "CART-0", DevicePlatform.ChromeOS, null, "CART-0");
        await Poll.UntilAsync(() => Task.FromResult(classroom.Screen(tile, lesson.ClassId, inSession: true)?.Image.ToArray().SequenceEqual(image) == true), TimeSpan.FromSeconds(3));

        await TileShowsAsync(lesson.Teacher, lesson.ClassId, first.DeviceId,
            t => t.GetProperty("screenCapturedAt").ValueKind != JsonValueKind.Null && t.GetProperty("screenCapturedAt").GetDateTimeOffset() == captured);
        (await lesson.Teacher.GetFromJsonAsync<JsonElement>($"/api/groups/{lesson.ClassId}/classroom")).GetProperty("viewing").GetBoolean().ShouldBeTrue();

        // A device that reconnects (to either node) while the view lasts is told again, with the name.
        await second.CloseAsync();
        await using (var again = await ConnectAsync(b, lesson.Devices[1]))
        {
            (await again.ExpectAsync<ScreenViewFrame>(Arrival)).ViewerName.ShouldBe("Ms. Rivera");
        }

        await using var moved = await ConnectAsync(a, lesson.Devices[1]);
        (await moved.ExpectAsync<ScreenViewFrame>(Arrival)).ViewerName.ShouldBe("Ms. Rivera");

        // Stopping on A stops B's devices, and the image is gone on A.
        (await lesson.Teacher.DeleteAsync($"/api/groups/{lesson.ClassId}/screen-view")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await first.ExpectAsync<ScreenViewFrame>(Arrival)).Active.ShouldBeFalse();
        (await moved.ExpectAsync<ScreenViewFrame>(Arrival)).Active.ShouldBeFalse();
        (await lesson.Teacher.GetAsync(screen)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await using var connection = new NpgsqlConnection(a.Database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT (SELECT count(*) FROM screen_views) + (SELECT count(*) FROM screen_thumbnails)", connection);
        ((long)(await count.ExecuteScalarAsync())!).ShouldBe(0);
    }

    [Fact]
    public async Task Tiles_OnA_ShowADeviceOnB_Online_LockedAfterItConfirms_OnItsPage_AndOfflineWhenItLeaves()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 2);
        var deviceId = lesson.Devices[0].DeviceId;
        (await TileAsync(lesson.Teacher, lesson.ClassId, deviceId)).GetProperty("online").GetBoolean().ShouldBeFalse();

        await using var agent = await ConnectAsync(b, lesson.Devices[0]);
        await using var other = await ConnectAsync(b, lesson.Devices[1]);
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => t.GetProperty("online").GetBoolean());

        // A class lock through A: the devices on B get it, confirm, and A's tiles show them locked.
        using (var locked = await lesson.Teacher.PostAsJsonAsync($"/api/groups/{lesson.ClassId}/commands", new { kind = "lock" }))
        {
            locked.EnsureSuccessStatusCode();
        }

        (await TileAsync(lesson.Teacher, lesson.ClassId, deviceId)).GetProperty("locked").GetBoolean().ShouldBeFalse();
        foreach (var device in new[] { agent, other })
        {
            var command = await device.ExpectAsync<CommandFrame>(Arrival);
            command.Kind.ShouldBe("lock");
            await device.AnswerAsync(command);
        }

        foreach (var device in new[] { agent, other })
        {
            await TileShowsAsync(lesson.Teacher, lesson.ClassId, device.DeviceId, t => t.GetProperty("locked").GetBoolean());
        }

        // The page a device on B visits shows on A's tile; an address near the protocol's limit travels whole (the notice
        // names the device only, and A reads its row).
        var page = "https://example.org/lesson?" + new string('q', 1_900);
        await agent.SendAsync(new ActivityFrame([new ActivityEvent(1, DateTimeOffset.UtcNow, ActivityKinds.WebVisit, page, "Fractions")]));
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId,
            t => t.GetProperty("currentUrl").GetString() == page && t.GetProperty("currentTitle").GetString() == "Fractions");

        await agent.CloseAsync();
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => !t.GetProperty("online").GetBoolean());
        (await TileAsync(lesson.Teacher, lesson.ClassId, other.DeviceId)).GetProperty("online").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task ClassLock_OnA_CountsLiveTheAcknowledgementsOfDevicesOnB_AndIgnoresMalformedNotices()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 3);
        await using var onA = await ConnectAsync(a, lesson.Devices[0]);
        await using var first = await ConnectAsync(b, lesson.Devices[1]);
        await using var second = await ConnectAsync(b, lesson.Devices[2]);
        var classroom = a.GetService<global::Homeroom.Server.Classroom.Classroom>();
        var progressed = 0;
        classroom.CommandProgressed += _ => Interlocked.Increment(ref progressed);

        Guid commandId;
        using (var locked = await lesson.Teacher.PostAsJsonAsync($"/api/groups/{lesson.ClassId}/commands", new { kind = "lock" }))
        {
            locked.EnsureSuccessStatusCode();
            commandId = (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        var frames = new Dictionary<TestAgent, CommandFrame>();
        foreach (var device in new[] { onA, first, second })
        {
            frames[device] = await device.ExpectAsync<CommandFrame>(Arrival);
            frames[device].CommandId.ShouldBe(commandId);
        }

        classroom.Progress(commandId)!.Value.ShouldBe((0, 3));

        // Acknowledgement notices that break a rule (they name the second device on B, which has not answered yet) change
        // no count and leave the listener as it was; they are committed before the first device's real notice, so they
        // are handled before it.
        var listener = a.GetService<BackplaneListener>();
        var pid = listener.ListenerProcessId;
        var command = commandId.ToString("N");
        var device2 = second.DeviceId.ToString("N");
        string[] malformed =
        [
            "a 0123456789ab " + command,
            "a 0123456789ab " + command + " ",
            "a 0123456789ab " + command + " " + device2 + ",",
            "a 0123456789ab " + command + " " + device2.ToUpperInvariant(),
            "a 0123456789ab " + command.ToUpperInvariant() + " " + device2,
            "a 0123456789ab " + command + "," + device2,
            "a 0123456789ab " + command + " " + device2 + ":1",
            "a 0123456789ab " + command[..31] + " " + device2,
            "a 0123456789ab  " + command + " " + device2,
        ];
        await using (var rogue = new NpgsqlConnection(a.Database.PostgresConnectionString))
        {
            await rogue.OpenAsync();
            foreach (var payload in malformed)
            {
                await using var notify = new NpgsqlCommand("SELECT pg_notify('homeroom_devices', $1)", rogue) { Parameters = { new() { Value = payload } } };
                await notify.ExecuteNonQueryAsync();
            }
        }

        // One device on B acknowledges: A's count (what the teacher's page shows) has it at once, and only it.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await first.SendAsync(new CommandStatusFrame(commandId, CommandStatusValues.Acknowledged));
        await Poll.UntilAsync(() => Task.FromResult(classroom.Progress(commandId)?.Acknowledged == 1), Arrival);
        output.WriteLine($"an acknowledgement on B counted on A after {clock.Elapsed.TotalMilliseconds:F0} ms");
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref progressed) == 1), Arrival);
        listener.IsListening.ShouldBeTrue();
        listener.ListenerProcessId.ShouldBe(pid);

        // The rest answer in full (acknowledged, then succeeded); each device counts once, on either node.
        foreach (var device in new[] { first, second, onA })
        {
            await device.AnswerAsync(frames[device]);
        }

        (await a.GetService<CommandProgress>().WaitForAllAsync(commandId, Arrival)).Complete.ShouldBeTrue();
        classroom.Progress(commandId)!.Value.ShouldBe((3, 3));
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref progressed) == 3), Arrival);
    }

    [Fact]
    public async Task ScreenView_StoppedOnB_EndsOnAnOpenPageOnA_AndTakenOverByAnotherClass_EndsForTheFirst()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 2);
        await using var first = await ConnectAsync(b, lesson.Devices[0]);
        await using var second = await ConnectAsync(b, lesson.Devices[1]);
        var classroom = a.GetService<global::Homeroom.Server.Classroom.Classroom>();
        var ended = new System.Collections.Concurrent.ConcurrentQueue<Guid>();
        classroom.ViewEnded += ended.Enqueue;

        (await lesson.Teacher.PostAsync($"/api/groups/{lesson.ClassId}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        foreach (var agent in new[] { first, second })
        {
            (await agent.ExpectAsync<ScreenViewFrame>(Arrival)).Active.ShouldBeTrue();
        }

        classroom.Watching(lesson.ClassId, first.DeviceId).ShouldBeTrue();

        // Another class (started through B) takes the second device over: A's page of the first class hears it.
        var art = (await a.PostJsonAsync<JsonElement>("/api/groups", new { name = "Art", kind = "class" })).GetProperty("id").GetGuid();
        (await a.PostJsonAsync($"/api/groups/{art}/members", new { deviceIds = new[] { second.DeviceId } })).EnsureSuccessStatusCode();
        using (var session = await b.Client.PostAsJsonAsync($"/api/groups/{art}/session", new { minutes = 30 }))
        {
            session.EnsureSuccessStatusCode();
        }

        (await b.Client.PostAsync($"/api/groups/{art}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await second.ExpectAsync<ScreenViewFrame>(Arrival)).Active.ShouldBeTrue();
        await Poll.UntilAsync(() => Task.FromResult(ended.Contains(lesson.ClassId)), Arrival);
        classroom.Watching(lesson.ClassId, second.DeviceId).ShouldBeFalse();
        classroom.Watching(lesson.ClassId, first.DeviceId).ShouldBeTrue();
        ended.Clear();

        // Stopped through B (another staff member, another node): the open page on A is told, and A no longer watches.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (await b.Client.DeleteAsync($"/api/groups/{lesson.ClassId}/screen-view")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await Poll.UntilAsync(() => Task.FromResult(ended.Contains(lesson.ClassId)), Arrival);
        output.WriteLine($"a view stopped on B ended on A after {clock.Elapsed.TotalMilliseconds:F0} ms");
        classroom.Watching(lesson.ClassId, first.DeviceId).ShouldBeFalse();
        (await first.ExpectAsync<ScreenViewFrame>(Arrival)).Active.ShouldBeFalse();
        (await lesson.Teacher.GetFromJsonAsync<JsonElement>($"/api/groups/{lesson.ClassId}/classroom")).GetProperty("viewing").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task NodeFallsSilent_ItsDevicesGoOfflineOnTheOtherNodeWithinTheSilenceTimeout()
    {
        var (a, b) = await StartTwoNodesAsync(QuickHeartbeats);
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 1);
        await using var agent = await ConnectAsync(b, lesson.Devices[0]);
        var deviceId = lesson.Devices[0].DeviceId;
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => t.GetProperty("online").GetBoolean());
        // Heartbeats keep it online past the silence timeout.
        await Task.Delay(TimeSpan.FromSeconds(7));
        (await TileAsync(lesson.Teacher, lesson.ClassId, deviceId)).GetProperty("online").GetBoolean().ShouldBeTrue();

        // B stops telling (as a hung or cut-off node would); its device stays connected to it, so no offline row is
        // ever written: only B's silence can take the device offline on A.
        await b.GetService<ClusterDeviceState>().StopAsync(CancellationToken.None);
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => !t.GetProperty("online").GetBoolean(), TimeSpan.FromSeconds(15));
        agent.State.ShouldBe(WebSocketState.Open);
    }

    [Fact]
    public async Task ListenerLost_WhatOtherNodesSaidIsUnknownUntilHeardAgain()
    {
        var (a, b) = await StartTwoNodesAsync("Homeroom:Backplane:ReconnectMinDelay=00:00:03");
        await using var nodeA = a;
        await using var nodeB = b;
        using var lesson = await LessonAsync(a, 1);
        await using var agent = await ConnectAsync(b, lesson.Devices[0]);
        var deviceId = lesson.Devices[0].DeviceId;
        using (var locked = await lesson.Teacher.PostAsJsonAsync($"/api/groups/{lesson.ClassId}/commands", new { kind = "lock" }))
        {
            locked.EnsureSuccessStatusCode();
        }

        await agent.AnswerAsync(await agent.ExpectAsync<CommandFrame>(Arrival));
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => t.GetProperty("online").GetBoolean() && t.GetProperty("locked").GetBoolean());

        var listener = a.GetService<BackplaneListener>();
        await using (var admin = new NpgsqlConnection(a.Database.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new() { Value = listener.ListenerProcessId } } };
            ((bool)(await terminate.ExecuteScalarAsync())!).ShouldBeTrue();
        }

        // Not a stale "locked, online" while A cannot hear B; back once A listens again and reads what B wrote.
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => !t.GetProperty("online").GetBoolean() && !t.GetProperty("locked").GetBoolean());
        listener.IsListening.ShouldBeFalse();
        await TileShowsAsync(lesson.Teacher, lesson.ClassId, deviceId, t => t.GetProperty("online").GetBoolean() && t.GetProperty("locked").GetBoolean(), TimeSpan.FromSeconds(15));
        listener.IsListening.ShouldBeTrue();
    }
}
