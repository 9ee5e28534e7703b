using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Demo;

/// <summary>Demo mode (configuration section <c>Homeroom:Demo</c>): a seeded district and a simulated fleet.</summary>
public sealed class DemoOptions
{
    public const string Section = "Homeroom:Demo";

    public bool Enabled { get; set; }

    /// <summary>Virtual devices in the demo fleet.</summary>
    [Range(1, 20_000)]
    public int Devices { get; set; } = 300;

    [Range(0, int.MaxValue)]
    public int Seed { get; set; } = 2026;

    /// <summary>How fast the simulated school day runs (1 = real time).</summary>
    [Range(0.1, 10_000)]
    public double Speed { get; set; } = 1;

    /// <summary>Students per class in the seeded roster.</summary>
    [Range(5, 40)]
    public int StudentsPerClass { get; set; } = 24;
}

/// <summary>Validates <see cref="DemoOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class DemoOptionsValidator : IValidateOptions<DemoOptions>;
