namespace Homeroom.Rules.Updates;

/// <summary>One ring's state: its phase, when it started, when its soak started and when it passed.</summary>
public sealed record RingState(RingPhase Phase, DateTime? StartedAt, DateTime? SoakStartedAt, DateTime? PassedAt)
{
    public static readonly RingState Waiting = new(RingPhase.Waiting, null, null, null);
}

/// <summary>
/// A rollout's state: where it is, the ring that is updating (its index), why it is paused, when an
/// administrator last resumed it, and each ring's state in order.
/// </summary>
public sealed record RolloutStatus(RolloutState State, int CurrentRing, string? PauseReason, DateTime? ResumedAt, IReadOnlyList<RingState> Rings)
{
    /// <summary>A new rollout: its first ring starts at <paramref name="now"/>, the others wait.</summary>
    public static RolloutStatus Start(int rings, DateTime now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rings, 1);
        var states = new RingState[rings];
        states[0] = new RingState(RingPhase.InProgress, now, null, null);
        for (var i = 1; i < rings; i++)
        {
            states[i] = RingState.Waiting;
        }

        return new RolloutStatus(RolloutState.Active, 0, null, null, states);
    }
}

/// <summary>What happened in a step, for the audit trail: a promotion, a pause, a soak started or reset.</summary>
public enum RolloutEventKind
{
    SoakStarted,
    SoakReset,
    Promoted,
    Done,
    Paused,
    Resumed,
    Stopped,
}

/// <summary>One event of a step, with its words.</summary>
public sealed record RolloutEvent(RolloutEventKind Kind, int Ring, string Text);

/// <summary>The state after a step and what happened.</summary>
public sealed record RolloutStep(RolloutStatus Status, IReadOnlyList<RolloutEvent> Events);

/// <summary>A manual action refused in the rollout's state (answered 409).</summary>
public sealed class RolloutTransitionException(string message) : Exception(message);

/// <summary>
/// The rollout state machine: the periodic evaluation applies the current ring's <see cref="GateDecision"/>,
/// and administrators pause, resume and stop. Pure: the caller stores the state and audits the events.
/// <code>
/// Active ── gate passes ──► next ring InProgress (or Done after the last)
///   │  ▲                    
///   │  └─ resume ── Paused ◄── gate pauses / administrator pauses
///   └── stop (from Active or Paused) ──► Stopped
/// </code>
/// </summary>
public static class RolloutMachine
{
    /// <summary>Applies the gate's decision on the current ring of an active rollout.</summary>
    public static RolloutStep Apply(RolloutStatus status, IReadOnlyList<RingRule> rings, GateDecision decision, DateTime now)
    {
        if (status.State != RolloutState.Active)
        {
            return new RolloutStep(status, []);
        }

        var index = status.CurrentRing;
        var states = status.Rings.ToArray();
        var ring = states[index];
        var name = rings[index].Name;
        switch (decision.Outcome)
        {
            case GateOutcome.Wait:
            case GateOutcome.KeepSoaking:
                return new RolloutStep(status, []);
            case GateOutcome.StartSoak:
                states[index] = ring with { Phase = RingPhase.Soaking, SoakStartedAt = now };
                return new RolloutStep(status with { Rings = states }, [new RolloutEvent(RolloutEventKind.SoakStarted, index, decision.Reason)]);
            case GateOutcome.ResetSoak:
                states[index] = ring with { Phase = RingPhase.InProgress, SoakStartedAt = null };
                return new RolloutStep(status with { Rings = states }, [new RolloutEvent(RolloutEventKind.SoakReset, index, decision.Reason)]);
            case GateOutcome.Pause:
                return new RolloutStep(
                    status with { State = RolloutState.Paused, PauseReason = decision.Reason },
                    [new RolloutEvent(RolloutEventKind.Paused, index, decision.Reason)]);
            case GateOutcome.Pass:
                states[index] = ring with { Phase = RingPhase.Passed, SoakStartedAt = ring.SoakStartedAt ?? now, PassedAt = now };
                if (index + 1 >= states.Length)
                {
                    return new RolloutStep(status with { State = RolloutState.Done, Rings = states },
                        [new RolloutEvent(RolloutEventKind.Done, index, decision.Reason + " That was the last ring: the rollout is done.")]);
                }

                states[index + 1] = new RingState(RingPhase.InProgress, now, null, null);
                return new RolloutStep(status with { CurrentRing = index + 1, Rings = states },
                    [new RolloutEvent(RolloutEventKind.Promoted, index + 1, $"{decision.Reason} The {rings[index + 1].Name} ring starts now (promoted from {name}).")]);
            default:
                throw new ArgumentOutOfRangeException(nameof(decision), decision.Outcome, "Unknown gate outcome.");
        }
    }

    /// <summary>An administrator holds an active rollout.</summary>
    public static RolloutStep Pause(RolloutStatus status, string who, DateTime now)
    {
        _ = now;
        if (status.State != RolloutState.Active)
        {
            throw new RolloutTransitionException(status.State == RolloutState.Paused
                ? "The rollout is already paused."
                : $"A {Name(status.State)} rollout cannot be paused.");
        }

        var reason = $"Paused by {who}.";
        return new RolloutStep(status with { State = RolloutState.Paused, PauseReason = reason },
            [new RolloutEvent(RolloutEventKind.Paused, status.CurrentRing, reason)]);
    }

    /// <summary>
    /// An administrator resumes a paused rollout. The current ring's soak starts again (the devices must
    /// stay healthy for the whole soak time after whatever paused it); failures before now no longer
    /// count, and devices silent since before now are left out of the gate (resuming accepts them).
    /// </summary>
    public static RolloutStep Resume(RolloutStatus status, string who, DateTime now)
    {
        if (status.State != RolloutState.Paused)
        {
            throw new RolloutTransitionException($"Only a paused rollout can be resumed; this one is {Name(status.State)}.");
        }

        var states = status.Rings.ToArray();
        var ring = states[status.CurrentRing];
        if (ring.Phase == RingPhase.Soaking)
        {
            states[status.CurrentRing] = ring with { Phase = RingPhase.InProgress, SoakStartedAt = null };
        }

        return new RolloutStep(status with { State = RolloutState.Active, PauseReason = null, ResumedAt = now, Rings = states },
            [new RolloutEvent(RolloutEventKind.Resumed, status.CurrentRing, $"Resumed by {who}.")]);
    }

    /// <summary>An administrator ends a rollout for good; rings not started never start.</summary>
    public static RolloutStep Stop(RolloutStatus status, string who, DateTime now)
    {
        _ = now;
        if (status.State is RolloutState.Stopped or RolloutState.Done)
        {
            throw new RolloutTransitionException($"The rollout is already {Name(status.State)}.");
        }

        var reason = $"Stopped by {who}.";
        return new RolloutStep(status with { State = RolloutState.Stopped, PauseReason = reason },
            [new RolloutEvent(RolloutEventKind.Stopped, status.CurrentRing, reason)]);
    }

    /// <summary>The state as a word in a sentence.</summary>
    public static string Name(RolloutState state) => state switch
    {
        RolloutState.Active => "active",
        RolloutState.Paused => "paused",
        RolloutState.Stopped => "stopped",
        RolloutState.Done => "done",
        _ => state.ToString().ToLowerInvariant(),
    };
}
