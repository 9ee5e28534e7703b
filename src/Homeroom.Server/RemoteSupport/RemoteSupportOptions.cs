using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.RemoteSupport;

/// <summary>
/// Remote support sessions (configuration section <c>Homeroom:RemoteSupport</c>). The first five are the district's defaults:
/// a school without its own remote support settings (<see cref="RemoteSupportSettings"/>) uses them, and a school
/// administrator may not set their school looser than them.
/// </summary>
public sealed class RemoteSupportOptions
{
    public const string Section = "Homeroom:RemoteSupport";

    /// <summary>Whether remote sessions may be started at all (on devices of a school without its own settings, and of no school).</summary>
    public bool SessionsAllowed { get; set; } = true;

    /// <summary>Whether the student must accept a session an IT technician starts (false: a notice is enough).</summary>
    public bool ConsentRequiredForTechnicians { get; set; } = true;

    /// <summary>Whether the student must accept a session a district administrator starts (false: a notice is enough).</summary>
    public bool ConsentRequiredForDistrictAdmins { get; set; } = true;

    /// <summary>Whether the technician may send clipboard text to the device in a control session.</summary>
    public bool ClipboardAllowed { get; set; }

    /// <summary>Whether the technician may send files to the device in a control session.</summary>
    public bool FileTransferAllowed { get; set; }

    /// <summary>The largest file a technician may send to a device (25 MB by default; the protocol carries at most 100 MiB).</summary>
    [Range(1L, Homeroom.Contracts.Agents.RemoteFileLimits.MaxFileBytes)]
    public long MaxFileBytes { get; set; } = 25L * 1000 * 1000;

    /// <summary>
    /// How long a file from the device (one the technician asked for and the student allowed) is kept, in memory only, for the
    /// technician to download; it goes sooner when the session ends or another file is asked for.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "02:00:00")]
    public TimeSpan DeviceFileLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A session without input from the technician (or, in view mode, without any message from their console) for this long ends.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "04:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>No session lasts longer than this.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "12:00:00")]
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How long the server waits for the device's consent answer before it ends the session (the device itself declines after <c>ConsentSeconds</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:10:00")]
    public TimeSpan ConsentTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>The highest capture rate the agent may use.</summary>
    [Range(1, 15)]
    public int MaxFramesPerSecond { get; set; } = 12;

    /// <summary>
    /// Screen updates delivered to the console are acknowledged to the device together (one <c>remoteAck</c> of the newest
    /// sequence), at most this long after the first one not yet acknowledged.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan AckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>…or as soon as this many bytes of updates were delivered without an acknowledgement (keep well under the agent's 384 KiB window).</summary>
    [Range(1024, 256 * 1024)]
    public int AckBytes { get; set; } = 64 * 1024;

    /// <summary>The largest message the technician's console may send on the session socket.</summary>
    [Range(256, 65_536)]
    public int MaxViewerMessageBytes { get; set; } = 4096;

    /// <summary>The largest <c>clipboard</c> message the console may send (its text is at most 8 KiB of UTF-8; JSON escapes may triple that).</summary>
    [Range(1024, 256 * 1024)]
    public int MaxViewerClipboardMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Sustained input messages per second from the technician's console (a burst of twice as many is allowed).</summary>
    [Range(1, 1000)]
    public int ViewerMessagesPerSecond { get; set; } = 60;

    /// <summary>Session records are deleted this long after they ended (the audit log keeps its own entries).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);
}

/// <summary>Validates <see cref="RemoteSupportOptions"/> at start.</summary>
public sealed class RemoteSupportOptionsValidator : IValidateOptions<RemoteSupportOptions>
{
    public ValidateOptionsResult Validate(string? name, RemoteSupportOptions options)
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(results.Select(r => $"{RemoteSupportOptions.Section}: {r.ErrorMessage}"));
    }
}
