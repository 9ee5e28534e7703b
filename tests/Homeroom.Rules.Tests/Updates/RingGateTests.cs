using Homeroom.Rules.Updates;
using Microsoft.Extensions.Time.Testing;

namespace Homeroom.Rules.Tests.Updates;

/// <summary>The ring state machine driven hour by hour with a fake clock, as the periodic job drives it.</summary>
public sealed class RingGateTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
    private static readonly OsVersion Target = OsVersion.FromReported("18.2");

    /// <summary>A rollout of a pilot ring of 40 devices and a broad ring of 200, evaluated like the server does.</summary>
    private sealed class Rollout
    {
        public FakeTimeProvider Clock { get; } = new(Monday);
        public List<RingDevice>[] Devices { get; }
        public RingRule[] Rules { get; }
        public RolloutStatus Status { get; set; }
        public List<RolloutEvent> Events { get; } = [];
        public GateDecision? Last { get; private set; }

        public Rollout(int pilot = 40, int broad = 200, int percent = 95, int soakHours = 48, DateTime? pilotDeadline = null)
        {
            var now = Now;
            Devices = [Enumerable.Range(0, pilot).Select(_ => Device("18.1", now)).ToList(), Enumerable.Range(0, broad).Select(_ => Device("18.1", now)).ToList()];
            Rules = [new RingRule("pilot", percent, TimeSpan.FromHours(soakHours), pilotDeadline), new RingRule("broad", percent, TimeSpan.FromHours(soakHours), null)];
            Status = RolloutStatus.Start(2, now);
        }

        public DateTime Now => Clock.GetUtcNow().UtcDateTime;

        public RingState Ring(int i) => Status.Rings[i];

        public static RingDevice Device(string version, DateTime seen) => new(OsVersion.FromReported(version), seen, null, 0, 0);

        /// <summary>Every device of a ring checks in now, on the given version.</summary>
        public void CheckIn(int ring, string version, Func<int, bool>? which = null)
        {
            var list = Devices[ring];
            for (var i = 0; i < list.Count; i++)
            {
                if (which is null || which(i))
                {
                    list[i] = list[i] with { Version = OsVersion.FromReported(version), LastSeenAt = Now };
                }
            }
        }

        /// <summary>One pass of the job.</summary>
        public GateDecision Evaluate()
        {
            var index = Status.CurrentRing;
            var state = Status.Rings[index];
            var since = RingGate.HealthSince(state.StartedAt!.Value, Status.ResumedAt);
            var progress = RingGate.Measure(Target, Rules[index].RequiredPercent, Devices[index].ToArray(), since, Status.ResumedAt, Now, HealthRule.Default);
            Last = RingGate.Decide(Target, Rules[index], progress, state.SoakStartedAt, Status.ResumedAt, Now);
            var step = RolloutMachine.Apply(Status, Rules, Last, Now);
            Status = step.Status;
            Events.AddRange(step.Events);
            return Last;
        }

        /// <summary>Advances the clock an hour at a time, devices still checking in (those <paramref name="silent"/> picks excepted), evaluating each hour.</summary>
        public void RunHours(int hours, Func<int, int, bool>? silent = null)
        {
            for (var h = 0; h < hours; h++)
            {
                Clock.Advance(TimeSpan.FromHours(1));
                for (var ring = 0; ring < Devices.Length; ring++)
                {
                    var list = Devices[ring];
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (list[i].LastSeenAt is not null && silent?.Invoke(ring, i) != true)
                        {
                            list[i] = list[i] with { LastSeenAt = Now };
                        }
                    }
                }

                if (Status.State == RolloutState.Active)
                {
                    Evaluate();
                }
            }
        }
    }

    [Fact]
    public void Evaluate_PilotUpdatesAndStaysHealthy_SoaksThenPromotesTheNextRing()
    {
        var rollout = new Rollout();
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.Wait);
        rollout.Last!.Reason.ShouldContain("0 of 40 pilot devices are on 18.2 or newer and healthy; 38 needed (95 %)");

        rollout.CheckIn(0, "18.2", i => i < 38);
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Soaking);
        rollout.Ring(1).Phase.ShouldBe(RingPhase.Waiting);

        rollout.RunHours(47);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Soaking);
        rollout.Last!.Outcome.ShouldBe(GateOutcome.KeepSoaking);
        rollout.Last.SoakLeft.ShouldBe(TimeSpan.FromHours(1));
        rollout.Last.Reason.ShouldContain("1 h left of 2 days");

        rollout.RunHours(1);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Passed);
        rollout.Ring(1).Phase.ShouldBe(RingPhase.InProgress);
        rollout.Ring(1).StartedAt.ShouldBe(rollout.Now);
        rollout.Status.CurrentRing.ShouldBe(1);
        var promoted = rollout.Events.Where(e => e.Kind == RolloutEventKind.Promoted).ShouldHaveSingleItem();
        promoted.Text.ShouldContain("The broad ring starts now");
    }

    [Fact]
    public void Evaluate_LastRingPasses_RolloutIsDone()
    {
        var rollout = new Rollout(pilot: 5, broad: 5, percent: 100, soakHours: 2);
        rollout.CheckIn(0, "18.2");
        rollout.Evaluate();
        rollout.RunHours(2);
        rollout.Status.CurrentRing.ShouldBe(1);
        rollout.CheckIn(1, "18.3");
        rollout.RunHours(3);
        rollout.Status.State.ShouldBe(RolloutState.Done);
        rollout.Events.ShouldContain(e => e.Kind == RolloutEventKind.Done);
    }

    [Fact]
    public void Evaluate_PilotDevicesStopReporting_GateFailsAndPausesSayingWhy()
    {
        var rollout = new Rollout();
        rollout.CheckIn(0, "18.2");
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);

        // Twelve pilot devices go quiet on Monday at 09:00 and stay quiet.
        rollout.RunHours(1);
        rollout.RunHours(30, (ring, i) => ring == 0 && i < 12);

        rollout.Status.State.ShouldBe(RolloutState.Paused);
        rollout.Status.PauseReason.ShouldBe(
            "12 of 40 pilot devices have not reported since Monday 30 November 09:00 UTC. " +
            "With 95 % required, at most 2 devices of 40 may fall short, so the pilot ring cannot pass as it is.");
        rollout.Ring(1).Phase.ShouldBe(RingPhase.Waiting);
        rollout.Events.ShouldContain(e => e.Kind == RolloutEventKind.Paused);

        // Paused: nothing promotes however long it waits.
        rollout.RunHours(100);
        rollout.Status.State.ShouldBe(RolloutState.Paused);
        rollout.Ring(1).Phase.ShouldBe(RingPhase.Waiting);
    }

    [Fact]
    public void Evaluate_FailedInstalls_PauseNamingThem()
    {
        var rollout = new Rollout(pilot: 10, percent: 80);
        rollout.CheckIn(0, "18.2", i => i >= 3);
        rollout.Clock.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 3; i++)
        {
            rollout.Devices[0][i] = rollout.Devices[0][i] with { LastFailedInstallAt = rollout.Now };
        }

        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.Pause);
        rollout.Status.PauseReason!.ShouldStartWith("3 failed to install 18.2.");
        rollout.Status.PauseReason.ShouldContain("at most 2 devices of 10");
    }

    [Fact]
    public void Evaluate_MoreFailedCommandsThanBefore_CountsAsUnhealthy()
    {
        var rollout = new Rollout(pilot: 4, percent: 75);
        rollout.CheckIn(0, "18.2");
        rollout.Devices[0][0] = rollout.Devices[0][0] with { ErrorsSince = 3, ErrorsBefore = 1 };
        rollout.Devices[0][1] = rollout.Devices[0][1] with { ErrorsSince = 2, ErrorsBefore = 2 };
        var decision = rollout.Evaluate();
        decision.Progress.ErrorRise.ShouldBe(1);
        decision.Progress.HealthyAtTarget.ShouldBe(3);
        decision.Outcome.ShouldBe(GateOutcome.StartSoak);

        rollout.Devices[0][1] = rollout.Devices[0][1] with { ErrorsSince = 3 };
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.Pause);
        rollout.Status.PauseReason!.ShouldContain("2 report more failed commands than before the update");
    }

    [Fact]
    public void Stop_AnyTime_EndsTheRolloutAndNothingStartsAgain()
    {
        var rollout = new Rollout();
        rollout.CheckIn(0, "18.2");
        rollout.Evaluate();
        var step = RolloutMachine.Stop(rollout.Status, "alice", rollout.Now);
        rollout.Status = step.Status;
        step.Events.ShouldHaveSingleItem().Kind.ShouldBe(RolloutEventKind.Stopped);

        rollout.RunHours(200);
        rollout.Status.State.ShouldBe(RolloutState.Stopped);
        rollout.Ring(1).Phase.ShouldBe(RingPhase.Waiting);
        RolloutMachine.Apply(rollout.Status, rollout.Rules, rollout.Evaluate(), rollout.Now).Events.ShouldBeEmpty();
        Should.Throw<RolloutTransitionException>(() => RolloutMachine.Resume(rollout.Status, "alice", rollout.Now));
        Should.Throw<RolloutTransitionException>(() => RolloutMachine.Stop(rollout.Status, "alice", rollout.Now));
        Should.Throw<RolloutTransitionException>(() => RolloutMachine.Pause(rollout.Status, "alice", rollout.Now));
    }

    [Fact]
    public void PauseAndResume_ByAnAdministrator_HoldsThenRestartsTheSoak()
    {
        var rollout = new Rollout();
        rollout.CheckIn(0, "18.2");
        rollout.Evaluate();
        rollout.RunHours(40);
        rollout.Status = RolloutMachine.Pause(rollout.Status, "alice", rollout.Now).Status;
        rollout.Status.PauseReason.ShouldBe("Paused by alice.");
        Should.Throw<RolloutTransitionException>(() => RolloutMachine.Pause(rollout.Status, "alice", rollout.Now)).Message.ShouldContain("already paused");
        rollout.RunHours(20);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Soaking);

        rollout.Status = RolloutMachine.Resume(rollout.Status, "alice", rollout.Now).Status;
        rollout.Ring(0).Phase.ShouldBe(RingPhase.InProgress);
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);
        rollout.RunHours(47);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Soaking);
        rollout.RunHours(1);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Passed);
    }

    [Fact]
    public void Evaluate_DeviceJoinsMidSoak_BackInProgressUntilItUpdates()
    {
        var rollout = new Rollout(pilot: 20, percent: 100, soakHours: 10);
        rollout.CheckIn(0, "18.2");
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);
        rollout.RunHours(5);

        // A device joins the pilot group on 18.1: 20 of 21 falls below 100 %.
        rollout.Devices[0].Add(Rollout.Device("18.1", rollout.Now));
        var decision = rollout.Evaluate();
        decision.Outcome.ShouldBe(GateOutcome.ResetSoak);
        decision.Progress.Devices.ShouldBe(21);
        decision.Reason.ShouldContain("20 of 21 pilot devices");
        rollout.Ring(0).Phase.ShouldBe(RingPhase.InProgress);
        rollout.Status.State.ShouldBe(RolloutState.Active);

        rollout.RunHours(3);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.InProgress);
        rollout.CheckIn(0, "18.2", i => i == 20);
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);
        rollout.RunHours(10);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Passed);
        rollout.Ring(0).PassedAt.ShouldBe(Monday.UtcDateTime.AddHours(18));
    }

    [Fact]
    public void Evaluate_DeviceThatNeverReports_CountsAgainstTheGateAndIsNamedWhenItBlocksIt()
    {
        var rollout = new Rollout(pilot: 10, percent: 100);
        rollout.Devices[0][9] = new RingDevice(default, null, null, 0, 0);
        rollout.CheckIn(0, "18.2", i => i < 9);
        var decision = rollout.Evaluate();
        decision.Outcome.ShouldBe(GateOutcome.Pause);
        decision.Progress.NeverReported.ShouldBe(1);
        rollout.Status.PauseReason.ShouldBe(
            "1 of 10 pilot devices have never reported. With 100 % required, at most 0 devices of 10 may fall short, so the pilot ring cannot pass as it is.");

        // Resuming accepts the silent device: it is left out, and the nine others pass.
        rollout.Status = RolloutMachine.Resume(rollout.Status, "alice", rollout.Now).Status;
        decision = rollout.Evaluate();
        decision.Progress.Excused.ShouldBe(1);
        decision.Progress.Devices.ShouldBe(9);
        decision.Outcome.ShouldBe(GateOutcome.StartSoak);
    }

    [Fact]
    public void Evaluate_NeverReportingDeviceWithinTheShare_DoesNotHoldTheGate()
    {
        var rollout = new Rollout(pilot: 40, percent: 95, soakHours: 1);
        rollout.Devices[0][0] = new RingDevice(default, null, null, 0, 0);
        rollout.CheckIn(0, "18.2", i => i > 0);
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.StartSoak);
        rollout.RunHours(1);
        rollout.Ring(0).Phase.ShouldBe(RingPhase.Passed);
    }

    [Fact]
    public void Evaluate_DeadlinePassesShortOfTheShare_PausesOnceThenWaitsAfterResume()
    {
        var rollout = new Rollout(pilot: 10, percent: 90, pilotDeadline: Monday.UtcDateTime.AddDays(2));
        rollout.CheckIn(0, "18.2", i => i < 5);
        rollout.RunHours(47);
        rollout.Status.State.ShouldBe(RolloutState.Active);
        rollout.Last!.Outcome.ShouldBe(GateOutcome.Wait);
        rollout.RunHours(1);
        rollout.Status.State.ShouldBe(RolloutState.Paused);
        rollout.Status.PauseReason.ShouldBe(
            "The pilot deadline (Wednesday 2 December 08:00 UTC) passed: 5 of 10 pilot devices are on 18.2 or newer and healthy; 9 needed (90 %). 5 not on the target yet.");

        rollout.Status = RolloutMachine.Resume(rollout.Status, "alice", rollout.Now).Status;
        rollout.RunHours(5);
        rollout.Status.State.ShouldBe(RolloutState.Active);
        rollout.Last.Outcome.ShouldBe(GateOutcome.Wait);
    }

    [Fact]
    public void Evaluate_EmptyRing_Pauses()
    {
        var rollout = new Rollout(pilot: 0);
        rollout.Evaluate().Outcome.ShouldBe(GateOutcome.Pause);
        rollout.Status.PauseReason!.ShouldContain("The pilot ring has no devices");
    }

    [Theory]
    [InlineData(40, 95, 38)]
    [InlineData(1, 1, 1)]
    [InlineData(3, 50, 2)]
    [InlineData(100, 100, 100)]
    [InlineData(0, 95, 0)]
    public void RequiredOf_RoundsUp(int devices, int percent, int required) => RingGate.RequiredOf(devices, percent).ShouldBe(required);

    [Fact]
    public void Measure_DesktopReportingUpdatesPending_NotOnTheTargetWhateverItsVersion()
    {
        var now = Monday.UtcDateTime;
        RingDevice[] devices =
        [
            new(OsVersion.FromReported("18.2"), now, null, 0, 0, UpdatesPending: true),
            new(OsVersion.FromReported("18.2"), now, null, 0, 0),
            new(OsVersion.FromReported("18.3"), now, null, 0, 0, UpdatesPending: false),
        ];

        var progress = RingGate.Measure(Target, 100, devices, now, null, now, HealthRule.Default);

        progress.Devices.ShouldBe(3);
        progress.AtTarget.ShouldBe(2);
        progress.HealthyAtTarget.ShouldBe(2);
        progress.Unhealthy.ShouldBe(0);
    }
}
