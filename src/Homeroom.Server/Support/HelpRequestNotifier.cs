namespace Homeroom.Server.Support;

/// <summary>A help request was created or changed.</summary>
public sealed record HelpRequestChange(Guid Id, Guid DeviceId, Guid? SchoolId, Guid? GroupId, string Status);

/// <summary>Tells open console pages (the IT queue, the classroom) that a help request changed, so they refresh at once.</summary>
public sealed class HelpRequestNotifier
{
    public event Action<HelpRequestChange>? Changed;

    public void Publish(HelpRequestChange change) => Changed?.Invoke(change);
}
