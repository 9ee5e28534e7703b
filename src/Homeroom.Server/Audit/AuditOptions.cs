using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Audit;

/// <summary>The audit log (configuration section <c>Homeroom:Audit</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Homeroom:Audit";

    /// <summary>
    /// Audit entries older than this are deleted. Set it to what the district's records policy requires;
    /// at least 30 days, so a slip of configuration never empties the log.
    /// </summary>
    [Range(typeof(TimeSpan), "30.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(400);
}

/// <summary>Validates <see cref="AuditOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class AuditOptionsValidator : IValidateOptions<AuditOptions>;
