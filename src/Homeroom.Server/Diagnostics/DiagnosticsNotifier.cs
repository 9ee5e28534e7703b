namespace Homeroom.Server.Diagnostics;

/// <summary>A device's diagnostics report was stored.</summary>
public sealed record DiagnosticsStored(Guid DeviceId, Guid CommandId);

/// <summary>Tells open console pages (the IT queue) that a device's report was stored, so they show it at once.</summary>
public sealed class DiagnosticsNotifier
{
    public event Action<DiagnosticsStored>? Stored;

    public void Publish(DiagnosticsStored stored) => Stored?.Invoke(stored);
}
