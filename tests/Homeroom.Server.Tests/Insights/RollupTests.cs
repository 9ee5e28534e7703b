using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Insights;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Insights;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Tests.Insights;

/// <summary>
/// The rollups equal a plain recomputation from the raw events the database kept, for random event
/// streams with resent (duplicate) batches, late events, events far in the future or past, absurd
/// durations, unknown categories and inventory snapshots, on the days around the spring DST change of
/// a Chicago school (8 March 2026) and a Berlin school (29 March 2026); and a rebuild gives the same rows.
/// </summary>
public abstract class RollupTests(DatabaseProvider provider) : IAsyncLifetime
{
    // Raw events are kept ten years here, so the test's March 2026 events survive the retention job.
    private const int RetentionDays = 3650;
    private static readonly DateTime Start = new(2026, 3, 5, 0, 0, 0, DateTimeKind.Utc);

    private HomeroomHost _host = null!;

    /// <summary>The server under test (a provider's own tests reach it).</summary>
    protected HomeroomHost Host => _host;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider, $"Homeroom:Activity:Retention={RetentionDays}.00:00:00");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private sealed record Roster(Guid Device, Guid School, int Grade, string Platform, Guid Student, TimeZoneInfo Zone, Guid[] Groups);

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<List<Roster>> BuildRosterAsync()
    {
        var chicago = await IdAsync("/api/schools", new { name = "Lakeside", timeZone = "America/Chicago" });
        var berlin = await IdAsync("/api/schools", new { name = "Spree", timeZone = "Europe/Berlin" });
        var classA = await IdAsync("/api/groups", new { name = "5A", kind = "class", schoolId = chicago });
        var club = await IdAsync("/api/groups", new { name = "Robotics", kind = "custom", schoolId = chicago });
        var ana = await IdAsync("/api/people", new { kind = "student", givenName = "Ana", familyName = "Lopez", schoolId = chicago, gradeLevel = 5 });
        var ben = await IdAsync("/api/people", new { kind = "student", givenName = "Ben", familyName = "Ode", schoolId = chicago, gradeLevel = 6 });
        (await _host.PostJsonAsync($"/api/groups/{classA}/members", new { personIds = new[] { ana, ben } })).EnsureSuccessStatusCode();

        var a = (await _host.EnrollAsync(await _host.CreateTokenAsync(schoolId: chicago), "RU-A")).DeviceId;
        var b = (await _host.EnrollAsync(await _host.CreateTokenAsync(schoolId: chicago), "RU-B", DevicePlatform.IPadOS)).DeviceId;
        var c = (await _host.EnrollAsync(await _host.CreateTokenAsync(schoolId: berlin), "RU-C")).DeviceId;
        var d = (await _host.EnrollAsync(await _host.CreateTokenAsync(), "RU-D")).DeviceId;
        (await _host.Client.PatchAsync($"/api/devices/{a}", JsonContent(new { assignedPersonId = ana }))).EnsureSuccessStatusCode();
        (await _host.Client.PatchAsync($"/api/devices/{b}", JsonContent(new { assignedPersonId = ben }))).EnsureSuccessStatusCode();
        (await _host.PostJsonAsync($"/api/groups/{club}/members", new { deviceIds = new[] { b } })).EnsureSuccessStatusCode();

        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        // A device of no school days by the district's zone (UTC when no district row names one).
        var districtZone = await db.Districts.OrderBy(x => x.Id).Select(x => x.TimeZone).FirstOrDefaultAsync() is { } zone ? TimeZoneInfo.FindSystemTimeZoneById(zone) : TimeZoneInfo.Utc;
        var zoneOf = new Dictionary<Guid, TimeZoneInfo>
        {
            [chicago] = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"),
            [berlin] = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"),
        };
        var devices = await db.Devices.AsNoTracking().Where(x => new[] { a, b, c, d }.Contains(x.Id)).ToListAsync();
        return devices.Select(x => new Roster(
            x.Id,
            x.SchoolId ?? Guid.Empty,
            x.Id == a ? 5 : x.Id == b ? 6 : InsightFold.NoGrade,
            x.Platform.ToString().ToLowerInvariant(),
            x.Id == a ? ana : x.Id == b ? ben : x.Id,
            x.SchoolId is { } s ? zoneOf[s] : districtZone,
            x.Id == a ? [classA] : x.Id == b ? [classA, club] : [])).ToList();
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private static readonly string?[] Urls =
    [
        "https://www.example.org/a", "https://docs.example.org/b?q=1", "https://maps.google.co.uk/", "https://GOOGLE.com/search",
        "https://10.0.0.7/admin", "poki.com/games", "not a url", null,
    ];

    private static readonly string?[] Apps = ["com.khan.academy", "com.roblox.client", " org.chess ", "", null];
    private static readonly string?[] Details = ["games", " Social ", "", null, "focused", "unfocused", "Brand-New-" + new string('x', 120)];
    private static readonly string[] Kinds = ["web.visit", "web.blocked", "web.usage", "app.usage", "app.blocked", "app.inventory"];

    private static ActivityEvent RandomEvent(Random random, long seq, DateTime received)
    {
        // Mostly within three days before receipt; some late by weeks, some far ahead, some older than retention.
        var roll = random.Next(100);
        var occurred = roll switch
        {
            < 3 => received.AddDays(1).AddMinutes(random.Next(1, 3000)),
            < 6 => received.AddDays(-RetentionDays - random.Next(1, 30)),
            < 15 => received.AddDays(-random.Next(7, 25)).AddMinutes(random.Next(1440)),
            _ => received.AddMinutes(-random.Next(0, 3 * 1440)),
        };
        int? duration = random.Next(6) switch { 0 => null, 1 => 30 * 3600, 2 => -5, _ => random.Next(0, 900) };
        return new ActivityEvent(seq, new DateTimeOffset(occurred, TimeSpan.Zero), Kinds[random.Next(Kinds.Length)],
            Urls[random.Next(Urls.Length)], "Title", Apps[random.Next(Apps.Length)], duration, Details[random.Next(Details.Length)]);
    }

    /// <summary>Stores a random stream (resends, late, future and too-old events, inventories) through the writer.</summary>
    private async Task StreamAsync(List<Roster> roster, int seed, int rounds = 160, long firstSeq = 1)
    {
        var writer = _host.GetService<ActivityWriter>();
        var random = new Random(seed);
        var nextSeq = roster.ToDictionary(r => r.Device, _ => firstSeq);
        var sent = new List<ActivityBatch>();
        var pending = new List<Task>();
        for (var round = 0; round < rounds; round++)
        {
            var device = roster[random.Next(roster.Count)].Device;
            // Receipts walk through 5 March to 2 April 2026, across both DST changes.
            var received = Start.AddHours(round * 4.2 + random.Next(4));
            ActivityBatch batch;
            if (sent.Count > 0 && random.Next(5) == 0)
            {
                // A resend: the same sequence numbers (content may differ, as a buggy agent's would); only the first is kept.
                var earlier = sent[random.Next(sent.Count)];
                var events = earlier.Events.Select(e => random.Next(3) == 0 ? e with { DurationSeconds = 777 } : e).ToList();
                if (random.Next(2) == 0)
                {
                    events.Add(RandomEvent(random, nextSeq[earlier.DeviceId]++, received));
                }

                batch = new ActivityBatch(earlier.DeviceId, events, received);
            }
            else
            {
                var count = random.Next(1, 40);
                var events = Enumerable.Range(0, count).Select(_ => RandomEvent(random, nextSeq[device]++, received)).ToList();
                batch = new ActivityBatch(device, events, received);
            }

            sent.Add(batch);
            await writer.EnqueueAsync(batch);
            pending.Add(batch.Stored.Task);
            if (random.Next(4) == 0)
            {
                await Task.WhenAll(pending).WaitAsync(HomeroomHost.Timeout);
            }
        }

        await Task.WhenAll(pending).WaitAsync(HomeroomHost.Timeout);
    }

    [Fact]
    public async Task Rollups_RandomStreamsWithResendsLateEventsAndDst_EqualARecomputationFromRawEvents()
    {
        var roster = await BuildRosterAsync();
        await StreamAsync(roster, provider == DatabaseProvider.Sqlite ? 20260308 : 20260329);

        var expected = await RecomputeAsync(roster);
        expected.Daily.Count.ShouldBeGreaterThan(50, "the stream produced a real spread of rows");
        expected.Daily.Keys.Select(k => k.Period).Distinct().Count().ShouldBeGreaterThan(20);
        await _host.GetService<InsightFolder>().CatchUpAsync();
        var actual = await ReadRollupsAsync();
        Same(actual, expected, "live");

        var folded = await _host.GetService<InsightsRebuild>().RunAsync(CancellationToken.None);
        folded.ShouldBeGreaterThan(0);
        Same(await ReadRollupsAsync(), expected, "rebuilt");
    }

    [Fact]
    public async Task Rollups_WrittenOverManyFlushes_MergeIntoTheStoredRowsAsARecomputationFromRawEvents()
    {
        // Each flush adds to rows earlier flushes wrote: sums added and, on SQLite, sketches merged in the upsert itself.
        var roster = await BuildRosterAsync();
        var folder = _host.GetService<InsightFolder>();
        for (var part = 0; part < 4; part++)
        {
            await StreamAsync(roster, (provider == DatabaseProvider.Sqlite ? 4015 : 4016) + part, rounds: 50, firstSeq: 1 + (part * 100_000));
            await folder.CatchUpAsync();
        }

        var expected = await RecomputeAsync(roster);
        expected.Tables[RollupTable.DistrictSubjectDaily.Name].Values.Count(r => r.Students > 1).ShouldBeGreaterThan(5, "rows count several students, whose sketches were merged");
        Same(await ReadRollupsAsync(), expected, "over four flushes");
    }

    /// <summary>
    /// Devices whose dimensions are equal (school, grade, platform, classes and groups) and devices that differ
    /// from them in exactly one: the fold adds each event to one cell per such set of dimensions and expands the
    /// cells to every table at the write, so cells shared by several devices, and cells that must stay apart,
    /// are both here.
    /// </summary>
    private async Task<List<Roster>> BuildSharedProfilesRosterAsync()
    {
        var chicago = await IdAsync("/api/schools", new { name = "Lakeside", timeZone = "America/Chicago" });
        var berlin = await IdAsync("/api/schools", new { name = "Spree", timeZone = "Europe/Berlin" });
        var classA = await IdAsync("/api/groups", new { name = "5A", kind = "class", schoolId = chicago });
        var classB = await IdAsync("/api/groups", new { name = "5B", kind = "class", schoolId = chicago });
        var club = await IdAsync("/api/groups", new { name = "Robotics", kind = "custom", schoolId = chicago });
        var zones = new Dictionary<Guid, TimeZoneInfo>
        {
            [chicago] = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"),
            [berlin] = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"),
        };
        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var districtZone = await db.Districts.OrderBy(x => x.Id).Select(x => x.TimeZone).FirstOrDefaultAsync() is { } zone ? TimeZoneInfo.FindSystemTimeZoneById(zone) : TimeZoneInfo.Utc;

        // (school, grade or null for no student, platform, the student's groups, the device's own groups)
        (Guid? School, int? Grade, DevicePlatform Platform, Guid[] PersonGroups, Guid[] DeviceGroups)[] shapes =
        [
            (chicago, 5, DevicePlatform.ChromeOS, [classA], []),
            (chicago, 5, DevicePlatform.ChromeOS, [classA], []),            // the same as the first
            (chicago, 5, DevicePlatform.ChromeOS, [classA], []),            // and again
            (chicago, 6, DevicePlatform.ChromeOS, [classA], []),            // another grade
            (chicago, 5, DevicePlatform.ChromeOS, [classB], []),            // another class
            (chicago, 5, DevicePlatform.IPadOS, [classA], []),              // another platform
            (chicago, 5, DevicePlatform.ChromeOS, [classA], [club]),        // one more group, by device
            (chicago, 5, DevicePlatform.ChromeOS, [classA, club], []),      // the same groups, by student
            (berlin, 5, DevicePlatform.ChromeOS, [], []),                   // another school
            (chicago, 5, DevicePlatform.ChromeOS, [], []),                  // no group
            (chicago, null, DevicePlatform.ChromeOS, [], []),               // no student: the device counts itself
            (chicago, null, DevicePlatform.ChromeOS, [], []),               // the same dimensions, another device
            (null, null, DevicePlatform.ChromeOS, [], []),                  // no school
        ];
        var roster = new List<Roster>();
        for (var i = 0; i < shapes.Length; i++)
        {
            var (school, grade, platform, personGroups, deviceGroups) = shapes[i];
            var device = (await _host.EnrollAsync(await _host.CreateTokenAsync(schoolId: school), $"RU-P{i}", platform)).DeviceId;
            var student = device;
            if (grade is { } level)
            {
                student = await IdAsync("/api/people", new { kind = "student", givenName = "S" + i, familyName = "P", schoolId = school, gradeLevel = level });
                (await _host.Client.PatchAsync($"/api/devices/{device}", JsonContent(new { assignedPersonId = student }))).EnsureSuccessStatusCode();
            }

            foreach (var group in personGroups)
            {
                (await _host.PostJsonAsync($"/api/groups/{group}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
            }

            foreach (var group in deviceGroups)
            {
                (await _host.PostJsonAsync($"/api/groups/{group}/members", new { deviceIds = new[] { device } })).EnsureSuccessStatusCode();
            }

            roster.Add(new Roster(device, school ?? Guid.Empty, grade ?? InsightFold.NoGrade, platform.ToString().ToLowerInvariant(), student,
                school is { } s ? zones[s] : districtZone, [.. personGroups.Concat(deviceGroups).Distinct()]));
        }

        return roster;
    }

    [Fact]
    public async Task Rollups_DevicesSharingAndDifferingInOneDimension_EqualARecomputationFromRawEvents()
    {
        var roster = await BuildSharedProfilesRosterAsync();
        var folder = _host.GetService<InsightFolder>();
        for (var part = 0; part < 3; part++)
        {
            await StreamAsync(roster, (provider == DatabaseProvider.Sqlite ? 7015 : 7016) + part, rounds: 120, firstSeq: 1 + (part * 100_000));
            await folder.CatchUpAsync();
        }

        var expected = await RecomputeAsync(roster);
        expected.Daily.Values.Count(r => r.Students > 2).ShouldBeGreaterThan(5, "rows gather the events of several devices of the same dimensions");
        expected.Groups.Count.ShouldBeGreaterThan(50);
        Same(await ReadRollupsAsync(), expected, "shared and differing dimensions");
    }

    [Fact]
    public async Task Folder_StoppedAfterFoldingAndPartWayThroughAWrite_FoldsAgainAtStartWithNothingLostOrCountedTwice()
    {
        // Sums stay in memory for an hour here: only the test's explicit steps write them.
        await _host.DisposeAsync();
        _host = await HomeroomHost.StartAsync(provider, $"Homeroom:Activity:Retention={RetentionDays}.00:00:00",
            "Homeroom:Insights:FlushInterval=01:00:00", "Homeroom:Insights:FoldInterval=00:00:00.050");
        var roster = await BuildRosterAsync();
        var random = new Random(provider == DatabaseProvider.Sqlite ? 15015 : 15016);
        var nextSeq = roster.ToDictionary(r => r.Device, _ => 1L);
        async Task SendAsync(int rounds, int from)
        {
            var writer = _host.GetService<ActivityWriter>();
            var pending = new List<Task<bool>>();
            for (var round = from; round < from + rounds; round++)
            {
                var device = roster[random.Next(roster.Count)].Device;
                var received = Start.AddHours(round * 4.2);
                var batch = new ActivityBatch(device, Enumerable.Range(0, random.Next(1, 40)).Select(_ => RandomEvent(random, nextSeq[device]++, received)).ToList(), received);
                await writer.EnqueueAsync(batch);
                pending.Add(batch.Stored.Task);
            }

            (await Task.WhenAll(pending).WaitAsync(HomeroomHost.Timeout)).ShouldAllBe(stored => stored);
        }

        async Task<long> RawCountAsync()
        {
            await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.ActivityEvents.LongCountAsync();
        }

        async Task WaitUntilFoldedInMemoryAsync(long events)
        {
            var folder = _host.GetService<InsightFolder>();
            while (folder.PendingEvents < events)
            {
                await Task.Delay(20).WaitAsync(HomeroomHost.Timeout);
            }
        }

        // 1. Folded into memory, never written, then stopped: the tables are still empty.
        await SendAsync(60, 0);
        await WaitUntilFoldedInMemoryAsync(await RawCountAsync()).WaitAsync(HomeroomHost.Timeout);
        (await ReadRollupsAsync()).Daily.ShouldBeEmpty("nothing is written before the flush interval");
        await _host.RestartAsync();

        // 2. More events; the new process folds all of them, writes a few partitions, and stops part-way.
        await SendAsync(60, 60);
        var expected = await RecomputeAsync(roster);
        var expectedRows = expected.Daily.Count + expected.Monthly.Count + expected.Groups.Count;
        await _host.GetService<InsightFolder>().FoldAndWritePartAsync(5, CancellationToken.None).WaitAsync(HomeroomHost.Timeout);
        var part = await ReadRollupsAsync();
        var partRows = part.Daily.Count + part.Monthly.Count + part.Groups.Count;
        partRows.ShouldBeGreaterThan(0, "some partitions were written");
        partRows.ShouldBeLessThan(expectedRows, "others were not");
        await _host.RestartAsync();

        // 3. The next start folds again from each partition's watermark: the rollups equal a recomputation.
        await _host.GetService<InsightFolder>().CatchUpAsync().WaitAsync(HomeroomHost.Timeout);
        Same(await ReadRollupsAsync(), expected, "after two stops");
    }

    [Fact]
    public async Task Folder_APageStoredBeforeTheFoldInterval_FoldsItWithoutWaitingForTheInterval()
    {
        // A round every ten minutes at most, a page of 100 events: only the writer's page can start a round within the test.
        await _host.DisposeAsync();
        _host = await HomeroomHost.StartAsync(provider, $"Homeroom:Activity:Retention={RetentionDays}.00:00:00",
            "Homeroom:Insights:FlushInterval=01:00:00", "Homeroom:Insights:FoldInterval=00:10:00", "Homeroom:Insights:RebuildBatch=100");
        var roster = await BuildRosterAsync();
        var writer = _host.GetService<ActivityWriter>();
        var folder = _host.GetService<InsightFolder>();
        var random = new Random(provider == DatabaseProvider.Sqlite ? 16015 : 16016);
        var nextSeq = roster.ToDictionary(r => r.Device, _ => 1L);
        async Task SendAsync(int events)
        {
            var device = roster[random.Next(roster.Count)].Device;
            var received = Start.AddHours(random.Next(48));
            var batch = new ActivityBatch(device, Enumerable.Range(0, events).Select(_ => RandomEvent(random, nextSeq[device]++, received)).ToList(), received);
            await writer.EnqueueAsync(batch);
            (await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout)).ShouldBeTrue();
        }

        async Task WaitUntilFoldedAsync(long events)
        {
            while (folder.FoldedCount < events)
            {
                await Task.Delay(20).WaitAsync(HomeroomHost.Timeout);
            }
        }

        // The first page may meet the round that runs at start; the second comes while the folder waits out its interval.
        await SendAsync(150);
        await WaitUntilFoldedAsync(150).WaitAsync(HomeroomHost.Timeout);
        await SendAsync(120);
        await WaitUntilFoldedAsync(270).WaitAsync(HomeroomHost.Timeout);
    }

    [Fact]
    public async Task Folder_ADatabaseWhereNothingWasFolded_HasItsDistrictTablesReadyBeforeAnyFlush()
    {
        // Nothing written yet: the district tables hold what the (empty) school tables hold, with no fill to wait for.
        async Task<long> ReadyAsync()
        {
            await using var connection = await _host.GetService<BulkSql>().OpenAsync(CancellationToken.None);
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT district_ready FROM insight_fold_state WHERE id = 1";
            return Convert.ToInt64(await read.ExecuteScalarAsync());
        }

        async Task WaitUntilReadyAsync()
        {
            while (await ReadyAsync() != 1)
            {
                await Task.Delay(20);
            }
        }

        await WaitUntilReadyAsync().WaitAsync(HomeroomHost.Timeout);
        _host.GetService<InsightFolder>().FoldedCount.ShouldBe(0, "no event was folded, so no flush filled them");
    }

    [Fact]
    public async Task DistrictFill_AfterAnUpgradeAddedDistrictTables_EqualsARecomputationFromRawEvents()
    {
        var roster = await BuildRosterAsync();
        await StreamAsync(roster, provider == DatabaseProvider.Sqlite ? 150011 : 150012, rounds: 120);
        await _host.GetService<InsightFolder>().CatchUpAsync();
        var expected = await RecomputeAsync(roster);

        // As after a migration that adds district tables: they are empty (or hold stale rows) until the
        // fill (on PostgreSQL a COPY into the emptied tables) writes the sums of the school tables.
        var bulk = _host.GetService<BulkSql>();
        long filled;
        await using (var connection = await bulk.OpenAsync(CancellationToken.None))
        {
            await using var transaction = await connection.BeginTransactionAsync();
            foreach (var table in RollupTable.All.Where(t => t.ScopeColumn is null))
            {
                await using var stale = connection.CreateCommand();
                stale.Transaction = transaction;
                stale.CommandText = $"UPDATE {table.Name} SET events = events + 1000";
                await stale.ExecuteNonQueryAsync();
            }

            filled = await _host.GetService<InsightRollups>().FillDistrictAsync(connection, transaction, CancellationToken.None);
            await transaction.CommitAsync();
        }

        filled.ShouldBe(RollupTable.All.Where(t => t.ScopeColumn is null).Sum(t => (long)expected.Tables[t.Name].Count), "one row per district key");
        expected.Tables[RollupTable.DistrictPlatformWeekly.Name].Count.ShouldBeGreaterThan(10, "the stream filled the platform tables' weeks");
        Same(await ReadRollupsAsync(), expected, "filled from the school tables");
    }

    [Fact]
    public async Task DistrictTables_RandomRangesAndPlatforms_AnswerEveryReportAsTheSchoolTablesDo()
    {
        var roster = await BuildRosterAsync();
        await StreamAsync(roster, provider == DatabaseProvider.Sqlite ? 150001 : 150002, rounds: 120);
        await _host.GetService<InsightFolder>().CatchUpAsync();

        var withDistrict = _host.GetService<InsightsQueries>();
        var schoolTablesOnly = new InsightsQueries(_host.GetService<BulkSql>(), _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>(),
            _host.GetService<AuditTrail>(), _host.Services.GetRequiredService<IOptions<InsightsOptions>>(), TimeProvider.System) { ReadDistrictTables = false };
        var random = new Random(15);
        string?[] platforms = [null, null, "chromeos", "ipados"];
        int?[] grades = [null, null, 5, 6, InsightFold.NoGrade];
        var nonEmpty = 0;
        for (var i = 0; i < 60; i++)
        {
            // Ranges from a few days to three months around March 2026: partial months, whole months, both.
            var from = new DateOnly(2026, 2, 1).AddDays(random.Next(0, 60));
            var filter = new InsightFilter(from, from.AddDays(random.Next(0, 90)), Grade: grades[random.Next(grades.Length)], Platform: platforms[random.Next(platforms.Length)]);
            var limit = random.Next(1, 12);
            async Task SameAsync<T>(Func<InsightsQueries, Task<InsightReport<T>>> report, string what)
            {
                var expected = await report(schoolTablesOnly);
                var actual = await report(withDistrict);
                actual.Rows.ShouldBe(expected.Rows, $"{what} {filter.From}..{filter.To} grade {filter.Grade} {filter.Platform}");
                nonEmpty += expected.Rows.Count > 0 ? 1 : 0;
            }

            var scope = StaffScope.System;
            await SameAsync(q => q.MostBlockedAsync(scope, filter, apps: false, limit, CancellationToken.None), "most-blocked sites");
            await SameAsync(q => q.MostBlockedAsync(scope, filter, apps: true, limit, CancellationToken.None), "most-blocked apps");
            await SameAsync(q => q.BlockedCategoriesAsync(scope, filter, limit, CancellationToken.None), "blocked categories");
            await SameAsync(q => q.TopUsageAsync(scope, filter, apps: false, UsageOrder.Time, limit, CancellationToken.None), "top sites by time");
            await SameAsync(q => q.TopUsageAsync(scope, filter, apps: false, UsageOrder.Students, limit, CancellationToken.None), "top sites by students");
            await SameAsync(q => q.TopUsageAsync(scope, filter, apps: true, UsageOrder.Students, limit, CancellationToken.None), "top apps by students");
            await SameAsync(q => q.AppAdoptionAsync(scope, filter, null, limit, CancellationToken.None), "app adoption");
        }

        nonEmpty.ShouldBeGreaterThan(200, "most of the reports compared had rows");

        // A platform across the district (the platform × subject tables): ranges of whole weeks and months
        // with partial ones around them, on each platform, and on a platform no device has.
        var platformRows = 0;
        foreach (var platform in new[] { "chromeos", "ipados", "macos" })
        {
            for (var i = 0; i < 12; i++)
            {
                var from = new DateOnly(2026, 2, 20).AddDays(random.Next(0, 30));
                var filter = new InsightFilter(from, from.AddDays(random.Next(6, 45)), Platform: platform);
                var limit = random.Next(1, 12);
                foreach (var apps in new[] { false, true })
                {
                    var expectedBlocked = await schoolTablesOnly.MostBlockedAsync(StaffScope.System, filter, apps, limit, CancellationToken.None);
                    (await withDistrict.MostBlockedAsync(StaffScope.System, filter, apps, limit, CancellationToken.None)).Rows
                        .ShouldBe(expectedBlocked.Rows, $"most-blocked {(apps ? "apps" : "sites")} {filter.From}..{filter.To} {platform}");
                    foreach (var order in new[] { UsageOrder.Time, UsageOrder.Students })
                    {
                        var expectedUsage = await schoolTablesOnly.TopUsageAsync(StaffScope.System, filter, apps, order, limit, CancellationToken.None);
                        (await withDistrict.TopUsageAsync(StaffScope.System, filter, apps, order, limit, CancellationToken.None)).Rows
                            .ShouldBe(expectedUsage.Rows, $"top {(apps ? "apps" : "sites")} by {order} {filter.From}..{filter.To} {platform}");
                        platformRows += expectedUsage.Rows.Count;
                    }

                    platformRows += expectedBlocked.Rows.Count;
                }
            }
        }

        platformRows.ShouldBeGreaterThan(100, "the platform reports compared had rows");
    }

    [Fact]
    public async Task TopByStudents_SketchesReadOverSeveralConnections_CountAStudentOfBothWebKindsOnce()
    {
        var roster = await BuildRosterAsync();
        var writer = _host.GetService<ActivityWriter>();
        var received = new DateTime(2026, 3, 10, 18, 0, 0, DateTimeKind.Utc);
        var expected = new Dictionary<string, long>();
        long seq = 1;
        for (var site = 0; site < 11; site++)
        {
            var subject = $"site{site}.org";
            var students = new HashSet<Guid>();
            for (var j = 0; j < roster.Count; j++)
            {
                // Some students only visit, some only have focused time, some both (in February's monthly row
                // and March's daily rows): each is one student of the site.
                var visits = (site + j) % 3 != 0;
                var uses = (site * j) % 2 == 1 || j == site % roster.Count;
                var events = new List<ActivityEvent>();
                foreach (var at in new[] { new DateTime(2026, 2, 12, 17, 0, 0, DateTimeKind.Utc), received.AddHours(-site) })
                {
                    if (visits)
                    {
                        events.Add(new ActivityEvent(seq++, new DateTimeOffset(at, TimeSpan.Zero), "web.visit", $"https://www.{subject}/p", "Title", null, null, null));
                    }

                    if (uses)
                    {
                        events.Add(new ActivityEvent(seq++, new DateTimeOffset(at.AddMinutes(1), TimeSpan.Zero), "web.usage", $"https://www.{subject}/p", "Title", null, 60 + site, "focused"));
                    }
                }

                if (events.Count == 0)
                {
                    continue;
                }

                students.Add(roster[j].Student);
                var batch = new ActivityBatch(roster[j].Device, events, received);
                await writer.EnqueueAsync(batch);
                await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout);
            }

            expected[subject] = students.Count;
        }

        expected.Values.Distinct().Count().ShouldBeGreaterThan(1, "the sites differ in students");
        await _host.GetService<InsightFolder>().CatchUpAsync();

        var filter = new InsightFilter(new DateOnly(2026, 2, 1), new DateOnly(2026, 3, 20));
        foreach (var connections in new[] { 1, 2, 3, 8 })
        {
            foreach (var districtTables in new[] { true, false })
            {
                var queries = new InsightsQueries(_host.GetService<BulkSql>(), _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>(),
                    _host.GetService<AuditTrail>(), Options.Create(new InsightsOptions { SketchReadConnections = connections }), TimeProvider.System)
                { ReadDistrictTables = districtTables };
                var report = await queries.TopUsageAsync(StaffScope.System, filter, apps: false, UsageOrder.Students, 20, CancellationToken.None);
                report.Rows.ToDictionary(r => r.Subject, r => r.Students)
                    .ShouldBe(expected, ignoreOrder: true, $"{connections} connections, district tables {districtTables}");
            }
        }
    }

    [Fact]
    public async Task SchoolAdmin_DistrictWideRequest_NeverReadsTheDistrictTables()
    {
        var roster = await BuildRosterAsync();
        await StreamAsync(roster, 150003, rounds: 60);
        await _host.GetService<InsightFolder>().CatchUpAsync();
        var chicago = roster.First(r => r.Zone.Id == "America/Chicago").School;

        // A row only the district tables hold (each of them, grade 5's for the grade table): whoever reads them sees this site.
        var bulk = _host.GetService<BulkSql>();
        // A Tuesday after the range's last whole week, so the subject tables read it from their daily table.
        var day = InsightFold.DayNumber(new DateOnly(2026, 3, 31));
        await using (var connection = await bulk.OpenAsync(CancellationToken.None))
        {
            foreach (var table in RollupTable.All.Where(t => t.ScopeColumn is null && t.Period == RollupPeriod.Day))
            {
                await using var command = connection.CreateCommand();
                var key = table.KeyOf(day, Guid.Empty, 5, "chromeos", "web.blocked", "district-only.example", "district-only");
                var values = table.KeyValues(key, bulk.Id).Concat(new object[] { 0L, 0L, 100000L, new DistinctSketch().ToBytes() }).ToArray();
                command.CommandText = $"INSERT INTO {table.Name} ({string.Join(", ", table.KeyColumns)}, seconds, unfocused_seconds, events, students) " +
                    $"VALUES ({string.Join(", ", values.Select((_, i) => $"@v{i}"))})";
                for (var i = 0; i < values.Length; i++)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = $"@v{i}";
                    parameter.Value = values[i];
                    command.Parameters.Add(parameter);
                }

                await command.ExecuteNonQueryAsync();
            }
        }

        var queries = _host.GetService<InsightsQueries>();
        // Not the whole of March: the marker is a daily row, and a whole month reads the monthly table.
        var filter = new InsightFilter(new DateOnly(2026, 3, 2), new DateOnly(2026, 3, 31));
        new DateOnly(2026, 3, 31).DayOfWeek.ShouldBe(DayOfWeek.Tuesday);
        var admin = new StaffScope(Guid.NewGuid(), "lakeside-admin", "Lakeside admin", StaffRole.SchoolAdmin, chicago, null);
        InsightFilter[] asks = [filter, filter with { Platform = "chromeos" }, filter with { Grade = 5 }];
        foreach (var asked in asks)
        {
            (await queries.MostBlockedAsync(StaffScope.System, asked, apps: false, 50, CancellationToken.None)).Rows
                .ShouldContain(r => r.Subject == "district-only.example", $"the district admin's district-wide report reads a district table ({asked})");
            (await queries.BlockedCategoriesAsync(StaffScope.System, asked, 50, CancellationToken.None)).Rows
                .ShouldContain(r => r.Category == "district-only", $"the district admin's categories read a district table ({asked})");
        }

        foreach (var asked in asks)
        {
            var schoolReport = await queries.MostBlockedAsync(admin, asked, apps: false, 50, CancellationToken.None);
            schoolReport.Rows.ShouldNotContain(r => r.Subject == "district-only.example");
            var sameSchool = await queries.MostBlockedAsync(StaffScope.System, asked with { SchoolId = chicago }, apps: false, 50, CancellationToken.None);
            schoolReport.Rows.ShouldBe(sameSchool.Rows, "a school admin's report is their school's");
            var categories = await queries.BlockedCategoriesAsync(admin, asked, 50, CancellationToken.None);
            categories.Rows.ShouldNotContain(r => r.Category == "district-only");
            categories.Rows.ShouldBe((await queries.BlockedCategoriesAsync(StaffScope.System, asked with { SchoolId = chicago }, 50, CancellationToken.None)).Rows);
        }
    }

    [Fact]
    public async Task AdoptionCounts_MultiRowInsertsUpdatesAndDeletes_StayEqualToARecount()
    {
        var roster = await BuildRosterAsync();
        var bulk = _host.GetService<BulkSql>();
        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        var ids = roster.Select(r => bulk.Id(r.Device)).ToArray();
        var greatest = provider == DatabaseProvider.Sqlite ? "max" : "GREATEST";

        async Task ExecuteAsync(string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < ids.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"@d{i}";
                parameter.Value = ids[i];
                command.Parameters.Add(parameter);
            }

            await command.ExecuteNonQueryAsync();
        }

        async Task<List<(string App, long Day, long Devices)>> ReadAsync(string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var rows = new List<(string, long, long)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), Convert.ToInt64(reader.GetValue(1)), Convert.ToInt64(reader.GetValue(2))));
            }

            return rows.OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.Item2).ToList();
        }

        async Task SameAsRecountAsync(string after, bool empty = false)
        {
            var counts = await ReadAsync("SELECT app_id, last_day, devices FROM insight_app_adoption");
            var recount = await ReadAsync("""
                SELECT da.app_id, COALESCE(u.last_day, -1), COUNT(*)
                FROM device_apps da LEFT JOIN insight_app_last_used u ON u.device_id = da.device_id AND u.app_id = da.app_id
                GROUP BY da.app_id, COALESCE(u.last_day, -1)
                """);
            counts.ShouldBe(recount, $"after {after}");
            (counts.Count == 0).ShouldBe(empty, $"after {after}");
        }

        // Each statement moves many installs at once (a statement-level trigger sees them together on PostgreSQL).
        await ExecuteAsync("""
            INSERT INTO device_apps (device_id, source, app_id, name) VALUES
                (@d0, 'device', 'app.a', 'A'), (@d0, 'device', 'app.b', 'B'), (@d0, 'managed', 'app.b', 'B'),
                (@d1, 'device', 'app.a', 'A'), (@d1, 'device', 'app.c', 'C'), (@d2, 'device', 'app.b', 'B'),
                (@d2, 'device', 'app.c', 'C'), (@d3, 'device', 'app.a', 'A'), (@d3, 'device', 'app.d', 'D')
            """);
        await SameAsRecountAsync("a multi-row inventory insert");
        await ExecuteAsync("INSERT INTO insight_app_last_used (device_id, app_id, last_day) VALUES (@d0, 'app.a', 100), (@d0, 'app.b', 101), (@d1, 'app.c', 100), (@d2, 'app.z', 100)");
        await SameAsRecountAsync("a multi-row last-used insert (one app not installed)");
        await ExecuteAsync($"""
            INSERT INTO insight_app_last_used (device_id, app_id, last_day) VALUES (@d0, 'app.a', 105), (@d0, 'app.b', 90), (@d2, 'app.b', 105), (@d3, 'app.a', 100)
            ON CONFLICT (device_id, app_id) DO UPDATE SET last_day = {greatest}(insight_app_last_used.last_day, excluded.last_day)
            """);
        await SameAsRecountAsync("a multi-row last-used upsert (inserts, a move, an unchanged day)");
        await ExecuteAsync("UPDATE insight_app_last_used SET last_day = last_day + 1 WHERE last_day >= 100");
        await SameAsRecountAsync("a multi-row last-used update");
        await ExecuteAsync("UPDATE device_apps SET app_id = 'app.renamed' WHERE app_id = 'app.b'");
        await SameAsRecountAsync("a multi-row inventory key update");
        await ExecuteAsync("UPDATE device_apps SET name = 'Renamed'");
        await SameAsRecountAsync("an inventory update that changes no key");
        await ExecuteAsync("UPDATE device_apps SET device_id = @d1 WHERE device_id = @d3 AND app_id = 'app.d'");
        await SameAsRecountAsync("installs moved to another device");
        await ExecuteAsync("DELETE FROM insight_app_last_used WHERE last_day <= 101");
        await SameAsRecountAsync("a multi-row last-used delete (retention)");
        await ExecuteAsync("DELETE FROM device_apps WHERE device_id = @d0");
        await SameAsRecountAsync("a device's inventory deleted");
        await ExecuteAsync("DELETE FROM insight_app_last_used");
        await SameAsRecountAsync("every last-used day deleted (a rebuild)");
        await ExecuteAsync("DELETE FROM device_apps");
        await SameAsRecountAsync("every inventory deleted", empty: true);
    }

    [Fact]
    public async Task Folder_AfterTheNewestRawEventsWereDeleted_StillFoldsEveryNewEventOnce()
    {
        var roster = await BuildRosterAsync();
        var device = roster[0].Device;
        var writer = _host.GetService<ActivityWriter>();
        var folder = _host.GetService<InsightFolder>();
        var at = new DateTimeOffset(DateTime.UtcNow.AddHours(-1), TimeSpan.Zero);
        async Task StoreAsync(long from, int count)
        {
            var batch = new ActivityBatch(device, Enumerable.Range(0, count).Select(i => new ActivityEvent(from + i, at, ActivityKinds.WebVisit, "https://maps.example/")).ToList(), DateTime.UtcNow);
            await writer.EnqueueAsync(batch);
            (await batch.Stored.Task.WaitAsync(HomeroomHost.Timeout)).ShouldBeTrue();
        }

        await StoreAsync(1, 30);
        await folder.CatchUpAsync();
        (await VisitsAsync()).ShouldBe(30);

        // Retention (or a deleted device) took the newest rows: on SQLite the next ids start below the watermark.
        await using (var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            await db.ActivityEvents.ExecuteDeleteAsync();
        }

        await StoreAsync(31, 12);
        await folder.CatchUpAsync();
        await folder.CatchUpAsync();
        (await VisitsAsync()).ShouldBe(42);

        async Task<long> VisitsAsync() => (await ReadRollupsAsync()).Daily.Where(r => r.Key.Kind == ActivityKinds.WebVisit).Sum(r => r.Value.Events);
    }

    private static void Same(Rollups actual, Rollups expected, string what)
    {
        foreach (var table in RollupTable.All)
        {
            Compare(actual.Tables[table.Name], expected.Tables[table.Name], $"{what} {table.Name}");
        }

        actual.Adoption.OrderBy(x => x.Key.ToString()).ShouldBe(expected.Adoption.OrderBy(x => x.Key.ToString()), $"{what} app adoption counts");
        actual.LastUsed.OrderBy(x => x.Key.ToString()).ShouldBe(expected.LastUsed.OrderBy(x => x.Key.ToString()), $"{what} app last used");
    }

    private static void Compare(Dictionary<RollupKey, Row> actual, Dictionary<RollupKey, Row> expected, string what)
    {
        var missing = expected.Keys.Except(actual.Keys).Take(5).ToList();
        missing.ShouldBeEmpty($"{what}: rows missing");
        var extra = actual.Keys.Except(expected.Keys).Take(5).ToList();
        extra.ShouldBeEmpty($"{what}: rows not expected");
        foreach (var (key, row) in expected)
        {
            actual[key].ShouldBe(row, $"{what} {key}");
        }
    }

    private sealed record Row(long Seconds, long Unfocused, long Events, long Students);

    /// <summary>Every rollup table's rows (by table name), the apps' last-used days and the adoption counts.</summary>
    private sealed record Rollups(
        Dictionary<string, Dictionary<RollupKey, Row>> Tables, Dictionary<(Guid, string), int> LastUsed, Dictionary<(string, int), long> Adoption)
    {
        public Dictionary<RollupKey, Row> Daily => Tables[RollupTable.Daily.Name];

        public Dictionary<RollupKey, Row> Monthly => Tables[RollupTable.Monthly.Name];

        public Dictionary<RollupKey, Row> Groups => Tables[RollupTable.GroupDaily.Name];
    }

    /// <summary>The plain recomputation: every kept raw event, the documented rules, exact sets of students.</summary>
    private async Task<Rollups> RecomputeAsync(List<Roster> roster)
    {
        await using var db = await _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var raw = await db.ActivityEvents.AsNoTracking().ToListAsync();
        var byDevice = roster.ToDictionary(r => r.Device);
        var sums = RollupTable.All.ToDictionary(t => t.Name, _ => new Dictionary<RollupKey, (long S, long U, long E, HashSet<Guid> St)>());
        var lastUsed = new Dictionary<(Guid, string), int>();
        string[] folded = ["web.visit", "web.blocked", "web.usage", "app.usage", "app.blocked"];
        foreach (var e in raw)
        {
            if (!folded.Contains(e.Kind) || e.OccurredAt > e.ReceivedAt.AddDays(1) || e.OccurredAt < e.ReceivedAt.AddDays(-RetentionDays))
            {
                continue;
            }

            var web = e.Kind.StartsWith("web.", StringComparison.Ordinal);
            var subject = web ? InsightFold.RegistrableHost(e.Url) : e.AppId?.Trim();
            if (string.IsNullOrEmpty(subject))
            {
                continue;
            }

            var r = byDevice[e.DeviceId];
            var blocked = e.Kind.EndsWith(".blocked", StringComparison.Ordinal);
            var category = blocked ? (e.Detail?.Trim().ToLowerInvariant() ?? "") : "";
            category = category.Length > 64 ? category[..64] : category;
            var seconds = Math.Clamp(e.DurationSeconds ?? 0, 0, 3600);
            var unfocused = e.Kind == "web.usage" && e.Detail == "unfocused";
            long headline = e.Kind == "app.usage" || (e.Kind == "web.usage" && !unfocused) ? seconds : 0;
            long apart = unfocused ? seconds : 0;
            var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(e.OccurredAt, DateTimeKind.Utc), r.Zone);
            var day = (int)(local.Date - new DateTime(1970, 1, 1)).TotalDays;
            var month = (local.Year * 12) + local.Month - 1;
            void Add(Dictionary<RollupKey, (long S, long U, long E, HashSet<Guid> St)> into, RollupKey key)
            {
                var v = into.TryGetValue(key, out var found) ? found : (0, 0, 0, new HashSet<Guid>());
                if (!unfocused)
                {
                    v.St.Add(r.Student);
                }

                into[key] = (v.S + headline, v.U + apart, v.E + 1, v.St);
            }

            // Every table: its period of the day (a week is keyed by its Monday), its school, class or
            // none (the district), and the dimensions it keeps (the others summed over).
            var week = day - (((int)local.DayOfWeek + 6) % 7);
            foreach (var table in RollupTable.All)
            {
                var period = table.Period switch { RollupPeriod.Month => month, RollupPeriod.Week => week, _ => day };
                IEnumerable<Guid> scopes = table.ScopeColumn switch { "school_id" => [r.School], "group_id" => r.Groups, _ => [Guid.Empty] };
                foreach (var scope in scopes)
                {
                    Add(sums[table.Name], table.KeyOf(period, scope, r.Grade, r.Platform, e.Kind, subject, category));
                }
            }

            if (e.Kind == "app.usage")
            {
                lastUsed[(e.DeviceId, subject)] = Math.Max(lastUsed.GetValueOrDefault((e.DeviceId, subject), int.MinValue), day);
            }
        }

        static Dictionary<RollupKey, Row> Rows(Dictionary<RollupKey, (long S, long U, long E, HashSet<Guid> St)> sums) =>
            sums.ToDictionary(s => s.Key, s => new Row(s.Value.S, s.Value.U, s.Value.E, s.Value.St.Count));
        // Adoption counts: every install (a device's app from each source) by the day it was last used (-1: never).
        var adoption = new Dictionary<(string, int), long>();
        foreach (var install in await db.DeviceApps.AsNoTracking().ToListAsync())
        {
            var key = (install.AppId, lastUsed.TryGetValue((install.DeviceId, install.AppId), out var last) ? last : -1);
            adoption[key] = adoption.GetValueOrDefault(key) + 1;
        }

        return new Rollups(sums.ToDictionary(t => t.Key, t => Rows(t.Value)), lastUsed, adoption);
    }

    private async Task<Rollups> ReadRollupsAsync()
    {
        var bulk = _host.GetService<BulkSql>();
        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        async Task<Dictionary<RollupKey, Row>> ReadAsync(RollupTable table)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {string.Join(", ", table.KeyColumns)}, seconds, unfocused_seconds, events, students FROM {table.Name}";
            var rows = new Dictionary<RollupKey, Row>();
            var n = table.KeyColumns.Count;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var key = table.ReadKey(reader);
                var sketch = DistinctSketch.FromBytes((byte[])reader.GetValue(n + 3));
                sketch.IsExact.ShouldBeTrue();
                rows.Add(key, new Row(reader.GetInt64(n), reader.GetInt64(n + 1), reader.GetInt64(n + 2), sketch.Count()));
            }

            return rows;
        }

        var lastUsed = new Dictionary<(Guid, string), int>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT device_id, app_id, last_day FROM insight_app_last_used";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lastUsed[(InsightRollups.ReadGuid(reader.GetValue(0)), reader.GetString(1))] = reader.GetInt32(2);
            }
        }

        var adoption = new Dictionary<(string, int), long>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT app_id, last_day, devices FROM insight_app_adoption";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                adoption[(reader.GetString(0), reader.GetInt32(1))] = reader.GetInt64(2);
            }
        }

        var tables = new Dictionary<string, Dictionary<RollupKey, Row>>();
        foreach (var table in RollupTable.All)
        {
            tables[table.Name] = await ReadAsync(table);
        }

        return new Rollups(tables, lastUsed, adoption);
    }
}

