using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Filtering;

/// <summary>An imported filter list: its source, gzip-compressed, and what the import found.</summary>
public sealed class FilterListRecord
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary><c>ut1</c> (the UT1 archive layout) or <c>plain</c> (hosts, one per line, into <see cref="Category"/>).</summary>
    public required string Format { get; set; }
    public string? Category { get; set; }
    public required byte[] Content { get; set; }
    public long ContentBytes { get; set; }
    public int Entries { get; set; }
    public int SkippedLines { get; set; }
    public required string ReportJson { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class FilterListConfiguration : IEntityTypeConfiguration<FilterListRecord>
{
    public void Configure(EntityTypeBuilder<FilterListRecord> builder) => builder.ToTable("filter_lists");
}
