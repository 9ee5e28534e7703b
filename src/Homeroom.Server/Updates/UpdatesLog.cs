namespace Homeroom.Server.Updates;

internal static partial class UpdatesLog
{
    [LoggerMessage(EventId = 9901, Level = LogLevel.Information, Message = "Rollout {RolloutId}: {Text}")]
    public static partial void RolloutEvent(ILogger logger, Guid rolloutId, string text);

    [LoggerMessage(EventId = 9902, Level = LogLevel.Debug, Message = "Rollout {RolloutId} was evaluated by another pass or changed meanwhile; skipped")]
    public static partial void EvaluationSkipped(ILogger logger, Guid rolloutId);

    [LoggerMessage(EventId = 9903, Level = LogLevel.Information, Message = "Deleted {Count} finished rollouts past retention")]
    public static partial void RetentionDeleted(ILogger logger, int count);

    [LoggerMessage(EventId = 9904, Level = LogLevel.Information, Message = "Rollout {RolloutId}: sent installOsUpdates to {Count} device(s) of ring {Ring}")]
    public static partial void InstallsSent(ILogger logger, Guid rolloutId, int ring, int count);
}
