using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Policies;

/// <summary>How policies are kept current (configuration section <c>Homeroom:Policies</c>).</summary>
public sealed class PolicyOptions
{
    public const string Section = "Homeroom:Policies";

    /// <summary>
    /// How often every device's policy is resolved again even when nothing asked for it: a safety net
    /// for changes made outside this server (another node, the database by hand). Changes made through
    /// Homeroom reach devices within seconds regardless.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Validates <see cref="PolicyOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class PolicyOptionsValidator : IValidateOptions<PolicyOptions>;
