using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>The states of an import, as stored.</summary>
public static class ImportStates
{
    /// <summary>Read without errors; can be applied until it expires.</summary>
    public const string Previewed = "previewed";

    /// <summary>Read with errors: shown, never applied.</summary>
    public const string Invalid = "invalid";

    /// <summary>The upload was refused whole (not a zip, a path inside, too large unpacked).</summary>
    public const string Refused = "refused";

    public const string Applied = "applied";

    /// <summary>Not applied within the preview's lifetime; its package is gone.</summary>
    public const string Expired = "expired";
}

/// <summary>One OneRoster upload: its preview, its outcome, and (until applied or expired) the package itself.</summary>
public sealed class OneRosterImport
{
    public Guid Id { get; set; }
    public DateTime CreatedAt { get; set; }
    public required string CreatedBy { get; set; }
    public string? FileName { get; set; }
    public string? Version { get; set; }
    public required string State { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? AppliedAt { get; set; }
    public string? AppliedBy { get; set; }

    /// <summary>The <see cref="ImportPlan.Fingerprint"/> of the previewed changes.</summary>
    public string? Fingerprint { get; set; }

    public int ErrorCount { get; set; }

    /// <summary>The <see cref="ImportPreview"/> as JSON.</summary>
    public required string PreviewJson { get; set; }

    /// <summary>The uploaded zip, kept only while the preview can be applied.</summary>
    public byte[]? Package { get; set; }
}

internal sealed class OneRosterImportConfiguration : IEntityTypeConfiguration<OneRosterImport>
{
    public void Configure(EntityTypeBuilder<OneRosterImport> builder) => builder.ToTable("oneroster_imports");
}
