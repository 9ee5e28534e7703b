using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Notifications;

/// <summary>
/// Sends new notifications by e-mail and webhook where their school's settings ask, off the path that
/// published them: it reads the notifier's bounded queue, looks up the school's targets, and hands each
/// delivery to a few senders through a second bounded queue. A delivery is tried
/// <see cref="NotificationOptions.Attempts"/> times with a doubling wait; its last result is logged and
/// kept on the school's settings (the settings page shows it).
/// </summary>
public sealed class NotificationDelivery(
    Notifier notifier,
    NotificationSettingsDirectory settings,
    EmailSender email,
    WebhookSender webhooks,
    IOptions<NotificationOptions> options,
    TimeProvider time,
    ILogger<NotificationDelivery> logger) : BackgroundService
{
    private sealed record Job(DeliveryChannel Channel, Notification Notification, Guid SchoolId, DeliveryTargets Targets);

    private readonly Channel<Job> _jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.Value.QueueLength) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var senders = Enumerable.Range(0, options.Value.Senders).Select(_ => SendLoopAsync(stoppingToken)).ToList();
        try
        {
            await foreach (var notification in notifier.Outbound.ReadAllAsync(stoppingToken))
            {
                if (notification.SchoolId is not { } school)
                {
                    continue; // Settings are per school; a device of no school has none.
                }

                if (notification.Kind == NotificationKinds.Safety && notification.Severity < NotificationSeverity.High)
                {
                    continue; // Safety alerts leave the console only when high or imminent.
                }

                try
                {
                    if (await settings.TargetsAsync(school, notification.Kind, stoppingToken) is not { } targets)
                    {
                        continue;
                    }

                    if (targets.EmailAddresses.Count > 0 && options.Value.Smtp.IsConfigured)
                    {
                        Enqueue(new Job(DeliveryChannel.Email, notification, school, targets));
                    }

                    if (targets.WebhookUrl is not null)
                    {
                        Enqueue(new Job(DeliveryChannel.Webhook, notification, school, targets));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    NotificationsLog.PrepareFailed(logger, notification.SubjectId, e);
                }
            }
        }
        finally
        {
            _jobs.Writer.TryComplete();
            await Task.WhenAll(senders);
        }
    }

    private void Enqueue(Job job)
    {
        if (!_jobs.Writer.TryWrite(job))
        {
            NotificationsLog.DeliveryQueueFull(logger, job.Channel.ToString(), job.Notification.SubjectId);
        }
    }

    private async Task SendLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in _jobs.Reader.ReadAllAsync(stoppingToken))
            {
                await DeliverAsync(job, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverAsync(Job job, CancellationToken stoppingToken)
    {
        var delay = options.Value.RetryDelay;
        string result = "not tried";
        var succeeded = false;
        for (var attempt = 1; attempt <= options.Value.Attempts && !succeeded; attempt++)
        {
            if (attempt > 1)
            {
                await Task.Delay(delay, time, stoppingToken);
                delay *= 2;
            }

            var outcome = job.Channel == DeliveryChannel.Email
                ? await email.SendAsync(job.Notification, job.Targets.EmailAddresses, stoppingToken)
                : await webhooks.SendAsync(job.Notification, job.Targets.WebhookUrl!, job.Targets.WebhookSecret!, stoppingToken);
            succeeded = outcome.Succeeded;
            result = attempt > 1 ? $"{outcome.Result} (attempt {attempt})" : outcome.Result;
            if (!succeeded)
            {
                NotificationsLog.AttemptFailed(logger, job.Channel.ToString(), job.Notification.SubjectId, job.SchoolId, attempt, outcome.Result);
                if (!outcome.Retry)
                {
                    break;
                }
            }
        }

        if (succeeded)
        {
            NotificationsLog.Delivered(logger, job.Channel.ToString(), job.Notification.SubjectId, job.SchoolId, result);
        }
        else
        {
            NotificationsLog.DeliveryFailed(logger, job.Channel.ToString(), job.Notification.SubjectId, job.SchoolId, result);
        }

        try
        {
            await settings.RecordAsync(job.SchoolId, job.Channel, succeeded, result, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NotificationsLog.RecordFailed(logger, job.SchoolId, e);
        }
    }
}

/// <summary>What one attempt came to, and whether trying again may help.</summary>
public sealed record DeliveryOutcome(bool Succeeded, string Result, bool Retry)
{
    public static DeliveryOutcome Ok(string result) => new(true, result, false);
}

/// <summary>Links in messages that leave the console: absolute when the public address is configured.</summary>
internal static class NotificationLinks
{
    public static string Absolute(NotificationOptions options, string path) =>
        string.IsNullOrEmpty(options.PublicUrl) ? path : options.PublicUrl.TrimEnd('/') + path;
}
