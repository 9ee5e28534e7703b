using System.Text;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

public sealed class AgentStateTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "homeroom-agent-tests", Guid.NewGuid().ToString("N"));

    private AgentPaths Paths => new(Path.Combine(_directory, "state"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static ActivityEvent Event(int i) => new(0, DateTimeOffset.UnixEpoch.AddMinutes(i), ActivityKinds.AppUsage, AppId: "app" + i, DurationSeconds: 5);

    [Fact]
    public void CommandJournal_AfterReopening_RemembersOutcomesAndInterruptedCommands()
    {
        var finished = Guid.NewGuid();
        var interrupted = Guid.NewGuid();
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        using (var journal = new CommandJournal(Paths, TimeProvider.System))
        {
            journal.Begin(finished, expires);
            journal.Finish(finished, expires, true, "pong");
            journal.Begin(interrupted, expires);
        }

        using var reopened = new CommandJournal(Paths, TimeProvider.System);
        reopened.Recall(finished, out var entry).ShouldBe(CommandMemory.Finished);
        entry!.Result.ShouldBe("pong");
        reopened.Recall(interrupted, out _).ShouldBe(CommandMemory.Interrupted);
        reopened.Recall(Guid.NewGuid(), out _).ShouldBe(CommandMemory.New);
    }

    [Fact]
    public void CommandJournal_WithALineCutByACrashAndExpiredEntries_KeepsTheRestAndDropsThoseOnly()
    {
        var kept = Guid.NewGuid();
        var expired = Guid.NewGuid();
        using (var journal = new CommandJournal(Paths, TimeProvider.System))
        {
            journal.Finish(expired, DateTimeOffset.UtcNow.AddSeconds(-1), true, "old");
            journal.Finish(kept, DateTimeOffset.UtcNow.AddHours(1), false, "no");
        }

        File.AppendAllText(Paths.CommandJournalFile, "{\"id\":\"0195b6c2-4a5e");

        using var reopened = new CommandJournal(Paths, TimeProvider.System);
        reopened.Recall(kept, out var entry).ShouldBe(CommandMemory.Finished);
        entry!.Ok.ShouldBeFalse();
        reopened.Recall(expired, out _).ShouldBe(CommandMemory.New);
        reopened.Count.ShouldBe(1);
    }

    [Fact]
    public void ActivityQueue_OverCapacity_DropsTheOldestCountsThemAndKeepsNumbering()
    {
        using (var queue = new ActivityQueue(Paths, capacity: 3))
        {
            for (var i = 1; i <= 5; i++)
            {
                queue.Enqueue(Event(i), out _);
            }

            queue.Dropped.ShouldBe(2);
            queue.Batches().SelectMany(b => b).Select(e => e.Seq).ShouldBe([3L, 4, 5]);
            queue.Acknowledge(4);
        }

        using var reopened = new ActivityQueue(Paths, capacity: 3);
        reopened.Batches().SelectMany(b => b).Select(e => e.Seq).ShouldBe([5L]);
        reopened.Dropped.ShouldBe(2);
        reopened.Enqueue(Event(6), out var next);
        next.Seq.ShouldBe(6);
    }

    [Fact]
    public void ActivityQueue_WithCorruptedFiles_StartsAgainInsteadOfFailing()
    {
        Paths.EnsureStateDirectory();
        File.WriteAllText(Paths.ActivityStateFile, "not json");
        File.WriteAllText(Paths.ActivityFile, "garbage\n{\"seq\":7,\"occurredAt\":\"2026-09-01T09:00:00+00:00\",\"kind\":\"app.usage\",\"appId\":\"a\"}\n{\"seq\":3,");

        using var queue = new ActivityQueue(Paths, capacity: 10);

        queue.Batches().SelectMany(b => b).Select(e => e.Seq).ShouldBe([7L]);
        queue.NextSeq.ShouldBe(8);
    }

    [Fact]
    public void ActivityQueue_BeyondOneFrame_SendsInBatchesOfTheProtocolLimit()
    {
        using var queue = new ActivityQueue(Paths, capacity: 1_200);
        for (var i = 0; i < 1_100; i++)
        {
            queue.Enqueue(Event(i), out _);
        }

        queue.Batches().Select(b => b.Length).ShouldBe([500, 500, 100]);
    }

    [Fact]
    public void UnixCredentialVault_WithAFileThatIsNotJson_SetsItAsideAndReportsNotEnrolled()
    {
        var vault = new UnixCredentialVault(Paths);
        vault.Save(new AgentSecrets(new Uri("http://127.0.0.1:5080/"), Guid.NewGuid(), "hrd_x", null));
        File.WriteAllText(Paths.CredentialFile, "{ truncated");

        vault.Load().ShouldBeNull();
        File.Exists(Paths.CredentialFile + ".corrupt").ShouldBeTrue();
    }

    [Fact]
    public void ReadDpkgStatus_ListsOnlyInstalledPackagesWithTheirVersions()
    {
        var status = """
            Package: bash
            Status: install ok installed
            Architecture: amd64
            Version: 5.2.15-2+b7

            Package: removed-tool
            Status: deinstall ok config-files
            Version: 1.0

            Package: libc6
            Status: install ok installed
            Architecture: i386
            Version: 2.36-9
            """;

        var apps = LinuxInventory.ReadDpkgStatus(status.Split('\n'));

        apps.ShouldBe([new InstalledApp("bash", "bash", "5.2.15-2+b7"), new InstalledApp("libc6:i386", "libc6", "2.36-9")]);
    }

    [Fact]
    public void ReadUtmp_ListsTheUsersOfUserProcessRecordsOnce()
    {
        static byte[] Record(short type, string user)
        {
            var record = new byte[384];
            BitConverter.GetBytes(type).CopyTo(record, 0);
            Encoding.UTF8.GetBytes(user).CopyTo(record, 44);
            return record;
        }

        byte[] utmp = [.. Record(2, "reboot"), .. Record(7, "student"), .. Record(7, "teacher"), .. Record(7, "student"), .. Record(8, "gone")];

        LinuxInventory.ReadUtmp(utmp).ShouldBe(["student", "teacher"]);
    }

    [Fact]
    public void Read_OnThisMachine_GivesPlausibleFacts()
    {
        var facts = new LinuxInventory(new InstallationId(Paths)).Read();

        facts.OsName.ShouldNotBeNullOrWhiteSpace();
        facts.Serial.ShouldNotBeNullOrWhiteSpace();
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        facts.MemoryTotalBytes.ShouldBe(long.Parse(memory[9..].Replace("kB", "", StringComparison.Ordinal).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024);
        facts.StorageTotalBytes.ShouldNotBeNull();
        facts.StorageFreeBytes!.Value.ShouldBeInRange(0, facts.StorageTotalBytes!.Value);
        facts.NetworkInterfaces.ShouldAllBe(n => n.IpAddress != null && n.Kind.Length > 0);
        // The same installation id every time it is asked, when the hardware serial is not readable.
        new LinuxInventory(new InstallationId(Paths)).Read().Serial.ShouldBe(facts.Serial);
    }
}
