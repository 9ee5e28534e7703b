using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Safety;
using Homeroom.Server.Data;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>What became of one signals frame.</summary>
/// <param name="Dropped">Signals not scanned because the device is over its budget.</param>
/// <param name="Alerts">Alerts raised or grown (ids).</param>
/// <param name="Captures">Screenshots to ask the device for (policy allowing).</param>
public sealed record SignalsOutcome(int Dropped, IReadOnlyList<Guid> Alerts, IReadOnlyList<Guid> Captures)
{
    public static SignalsOutcome Empty(int dropped) => new(dropped, [], []);
}

/// <summary>
/// Takes the safety signals of one device: over its budget they are dropped; while its policy does not
/// allow safety monitoring (<see cref="SafetyConsent"/>) they are ignored; the rest are scanned with the
/// district's lexicon. A signal whose verdict is below <see cref="SafetyOptions.AlertThreshold"/> is
/// forgotten at once (nothing of it is stored, not even a count). One at or over it raises a safety
/// alert for the device's student, or grows the open alert of the same device, category and phrase
/// seen within <see cref="SafetyOptions.GroupWindow"/>: count, last seen, severity raised if higher, and
/// evidence (the matched text in context, at most <see cref="MaxExcerptLength"/> characters, with the
/// verdict's explanation) up to <see cref="SafetyOptions.MaxEvidencePerAlert"/> items. Everything of a
/// frame is committed in one transaction before the agent is acknowledged.
/// </summary>
public sealed class SafetyIngestion(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    SignalBudget budget,
    SafetyConsent consent,
    SafetyLexicons lexicons,
    SafetyCaptures captures,
    Notifier notifier,
    SafetySettingsDirectory routing,
    IOptions<SafetyOptions> options,
    TimeProvider time,
    ILogger<SafetyIngestion> logger)
{
    /// <summary>Longest excerpt of a signal kept as evidence.</summary>
    public const int MaxExcerptLength = 500;

    /// <summary>How the verdict's explanation is stored.</summary>
    public static readonly JsonSerializerOptions ExplanationJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    private readonly SafetyOptions _options = options.Value;

    /// <summary>
    /// Scans a device's signals and stores what raises or grows an alert. <paramref name="canCapture"/>: whether the
    /// connection they came on can answer a screenshot request (false when its agent reports the capability unavailable);
    /// screenshots are asked for only then, and only when the policy's <c>safety.screenshots</c> is on.
    /// </summary>
    public async Task<SignalsOutcome> IngestAsync(Guid deviceId, IReadOnlyList<SafetySignal> signals, bool canCapture = true, CancellationToken cancellationToken = default)
    {
        var allowed = budget.Take(deviceId, signals.Count);
        var dropped = signals.Count - allowed;
        if (dropped > 0)
        {
            SafetyLog.OverBudget(logger, deviceId, dropped);
        }

        if (allowed == 0)
        {
            return SignalsOutcome.Empty(dropped);
        }

        var permission = await consent.CheckAsync(deviceId, cancellationToken);
        if (!permission.Monitored)
        {
            SafetyLog.NotMonitored(logger, deviceId, permission.Reason ?? "not allowed");
            return SignalsOutcome.Empty(dropped);
        }

        var scanner = await lexicons.ScannerAsync(cancellationToken);
        var hits = new List<(SafetySignal Signal, SafetyVerdict Verdict)>();
        for (var i = 0; i < allowed; i++)
        {
            var verdict = scanner.Scan(signals[i].Text);
            if (verdict.Category is not null && verdict.Severity >= _options.AlertThreshold && verdict.Severity > SafetySeverity.None)
            {
                hits.Add((signals[i], verdict));
            }
        }

        if (hits.Count == 0)
        {
            return SignalsOutcome.Empty(dropped);
        }

        return await StoreAsync(deviceId, hits, permission.Screenshots && canCapture, dropped, cancellationToken);
    }

    private async Task<SignalsOutcome> StoreAsync(Guid deviceId, List<(SafetySignal Signal, SafetyVerdict Verdict)> hits, bool screenshots, int dropped, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId)
            .Select(d => new { d.Name, d.SchoolId, PersonId = d.SignedInPersonId ?? d.AssignedPersonId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return SignalsOutcome.Empty(dropped);
        }

        var raised = new List<SafetyAlert>();
        var grown = new List<(SafetyAlert Alert, bool Higher)>();
        var touched = new Dictionary<Guid, SafetyAlert>();
        var captureIds = new List<Guid>();
        var since = now - _options.GroupWindow;
        foreach (var (signal, verdict) in hits)
        {
            var category = verdict.Category!.Value;
            var categoryName = SafetyLexicons.Name(category);
            var score = verdict.Scores.FirstOrDefault(s => s.Category == category);
            var severity = score?.Severity ?? verdict.Severity;
            var matches = verdict.Matches.Where(m => m.Category == category).ToList();
            var phrase = matches.OrderByDescending(m => m.Weight).Select(m => m.Phrase).FirstOrDefault() ?? categoryName;

            var alert = touched.Values.FirstOrDefault(a => a.Category == categoryName && a.Phrase == phrase)
                ?? await db.SafetyAlerts().Where(a => a.DeviceId == deviceId && a.Category == categoryName && a.Phrase == phrase
                        && a.LastSeenAt >= since && a.Status != SafetyStatuses.Resolved && a.Status != SafetyStatuses.FalsePositive)
                    .OrderByDescending(a => a.LastSeenAt).FirstOrDefaultAsync(cancellationToken);
            var (excerpt, start) = Excerpt(signal.Text, matches);
            if (alert is not null && !touched.ContainsKey(alert.Id) && await IsResentAsync(db, alert.Id, signal, excerpt, cancellationToken))
            {
                // The same signal again: an agent resends a batch whose acknowledgement it did not receive.
                continue;
            }

            if (alert is null)
            {
                alert = new SafetyAlert
                {
                    Id = Guid.CreateVersion7(),
                    DeviceId = deviceId,
                    PersonId = device.PersonId, // the signed-in student on a shared device
                    SchoolId = device.SchoolId,
                    Category = categoryName,
                    Phrase = phrase,
                    Severity = SafetyLexicons.Name(severity),
                    SeverityRank = (int)severity,
                    Score = score?.Score ?? 0,
                    Status = SafetyStatuses.New,
                    Count = 0,
                    FirstSeenAt = now,
                    LastSeenAt = now,
                    UpdatedAt = now,
                };
                db.SafetyAlerts().Add(alert);
                db.SafetyCaseEvents().Add(new SafetyCaseEvent
                {
                    Id = Guid.CreateVersion7(), AlertId = alert.Id, At = now, Actor = "system", Kind = "created", Status = SafetyStatuses.New,
                    Text = $"Raised: {categoryName}, {alert.Severity}, \"{phrase}\" ({signal.Source}).",
                });
                raised.Add(alert);
            }
            else if (!raised.Contains(alert))
            {
                var higher = (int)severity > alert.SeverityRank;
                if (higher)
                {
                    db.SafetyCaseEvents().Add(new SafetyCaseEvent
                    {
                        Id = Guid.CreateVersion7(), AlertId = alert.Id, At = now, Actor = "system", Kind = "grew", Status = alert.Status,
                        Text = $"Severity raised from {alert.Severity} to {SafetyLexicons.Name(severity)}.",
                    });
                }

                if (grown.FindIndex(g => g.Alert == alert) is var index and >= 0)
                {
                    grown[index] = (alert, grown[index].Higher || higher);
                }
                else
                {
                    grown.Add((alert, higher));
                }
            }

            touched[alert.Id] = alert;
            alert.Count++;
            alert.LastSeenAt = now;
            alert.UpdatedAt = now;
            if ((int)severity > alert.SeverityRank)
            {
                alert.SeverityRank = (int)severity;
                alert.Severity = SafetyLexicons.Name(severity);
            }

            alert.Score = Math.Max(alert.Score, score?.Score ?? 0);

            var stored = await db.SafetyEvidence().CountAsync(e => e.AlertId == alert.Id, cancellationToken)
                + db.ChangeTracker.Entries<SafetyEvidence>().Count(e => e.State == EntityState.Added && e.Entity.AlertId == alert.Id);
            if (stored < _options.MaxEvidencePerAlert)
            {
                var evidence = new SafetyEvidence
                {
                    Id = Guid.CreateVersion7(),
                    AlertId = alert.Id,
                    OccurredAt = signal.OccurredAt.UtcDateTime,
                    ReceivedAt = now,
                    Source = signal.Source,
                    Url = signal.Url,
                    Excerpt = excerpt,
                    ExcerptStart = start,
                    Severity = SafetyLexicons.Name(severity),
                    Score = score?.Score ?? 0,
                    ExplanationJson = JsonSerializer.Serialize(Explain(verdict, start, excerpt.Length), ExplanationJson),
                    CaptureId = screenshots ? Guid.CreateVersion7() : null,
                };
                db.SafetyEvidence().Add(evidence);
                if (evidence.CaptureId is { } captureId)
                {
                    captures.Expect(captureId, deviceId, alert.Id, evidence.Id);
                    captureIds.Add(captureId);
                }
            }
        }

        await db.SaveChangesAsync(cancellationToken);

        var told = new List<SafetyAlert>();
        foreach (var alert in raised)
        {
            SafetyLog.Raised(logger, alert.Id, deviceId, alert.Category, alert.Severity);
            told.Add(alert);
        }

        foreach (var (alert, higher) in grown)
        {
            if (higher)
            {
                // A case that became more serious is news: told again, by e-mail too when it is now high.
                told.Add(alert);
            }
            else
            {
                notifier.Update(SafetyNotifications.Of(alert, device.Name));
            }
        }

        await TellAsync(db, told, device.Name, now, cancellationToken);
        return new SignalsOutcome(dropped, touched.Keys.ToList(), captureIds);
    }

    /// <summary>
    /// Tells staff of new and more serious alerts. During the school's quiet hours a high (not imminent)
    /// alert is shown on open console pages only and held for the summary sent when they end
    /// (<see cref="SafetyQuietHours"/>); an imminent one always goes out at once.
    /// </summary>
    private async Task TellAsync(HomeroomDbContext db, List<SafetyAlert> alerts, string deviceName, DateTime now, CancellationToken cancellationToken)
    {
        var held = new List<Guid>();
        var released = new List<Guid>();
        var quiet = new Dictionary<Guid, QuietHours?>();
        foreach (var alert in alerts)
        {
            var notification = SafetyNotifications.Of(alert, deviceName);
            if (notification.Severity == NotificationSeverity.High && alert.SchoolId is { } school)
            {
                if (!quiet.TryGetValue(school, out var hours))
                {
                    hours = (await routing.RouteAsync(db, school, cancellationToken)).Quiet;
                    quiet[school] = hours;
                }

                if (hours?.Contains(now) == true)
                {
                    notifier.PublishToConsole(notification);
                    held.Add(alert.Id);
                    continue;
                }
            }

            if (notification.Severity == NotificationSeverity.Imminent && alert.QuietHeldAt is not null)
            {
                released.Add(alert.Id); // Told now in full; the summary need not repeat it.
            }

            notifier.Publish(notification);
        }

        if (held.Count > 0)
        {
            await db.SafetyAlerts().Where(a => held.Contains(a.Id) && a.QuietHeldAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.QuietHeldAt, now), cancellationToken);
        }

        if (released.Count > 0)
        {
            await db.SafetyAlerts().Where(a => released.Contains(a.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.QuietHeldAt, (DateTime?)null), cancellationToken);
        }
    }

    /// <summary>
    /// Whether this signal is already evidence of the alert (same time, source and excerpt): a resent batch
    /// then neither counts again nor adds evidence. Repeats beyond <see cref="SafetyOptions.MaxEvidencePerAlert"/>
    /// are not kept, so a resend of one of those still counts.
    /// </summary>
    private static Task<bool> IsResentAsync(HomeroomDbContext db, Guid alertId, SafetySignal signal, string excerpt, CancellationToken cancellationToken)
    {
        var occurredAt = signal.OccurredAt.UtcDateTime;
        return db.SafetyEvidence().AnyAsync(
            e => e.AlertId == alertId && e.OccurredAt == occurredAt && e.Source == signal.Source && e.Excerpt == excerpt, cancellationToken);
    }

    /// <summary>The matched text in context: at most <see cref="MaxExcerptLength"/> characters around the category's matches.</summary>
    public static (string Excerpt, int Start) Excerpt(string text, IReadOnlyList<PhraseMatch> matches)
    {
        if (text.Length <= MaxExcerptLength || matches.Count == 0)
        {
            return (text.Length <= MaxExcerptLength ? text : text[..MaxExcerptLength], 0);
        }

        var first = matches.Min(m => m.Start);
        var last = Math.Min(text.Length, matches.Max(m => m.Start + m.Length));
        var span = last - first;
        var start = span >= MaxExcerptLength ? first : Math.Max(0, first - ((MaxExcerptLength - span) / 2));
        start = Math.Min(start, text.Length - MaxExcerptLength);
        return (text.Substring(start, MaxExcerptLength), start);
    }

    /// <summary>The verdict with offsets moved into the excerpt; matches outside it are left out.</summary>
    private static SafetyVerdict Explain(SafetyVerdict verdict, int start, int length)
    {
        bool Inside(int s, int l) => s >= start && s + l <= start + length;
        var matches = verdict.Matches.Where(m => Inside(m.Start, m.Length))
            .Select(m => m with
            {
                Start = m.Start - start,
                Context = m.Context.Where(c => Inside(c.Start, c.Length)).Select(c => c with { Start = c.Start - start }).ToList(),
            })
            .ToList();
        return verdict with { Matches = matches };
    }
}

