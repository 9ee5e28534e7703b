using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting;

/// <summary>
/// The pause at the start of a shutdown that lets a load balancer take the node out before its agents are sent away:
/// from the first moment of stopping <c>/readyz</c> answers 503 (<see cref="Readiness"/>), the node keeps listening,
/// serving requests and holding its agents' connections for <see cref="ReadinessOptions.DrainDelay"/>, and only then
/// closes those connections (their agents reconnect, through the balancer, to another node) and stops listening.
/// Without it, agents told to reconnect at once could be sent straight back to this node by a balancer that has not yet
/// seen its 503. Zero (the default, right for a single server) ends at once, as before.
/// </summary>
public sealed class ShutdownDrain(IOptions<ReadinessOptions> options, ILogger<ShutdownDrain> logger) : IDisposable
{
    private readonly CancellationTokenSource _drained = new();

    /// <summary>How long agents have to answer the close frame sent when the drain is over before their connections are cut.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(1);

    /// <summary>Cancelled <see cref="CloseGrace"/> after the drain is over: agent connections still open then are cut.</summary>
    public CancellationToken Drained => _drained.Token;

    /// <summary>
    /// Runs in the host's stopping callback, which holds the rest of the shutdown (the listener included) until it
    /// returns: waits out the delay, then <paramref name="closeAll"/> sends every agent its close frame, and the
    /// connections that have not closed within <see cref="CloseGrace"/> are cut.
    /// </summary>
    public void Drain(Action closeAll)
    {
        var delay = options.Value.DrainDelay;
        if (delay > TimeSpan.Zero && !_drained.IsCancellationRequested)
        {
            HostingLog.Draining(logger, delay.TotalSeconds);
            Thread.Sleep(delay);
        }

        closeAll();
        _drained.CancelAfter(CloseGrace);
    }

    public void Dispose() => _drained.Dispose();
}
