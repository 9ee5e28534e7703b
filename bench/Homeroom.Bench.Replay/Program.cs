// Connect-notice catch-up benchmark (PostgreSQL): what cluster_connections (schema v61) costs at district size. A node
// writes each connection's row with its connect notice, in batches (BackplanePublisher.WriteConnectionsSql), and every
// sweep reads the rows of the devices connected to it, 1,000 at a time (BackplaneListener.NewerConnectionsSql). This
// times exactly those statements on a database of its own, migrated by the server, with N devices:
//   - a connect storm onto one node (every row inserted), at several batch sizes;
//   - every device moving to another node (every row updated), as after a node dies;
//   - two nodes writing the same devices at once, in different orders (the statement's device-id order is what keeps
//     them from deadlocking; deadlocks are counted);
//   - one node's sweep over all N devices, with none connected elsewhere (the steady state) and with 1 % elsewhere.
using System.Diagnostics;
using System.Globalization;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

var options = BenchReport.ParseArguments(args);
var deviceCount = options.Int("devices", 100_000);
var runs = options.Int("runs", 10);
var batchSizes = (options.GetValueOrDefault("batches") ?? "100,2000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
const string NodeA = "aaaaaaaaaaaa", NodeB = "bbbbbbbbbbbb", NodeC = "cccccccccccc";
var deadlocks = 0;

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-replay-" + Guid.NewGuid().ToString("N")[..8]);
await using var database = await BenchPostgres.CreateAsync("replay");
var app = await HomeroomApp.CreateAsync(
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    "--ConnectionStrings:Postgres=" + database.ConnectionString,
]);

var dbFactory = app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
var seedClock = Stopwatch.StartNew();
var devices = new List<Guid>(deviceCount);
for (var start = 0; start < deviceCount; start += 20_000)
{
    await using var db = await dbFactory.CreateDbContextAsync();
    db.ChangeTracker.AutoDetectChangesEnabled = false;
    for (var i = start; i < Math.Min(deviceCount, start + 20_000); i++)
    {
        var id = Guid.CreateVersion7();
        devices.Add(id);
        db.Devices.Add(new Device { Id = id, Name = $"D-{i:D6}", Serial = $"SN{i:D8}", Platform = DevicePlatform.ChromeOS, CredentialHash = "bench" });
    }

    await db.SaveChangesAsync();
}

await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
await ExecuteAsync("ANALYZE");
Console.WriteLine($"seeded {deviceCount:N0} devices in {seedClock.Elapsed.TotalSeconds:F1} s");

// Devices connect in no particular order.
var random = new Random(61);
var order = devices.OrderBy(_ => random.Next()).ToArray();
var rows = new List<Dictionary<string, object>>();

foreach (var size in batchSizes)
{
    await ExecuteAsync("TRUNCATE cluster_connections");
    rows.Add(Row($"connect storm onto one node (insert), batches of {size:N0}", await WriteAllAsync(NodeA, order, size)));
}

rows.Add(Row($"every device moves to another node (update), batches of {batchSizes[^1]:N0}", await WriteAllAsync(NodeB, order, batchSizes[^1])));

// Two nodes at once over the same devices, each in its own order.
var reversed = order.Reverse().ToArray();
var both = Stopwatch.StartNew();
var concurrent = await Task.WhenAll(WriteAllAsync(NodeA, order, batchSizes[^1], countDeadlocks: true), WriteAllAsync(NodeC, reversed, batchSizes[^1], countDeadlocks: true));
both.Stop();
rows.Add(Row($"two nodes writing all devices at once, opposite orders, batches of {batchSizes[^1]:N0} (each)", [.. concurrent[0], .. concurrent[1]], both.Elapsed.TotalMilliseconds));

// The sweep of a node holding every device: first with every row its own, then with 1 % connected elsewhere since.
await WriteAllAsync(NodeB, order, batchSizes[^1]);
await ExecuteAsync("ANALYZE cluster_connections");
var (steady, steadyFound) = await SweepsAsync(NodeB);
rows.Add(Row($"sweep of {deviceCount:N0} connected devices, none elsewhere ({BackplaneListener.SweepChunk:N0} a read)", steady, found: steadyFound));
await WriteAllAsync(NodeA, order.Where((_, i) => i % 100 == 0).ToArray(), batchSizes[^1]);
var (moved, movedFound) = await SweepsAsync(NodeB);
rows.Add(Row($"sweep of {deviceCount:N0} connected devices, 1 % connected elsewhere", moved, found: movedFound));