/// <summary>The notification of a safety alert: only for staff who read safety (safety leads and district administrators of its school).</summary>
public static class SafetyNotifications
{
    public static Notification Of(SafetyAlert alert, string deviceName) => new(
        NotificationKinds.Safety,
        alert.SeverityRank switch
        {
            >= (int)SafetySeverity.Imminent => NotificationSeverity.Imminent,
            >= (int)SafetySeverity.High => NotificationSeverity.High,
            _ => NotificationSeverity.Warning,
        },
        alert.Id,
        alert.SchoolId,
        alert.DeviceId,
        $"Safety alert: {CategoryLabel(alert.Category)} ({alert.Severity})",
        $"A safety signal on {deviceName} needs a safety lead's review ({alert.Count} so far).",
        $"/safety/alerts/{alert.Id}",
        alert.LastSeenAt,
        Accounts.Permission.ReadSafety);

    public static string CategoryLabel(string category) => category switch
    {
        "selfHarm" => "self-harm",
        _ => category,
    };
}

internal static partial class SafetyLog
{
    [LoggerMessage(EventId = 14001, Level = LogLevel.Warning, Message = "Device {DeviceId} sends more safety signals than its budget; {Dropped} were not scanned")]
    public static partial void OverBudget(ILogger logger, Guid deviceId, int dropped);

