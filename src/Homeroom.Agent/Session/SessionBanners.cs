namespace Homeroom.Agent.Session;

/// <summary>The banners' words, the same on every desktop the helper draws on (X11 and Windows).</summary>
internal static class SessionBanners
{
    /// <summary>What the student reads while a teacher watches the screen (null: no one watches).</summary>
    public static string? Viewing(string? viewerName) => viewerName is null ? null : "Your screen is being viewed by " + viewerName;

    /// <summary>The remote session's banner (null: none), which the student clicks to end the session.</summary>
    public static string? Remote(string? text) => text is null ? null : text + "   [click here to end]";
}
