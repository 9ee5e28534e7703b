namespace Homeroom.Server.WebConsole.Pages;

/// <summary>
/// Everything one classroom tile shows, as a value: a tile renders again only when this changes. The
/// screen image is not part of it; it reaches the browser beside the render (see Classroom.razor.js).
/// </summary>
public sealed record ClassroomTileView(
    Guid DeviceId,
    string StudentName,
    string State,
    bool Locked,
    bool Focus,
    string? CurrentUrl,
    string? CurrentTitle,
    bool Viewing,
    bool HasScreen,
    bool InSession,
    bool CanMessage,
    bool CanOpen,
    int HelpRequests = 0);

/// <summary>A command a teacher sends from one tile.</summary>
public sealed record ClassroomTileCommand(Guid DeviceId, string Kind);