    [LoggerMessage(EventId = 14002, Level = LogLevel.Debug, Message = "Safety signals of device {DeviceId} ignored: {Reason}")]
    public static partial void NotMonitored(ILogger logger, Guid deviceId, string reason);

    [LoggerMessage(EventId = 14003, Level = LogLevel.Information, Message = "Safety alert {AlertId} raised for device {DeviceId}: {Category}, {Severity}")]
    public static partial void Raised(ILogger logger, Guid alertId, Guid deviceId, string category, string severity);

    [LoggerMessage(EventId = 14004, Level = LogLevel.Information, Message = "Safety screenshot {CaptureId} of device {DeviceId} dropped: {Reason}")]
    public static partial void ScreenshotDropped(ILogger logger, Guid captureId, Guid deviceId, string reason);

    [LoggerMessage(EventId = 14005, Level = LogLevel.Warning, Message = "Safety alert {AlertId} (imminent) not acknowledged in time: escalated")]
    public static partial void Escalated(ILogger logger, Guid alertId);

    [LoggerMessage(EventId = 14006, Level = LogLevel.Warning, Message = "The escalation e-mail of safety alert {AlertId} failed: {Result}")]
    public static partial void EscalationMailFailed(ILogger logger, Guid alertId, string result);

    [LoggerMessage(EventId = 14007, Level = LogLevel.Information, Message = "Quiet hours of school {SchoolId} ended: a summary of {Count} held safety alert(s) is sent")]
    public static partial void QuietSummary(ILogger logger, Guid schoolId, int count);
}
