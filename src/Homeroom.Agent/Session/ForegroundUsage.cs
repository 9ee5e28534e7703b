using Homeroom.Agent.Connection;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Hosting;

namespace Homeroom.Agent.Session;

/// <summary>
/// Turns the foreground application the user-session helper reports into <c>app.usage</c> activity
/// (issue 15's app usage from desktops): one event per stretch of one application in front, with its
/// start as <c>occurredAt</c> and its length in <c>durationSeconds</c>. A stretch ends when another
/// application comes to the front, when the helper goes away (nobody signed in, or the session ended),
/// and every <see cref="AgentOptions.UsageReportInterval"/> (so a long stretch is reported as it goes,
/// never as one event over an hour). Only the application's name is sent, never a window title, and
/// only while the applied policy leaves <c>monitoring.activity</c> on (nothing before the first policy,
/// like the Chrome extension). Time the user is away (no keyboard or pointer input for the helper's
/// <see cref="SessionHelperOptions.IdleAfter"/>, 5 minutes) is not counted: the stretch ends at their last
/// input and the next starts when input comes again. Time behind the lock screen (a <c>lock</c> command
/// until its <c>unlock</c>) is not counted either.
/// </summary>
public sealed class ForegroundUsage : BackgroundService
{
    private readonly ActivitySink _sink;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Lock _gate = new();
    private string? _app;
    private DateTimeOffset _since;
    private bool _enabled;
    private bool _away;
    private bool _locked;

    public ForegroundUsage(SessionHost sessions, ActivitySink sink, AgentOptions options, TimeProvider time)
    {
        _sink = sink;
        _time = time;
        _interval = options.UsageReportInterval;
        sessions.ForegroundChanged += Changed;
        sessions.IdleChanged += (away, at) => Pause(away, null, at);
        sessions.LockChanged += (locked, at) => Pause(null, locked, at);
    }

    /// <summary>Whether usage is recorded: the applied policy's <c>monitoring.activity</c>.</summary>
    public void SetEnabled(bool enabled)
    {
        lock (_gate)
        {
            if (_enabled && !enabled)
            {
                Close(_time.GetUtcNow());
            }

            _enabled = enabled;
            _since = _time.GetUtcNow();
        }
    }

    private void Changed(string? app, string? title, DateTimeOffset at)
    {
        var name = string.IsNullOrWhiteSpace(app) ? null : app.Trim();
        lock (_gate)
        {
            if (name == _app)
            {
                return; // Only the window title changed: the same application is still in front.
            }

            Close(at);
            _app = name;
            _since = at;
        }
    }

    // The user went away or came back (null: unchanged), or the device was locked or unlocked: a stretch ends when
    // either begins and the next starts when neither holds any more.
    private void Pause(bool? away, bool? locked, DateTimeOffset at)
    {
        lock (_gate)
        {
            var counting = !_away && !_locked;
            var willCount = !(away ?? _away) && !(locked ?? _locked);
            if (counting && !willCount)
            {
                Close(at);
                _since = at;
            }

            (_away, _locked) = (away ?? _away, locked ?? _locked);
            if (!counting && willCount)
            {
                _since = at > _since ? at : _since;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Clamp(_interval.TotalSeconds / 4, 1, 60)), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = _time.GetUtcNow();
                lock (_gate)
                {
                    if (_app is not null && !_away && !_locked && now - _since >= _interval)
                    {
                        Close(now);
                        _since = now;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is in front now is counted when the agent runs again and the helper reports it.
        }
    }

    // Records the stretch from _since to `at` of the current application, when allowed and at least a second long.
    private void Close(DateTimeOffset at)
    {
        if (!_enabled || _away || _locked || _app is not { } app)
        {
            return;
        }

        var seconds = (int)Math.Min((at - _since).TotalSeconds, ProtocolLimits.MaxWebUsageSeconds);
        if (seconds < 1)
        {
            return;
        }

        var name = app.Length <= ProtocolLimits.MaxShortText ? app : app[..ProtocolLimits.MaxShortText];
        _sink.Record(new ActivityEvent(0, _since, ActivityKinds.AppUsage, Title: name, AppId: name, DurationSeconds: seconds));
    }
}