public sealed class RollupSqliteTests() : RollupTests(DatabaseProvider.Sqlite);

public sealed class RollupPostgresTests() : RollupTests(DatabaseProvider.Postgres)
{
    /// <summary>
    /// A dense sketch (4,097 bytes) is over PostgreSQL's TOAST threshold, so it is stored compressed, and a
    /// district report decompresses every sketch it merges: migration 0059 makes that lz4 rather than pglz
    /// (several times faster to decompress) for every rollup table, including the district rows the fill writes.
    /// </summary>
    [Fact]
    public async Task DenseSketches_InEveryRollupTable_AreStoredCompressedWithLz4_AndReadBackUnchanged()
    {
        var sketch = new DistinctSketch();
        for (var i = 0; i < 3_000; i++)
        {
            sketch.Add(Guid.NewGuid());
        }

        var dense = sketch.ToBytes();
        dense.Length.ShouldBe(1 + DistinctSketch.Registers, "a dense sketch");
        var bulk = Host.GetService<BulkSql>();
        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        async Task<List<(string Table, string? Method, byte[] Students)>> StoredAsync()
        {
            var stored = new List<(string, string?, byte[])>();
            foreach (var table in RollupTable.All)
            {
                await using var read = connection.CreateCommand();
                read.CommandText = $"SELECT pg_column_compression(students), students FROM {table.Name}";
                await using var reader = await read.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    stored.Add((table.Name, reader.IsDBNull(0) ? null : reader.GetString(0), (byte[])reader.GetValue(1)));
                }
            }

            return stored;
        }

