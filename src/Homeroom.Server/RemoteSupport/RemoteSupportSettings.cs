using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.RemoteSupport;

/// <summary>
/// A school's own remote support settings (one row per school at most; a school without one uses the district's defaults
/// from <see cref="RemoteSupportOptions"/>). Deleted with its school; it does not grow with time.
/// </summary>
public sealed class RemoteSupportSettings
{
    public Guid SchoolId { get; set; }

    /// <summary>Whether remote sessions may be started on the school's devices.</summary>
    public bool SessionsAllowed { get; set; }

    /// <summary>Whether the student must accept a session an IT technician starts (false: the student is only told).</summary>
    public bool ConsentRequiredForTechnicians { get; set; }

    /// <summary>Whether the student must accept a session a district administrator starts (false: the student is only told).</summary>
    public bool ConsentRequiredForDistrictAdmins { get; set; }

    /// <summary>Whether the technician may send clipboard text to the device in a control session.</summary>
    public bool ClipboardAllowed { get; set; }

    /// <summary>Whether the technician may send files to the device in a control session.</summary>
    public bool FileTransferAllowed { get; set; }

    public DateTime UpdatedAt { get; set; }

    public required string UpdatedBy { get; set; }
}

internal sealed class RemoteSupportSettingsConfiguration : IEntityTypeConfiguration<RemoteSupportSettings>
{
    public void Configure(EntityTypeBuilder<RemoteSupportSettings> builder)
    {
        builder.ToTable("remote_support_settings");
        builder.HasKey(s => s.SchoolId);
    }
}
