using Homeroom.Rules.Updates;

namespace Homeroom.Rules.Tests.Updates;

/// <summary>
/// The one-pass gate (<see cref="RingGate.Measure"/> then <see cref="RingGate.Decide"/>) against a
/// straightforward reference that reads the rules off the documentation, device by device with LINQ,
/// on many random rings: versions around the target, silent and never-seen devices, failures before and
/// after the window, error counts, resumes, deadlines and soaks.
/// </summary>
public sealed class RingGateDifferentialTests
{
    private static readonly DateTime Now = new(2026, 12, 3, 12, 0, 0, DateTimeKind.Utc);

    private static GateOutcome Reference(
        OsVersion target, RingRule rule, RingDevice[] devices, DateTime started, DateTime? soakStartedAt, DateTime? resumedAt, TimeSpan window,
        out int counted, out int healthyAtTarget)
    {
        var since = resumedAt > started ? resumedAt.Value : started;
        bool Reporting(RingDevice d) => d.LastSeenAt != null && Now - d.LastSeenAt.Value <= window;
        bool Excused(RingDevice d) => resumedAt != null && !Reporting(d) && (d.LastSeenAt == null || d.LastSeenAt.Value < resumedAt.Value - window);
        bool Healthy(RingDevice d) => Reporting(d) && !(d.LastFailedInstallAt != null && d.LastFailedInstallAt.Value >= since) && d.ErrorsSince <= d.ErrorsBefore;
        bool AtTarget(RingDevice d) => d.Version.IsKnown && d.Version.CompareTo(target) >= 0 && !d.UpdatesPending;

        var ring = devices.Where(d => !Excused(d)).ToList();
        counted = ring.Count;
        healthyAtTarget = ring.Count(d => AtTarget(d) && Healthy(d));
        if (ring.Count == 0)
        {
            return GateOutcome.Pause;
        }

        var required = (int)Math.Ceiling(ring.Count * rule.RequiredPercent / 100.0 - 1e-9);
        var unhealthy = ring.Count(d => !Healthy(d));
        if (ring.Count - unhealthy < required)
        {
            return GateOutcome.Pause;
        }

        if (healthyAtTarget >= required)
        {
            if (soakStartedAt == null)
            {
                return rule.Soak <= TimeSpan.Zero ? GateOutcome.Pass : GateOutcome.StartSoak;
            }

            return Now >= soakStartedAt.Value + rule.Soak ? GateOutcome.Pass : GateOutcome.KeepSoaking;
        }

        if (rule.Deadline != null && Now >= rule.Deadline.Value && (resumedAt == null || resumedAt.Value < rule.Deadline.Value))
        {
            return GateOutcome.Pause;
        }

        return soakStartedAt != null ? GateOutcome.ResetSoak : GateOutcome.Wait;
    }

    [Fact]
    public void Decide_RandomRings_MatchesTheReference()
    {
        var random = new Random(1602);
        string[] versions = ["17.7", "18.1", "18.1.1", "18.2", "18.2.0", "18.2.1", "18.10", "19.0", "", "junk"];
        var target = OsVersion.FromReported("18.2");
        var outcomes = new Dictionary<GateOutcome, int>();
        for (var round = 0; round < 3_000; round++)
        {
            var window = TimeSpan.FromHours(random.Next(1, 49));
            var started = Now.AddHours(-random.Next(0, 200));
            DateTime? resumedAt = random.Next(3) == 0 ? Now.AddHours(-random.Next(0, 100)) : null;
            DateTime? soakStartedAt = random.Next(2) == 0 ? Now.AddHours(-random.Next(0, 100)) : null;
            DateTime? deadline = random.Next(2) == 0 ? Now.AddHours(random.Next(-100, 100)) : null;
            var rule = new RingRule("pilot", random.Next(1, 101), TimeSpan.FromHours(random.Next(0, 72)), deadline);
            var count = random.Next(0, 4) == 0 ? random.Next(0, 4) : random.Next(1, 120);
            // Most rings lean healthy, so every outcome is reached often.
            var health = random.NextDouble();
            var devices = new RingDevice[count];
            for (var i = 0; i < count; i++)
            {
                DateTime? seen = random.NextDouble() < 0.03 * health ? null : Now.AddMinutes(-random.Next(0, (int)(window.TotalMinutes * (1 + health * 2))));
                DateTime? failed = random.NextDouble() < 0.05 * health ? Now.AddHours(-random.Next(0, 200)) : null;
                var before = random.Next(0, 3);
                var since = random.NextDouble() < 0.1 * health ? before + random.Next(0, 3) : random.Next(0, before + 1);
                devices[i] = new RingDevice(OsVersion.FromReported(versions[random.Next(random.Next(2) == 0 ? 8 : versions.Length)]), seen, failed, since, before, random.Next(8) == 0);
            }

            var healthSince = RingGate.HealthSince(started, resumedAt);
            var progress = RingGate.Measure(target, rule.RequiredPercent, devices, healthSince, resumedAt, Now, new HealthRule(window));
            var decision = RingGate.Decide(target, rule, progress, soakStartedAt, resumedAt, Now);
            var expected = Reference(target, rule, devices, started, soakStartedAt, resumedAt, window, out var counted, out var healthyAtTarget);

            progress.Devices.ShouldBe(counted, $"round {round}");
            progress.HealthyAtTarget.ShouldBe(healthyAtTarget, $"round {round}");
            decision.Outcome.ShouldBe(expected, $"round {round}: {decision.Reason}");
            decision.Reason.ShouldNotBeNullOrWhiteSpace();
            outcomes[expected] = outcomes.GetValueOrDefault(expected) + 1;
        }

        // Every outcome was reached, so the comparison covered each branch.
        foreach (var outcome in Enum.GetValues<GateOutcome>())
        {
            outcomes.GetValueOrDefault(outcome).ShouldBeGreaterThan(20, outcome.ToString());
        }
    }
}