long tableBytes;
await using (var size = dataSource.CreateCommand("SELECT pg_total_relation_size('cluster_connections')"))
{
    tableBytes = (long)(await size.ExecuteScalarAsync())!;
}

Console.WriteLine();
Console.WriteLine($"| case (PostgreSQL, {deviceCount:N0} devices) | statements or sweeps | total ms | p50 ms | p95 ms | max ms | rows found |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
foreach (var row in rows)
{
    Console.WriteLine($"| {row["case"]} | {row["count"]} | {row["total_ms"]:F0} | {row["p50_ms"]:F1} | {row["p95_ms"]:F1} | {row["max_ms"]:F1} | {row.GetValueOrDefault("found", "")} |");
}

Console.WriteLine($"deadlocks between the two nodes: {deadlocks}; cluster_connections with its index: {tableBytes / 1048576.0:F1} MB");
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = "postgres",
    ["devices"] = deviceCount,
    ["runs"] = runs,
    ["cases"] = rows,
    ["deadlocks"] = deadlocks,
    ["table_bytes"] = tableBytes,
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"replay-postgres-{deviceCount}", table: false);

await app.DisposeAsync();
NpgsqlConnection.ClearAllPools();
Directory.Delete(dataDirectory, recursive: true);
return 0;

async Task ExecuteAsync(string sql)
{
    await using var command = dataSource.CreateCommand(sql);
    command.CommandTimeout = 600;
    await command.ExecuteNonQueryAsync();
}

// Writes every device's row as the node, batch by batch as the publisher does; returns each statement's milliseconds.
async Task<List<double>> WriteAllAsync(string node, Guid[] ids, int batch, bool countDeadlocks = false)
{
    var timings = new List<double>();
    long sequence = 0;
    foreach (var chunk in ids.Chunk(batch))
    {
        while (true)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync();
                await using var write = new NpgsqlCommand(BackplanePublisher.WriteConnectionsSql, connection)
                {
                    Parameters =
                    {
                        new() { Value = node }, new() { Value = chunk }, new() { Value = chunk.Select(_ => ++sequence).ToArray() },
                        new() { Value = DateTime.UtcNow },
                    },
                };
                await write.ExecuteNonQueryAsync();
                timings.Add(clock.Elapsed.TotalMilliseconds);
                break;
            }
            catch (PostgresException e) when (countDeadlocks && e.SqlState == PostgresErrorCodes.DeadlockDetected)
            {
                Interlocked.Increment(ref deadlocks);
            }
        }
    }

    return timings;
}

// Runs the sweep's read over every device as the node, `runs` times; returns each sweep's milliseconds and the rows found.
async Task<(List<double> Timings, int Found)> SweepsAsync(string node)
{
    var timings = new List<double>();
    var found = 0;
    for (var run = 0; run < runs; run++)
    {
        found = 0;
        var clock = Stopwatch.StartNew();
        foreach (var chunk in order.Chunk(BackplaneListener.SweepChunk))
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var read = new NpgsqlCommand(BackplaneListener.NewerConnectionsSql, connection) { Parameters = { new() { Value = chunk }, new() { Value = node } } };
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                found++;
            }
        }

        timings.Add(clock.Elapsed.TotalMilliseconds);
    }

    return (timings, found);
}

static Dictionary<string, object> Row(string name, List<double> timings, double? totalMs = null, int? found = null)
{
    var total = totalMs ?? timings.Sum();
    timings.Sort();
    var row = new Dictionary<string, object>
    {
        ["case"] = name,
        ["count"] = timings.Count,
        ["total_ms"] = Math.Round(total, 1),
        ["p50_ms"] = Math.Round(BenchReport.Percentile(timings, 50), 1),
        ["p95_ms"] = Math.Round(BenchReport.Percentile(timings, 95), 1),
        ["max_ms"] = Math.Round(timings[^1], 1),
    };
    if (found is { } f)
    {
        row["found"] = f;
    }

    return row;
}