        // A school row as the fold writes it, then the district rows the fill sums from it (a COPY on PostgreSQL).
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO insight_daily (day, school_id, grade, platform, kind, subject, category, seconds, unfocused_seconds, events, students)
                VALUES (20500, @school, 5, 'chromeos', 'web.visit', 'example.org', '', 60, 0, 3, @students)
                """;
            insert.Parameters.Add(new Npgsql.NpgsqlParameter("school", Guid.NewGuid()));
            insert.Parameters.Add(new Npgsql.NpgsqlParameter("students", dense));
            await insert.ExecuteNonQueryAsync();
            await Host.GetService<InsightRollups>().FillDistrictAsync(connection, transaction, CancellationToken.None);
            await transaction.CommitAsync();
        }

        var stored = await StoredAsync();
        stored.Select(s => s.Table).Distinct().Count().ShouldBeGreaterThan(5, "the school row and the district rows filled from it");
        foreach (var (table, method, students) in stored)
        {
            method.ShouldBe("lz4", $"{table}'s dense sketch");
            students.ShouldBe(dense, $"{table}'s sketch reads back as written");
        }

        // And every rollup table compresses with lz4, the ones this row did not reach too.
        foreach (var table in RollupTable.All)
        {
            await using var column = connection.CreateCommand();
            column.CommandText = "SELECT attcompression::text FROM pg_attribute WHERE attrelid = @table::regclass AND attname = 'students'";
            column.Parameters.Add(new Npgsql.NpgsqlParameter("table", table.Name));
            (await column.ExecuteScalarAsync()).ShouldBe("l", table.Name);
        }
    }
}
