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

    /// <summary>A REST sync that could not fetch the roster (refused credentials, a failing or malformed service, a timeout): nothing was read or changed.</summary>
    public const string Failed = "failed";
}

/// <summary>Where an import's set came from.</summary>
public static class ImportSources
{
    /// <summary>A zip uploaded through the API or the console.</summary>
    public const string Upload = "upload";

    /// <summary>Fetched from the district's OneRoster REST service by a sync (scheduled or "sync now").</summary>
    public const string Rest = "rest";
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

    /// <summary>One of <see cref="ImportSources"/>.</summary>
    public string Source { get; set; } = ImportSources.Upload;

    /// <summary>Why a sync failed, or why its automatic apply stopped at the preview.</summary>
    public string? Note { get; set; }
}

/// <summary>
/// The district's connection to its OneRoster REST rostering service (at most one, id 1). The client
/// secret is stored only as data-protected ciphertext; the API answers whether it is set, never its value.
/// </summary>
public sealed class OneRosterConnection
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;
    public required string BaseUrl { get; set; }

    /// <summary>"1.1" (OAuth 1.0a) or "1.2" (OAuth 2 client credentials).</summary>
    public required string Version { get; set; }

    /// <summary>The OAuth 1.0a consumer key or the OAuth 2 client id.</summary>
    public required string ClientId { get; set; }

    public string? ProtectedSecret { get; set; }

    /// <summary>The OAuth 2 token endpoint (1.2 only).</summary>
    public string? TokenUrl { get; set; }

    /// <summary>The OAuth 2 scopes asked for, space-separated (1.2 only).</summary>
    public string? Scope { get; set; }

    /// <summary>Hours between scheduled syncs; null when syncs run only on demand.</summary>
    public int? ScheduleHours { get; set; }

    /// <summary>A sync applies its changes (within the archive brake) rather than stopping at the preview.</summary>
    public bool ApplyAutomatically { get; set; }

    public DateTime? NextSyncAt { get; set; }
    public DateTime? LastSyncAt { get; set; }
    public Guid? LastImportId { get; set; }
    public DateTime UpdatedAt { get; set; }
    public required string UpdatedBy { get; set; }
}

internal sealed class OneRosterConnectionConfiguration : IEntityTypeConfiguration<OneRosterConnection>
{
    public void Configure(EntityTypeBuilder<OneRosterConnection> builder)
    {
        builder.ToTable("oneroster_connections");
        builder.Property(c => c.Id).ValueGeneratedNever();
    }
}

internal sealed class OneRosterImportConfiguration : IEntityTypeConfiguration<OneRosterImport>
{
    public void Configure(EntityTypeBuilder<OneRosterImport> builder) => builder.ToTable("oneroster_imports");
}
