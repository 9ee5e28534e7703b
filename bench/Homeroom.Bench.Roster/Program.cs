// OneRoster import benchmark: does importing 50,000 users and 200,000 enrollments take at most 60 s?
// Writes a OneRoster 1.1 CSV set with the tests' generator (deterministic), zips it, and times the import
// as a district administrator does it: the preview (unzip, read and check every row, compare with the
// stored roster, store the preview and the package) and the apply (compare again inside the transaction,
// write everything, commit), through OneRosterImports, the use case behind the API. Then the same set
// again (nothing to change) and the set without 1,000 students (who are archived, their classes kept).
using System.Diagnostics;
using Homeroom.Bench.Load;
using Homeroom.OneRosterData;
using Homeroom.Server;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Roster.OneRoster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

var options = BenchReport.ParseArguments(args);
var students = options.Int("students", 48_500);
var postgres = options.GetValueOrDefault("provider") == "postgres";
const double TargetSeconds = 60;

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-roster-" + Guid.NewGuid().ToString("N")[..8]);
var database = "homeroom_bench_roster_" + Guid.NewGuid().ToString("N")[..6];
string[] serverArgs =
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    .. postgres ? new[] { "--ConnectionStrings:Postgres=" + (Environment.GetEnvironmentVariable("HOMEROOM_BENCH_POSTGRES") ?? $"Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database={database}") } : [],
];

if (postgres && Environment.GetEnvironmentVariable("HOMEROOM_BENCH_POSTGRES") is null)
{
    // A fresh database each run, made here: the server migrates an existing database but does not create one.
    await using var admin = new Npgsql.NpgsqlConnection("Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres");
    await admin.OpenAsync();
    await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database}", admin);
    await create.ExecuteNonQueryAsync();
}

var app = await HomeroomApp.CreateAsync(serverArgs);
var imports = app.Services.GetRequiredService<OneRosterImports>();
var dbFactory = app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();

var full = new OneRosterSetBuilder(seed: 2026) { Schools = 20, Students = students, Teachers = 1_490, Classes = 6_000, ClassesPerStudent = 4, Guardians = 10 };
var clock = Stopwatch.StartNew();
var fullZip = OneRosterSetBuilder.Zip(full.Build());
var enrollments = full.EnrollmentCount;
var smaller = new OneRosterSetBuilder(seed: 2026) { Schools = 20, Students = students - 1_000, Teachers = 1_490, Classes = 6_000, ClassesPerStudent = 4, Guardians = 10 };
var smallerZip = OneRosterSetBuilder.Zip(smaller.Build());
Console.WriteLine($"wrote the set: {full.Users:N0} users, {enrollments:N0} enrollments, zip {fullZip.Length / 1048576.0:F1} MB, in {clock.Elapsed.TotalSeconds:F1} s");

var rows = new List<(string Case, double PreviewSeconds, double ApplySeconds, int Changes)>();
foreach (var (name, zip) in new[] { ("first import", fullZip), ("same set again", fullZip), ("1,000 students gone", smallerZip) })
{
    clock.Restart();
    var preview = await imports.PreviewAsync(StaffScope.System, name + ".zip", zip);
    var previewSeconds = clock.Elapsed.TotalSeconds;
    if (preview.State != ImportStates.Previewed)
    {
        throw new InvalidOperationException($"{name}: {preview.State}, {preview.Preview.ErrorCount} error(s), first: {preview.Preview.Errors.FirstOrDefault()}");
    }

    clock.Restart();
    var applied = await imports.ApplyAsync(StaffScope.System, preview.Id) ?? throw new InvalidOperationException("The import is gone.");
    rows.Add((name, previewSeconds, clock.Elapsed.TotalSeconds, applied.Preview.Changes));
}

await using (var db = await dbFactory.CreateDbContextAsync())
{
    var people = await db.People.CountAsync(p => p.SourcedId != null);
    var archived = await db.People.CountAsync(p => p.ArchivedAt != null);
    var members = await db.GroupMembers.CountAsync();
    Console.WriteLine($"stored: {people:N0} people ({archived:N0} archived), {members:N0} memberships");
}

Console.WriteLine();
Console.WriteLine($"| case ({full.Users:N0} users, {enrollments:N0} enrollments, {(postgres ? "PostgreSQL" : "SQLite")}) | changes | preview (s) | apply (s) | total (s) | within {TargetSeconds:F0} s |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var r in rows)
{
    var total = r.PreviewSeconds + r.ApplySeconds;
    Console.WriteLine($"| {r.Case} | {r.Changes:N0} | {r.PreviewSeconds:F1} | {r.ApplySeconds:F1} | {total:F1} | {(total <= TargetSeconds ? "yes" : "NO")} |");
}

var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = postgres ? "postgres" : "sqlite",
    ["users"] = full.Users,
    ["enrollments"] = enrollments,
    ["zip_bytes"] = fullZip.Length,
    ["cases"] = rows.Select(r => new Dictionary<string, object>
    {
        ["case"] = r.Case, ["changes"] = r.Changes, ["preview_s"] = Math.Round(r.PreviewSeconds, 2), ["apply_s"] = Math.Round(r.ApplySeconds, 2),
        ["total_s"] = Math.Round(r.PreviewSeconds + r.ApplySeconds, 2),
    }).ToList(),
    ["within_60s"] = rows.All(r => r.PreviewSeconds + r.ApplySeconds <= TargetSeconds),
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"roster-{(postgres ? "postgres" : "sqlite")}-{full.Users}", table: false);

await app.DisposeAsync();
if (!postgres)
{
    Directory.Delete(dataDirectory, recursive: true);
}

return 0;
