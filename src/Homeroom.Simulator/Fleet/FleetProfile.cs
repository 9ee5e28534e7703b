using Homeroom.Contracts.Enrollment;

namespace Homeroom.Simulator.Fleet;

/// <summary>What one virtual device is: fixed at creation from the seed and its index.</summary>
public sealed record DeviceSpec(
    int Index,
    string Serial,
    string Name,
    DevicePlatform Platform,
    string Model,
    string Manufacturer,
    string OsVersion,
    int? Grade,
    bool IsSpare,
    GeoPoint Home,
    GeoPoint School);

public readonly record struct GeoPoint(double Latitude, double Longitude)
{
    /// <summary>A point <paramref name="meters"/> away in a random direction.</summary>
    public GeoPoint Offset(Random random, double meters)
    {
        var distance = meters * Math.Sqrt(random.NextDouble());
        var angle = random.NextDouble() * 2 * Math.PI;
        var dLat = distance * Math.Cos(angle) / 111_320.0;
        var dLon = distance * Math.Sin(angle) / (111_320.0 * Math.Cos(Latitude * Math.PI / 180));
        return new GeoPoint(Latitude + dLat, Longitude + dLon);
    }

    public GeoPoint Toward(GeoPoint other, double fraction) =>
        new(Latitude + ((other.Latitude - Latitude) * fraction), Longitude + ((other.Longitude - Longitude) * fraction));
}

/// <summary>
/// A fleet shaped like a real district: iPads in pre-K to grade 4, Chromebooks in 5 to 12, teacher
/// laptops on Windows and macOS, some Android tablets and a cart of spares, with a realistic spread
/// of OS versions. The same seed always gives the same fleet.
/// </summary>
public static class FleetProfile
{
    private static readonly (string Model, string Maker)[] Chromebooks =
    [
        ("Chromebook 311", "Acer"), ("Chromebook 3100", "Dell"), ("Chromebook 14 G7", "HP"), ("IdeaPad Flex 3i Chromebook", "Lenovo"),
    ];

    private static readonly string[] ChromeOsVersions = ["126.0.6478.222", "127.0.6533.132", "128.0.6613.133", "129.0.6668.110", "130.0.6723.84"];
    private static readonly string[] IPadOsVersions = ["17.7.2", "18.1.1", "18.2", "18.3.1"];
    private static readonly string[] WindowsVersions = ["10.0.19045", "10.0.22631", "10.0.26100"];
    private static readonly string[] MacOsVersions = ["14.7.1", "15.1.1", "15.2"];
    private static readonly string[] AndroidVersions = ["13", "14", "15"];

    public static IReadOnlyList<DeviceSpec> Create(int count, int seed, GeoPoint campus)
    {
        var random = new Random(seed);
        var devices = new List<DeviceSpec>(count);
        for (var i = 0; i < count; i++)
        {
            var roll = random.NextDouble();
            var home = campus.Offset(random, 8_000);
            var school = campus.Offset(random, 150);
            var serialSuffix = $"{seed % 1000:D3}{i:D6}";
            DeviceSpec spec = roll switch
            {
                < 0.35 => new(i, "SIMI" + serialSuffix, $"iPad-{i:D5}", DevicePlatform.IPadOS, "iPad (10th generation)", "Apple",
                    Pick(random, IPadOsVersions), random.Next(-1, 5), false, home, school),
                < 0.85 => Chromebook(random, i, serialSuffix, random.Next(5, 13), false, home, school),
                < 0.91 => new(i, "SIMW" + serialSuffix, $"Teacher-PC-{i:D5}", DevicePlatform.Windows, "Latitude 3440", "Dell",
                    Pick(random, WindowsVersions), null, false, home, school),
                < 0.94 => new(i, "SIMM" + serialSuffix, $"Teacher-Mac-{i:D5}", DevicePlatform.MacOS, "MacBook Air (M2)", "Apple",
                    Pick(random, MacOsVersions), null, false, home, school),
                < 0.97 => new(i, "SIMA" + serialSuffix, $"Tab-{i:D5}", DevicePlatform.Android, "Galaxy Tab A9+", "Samsung",
                    Pick(random, AndroidVersions), random.Next(0, 5), false, home, school),
                _ => Chromebook(random, i, serialSuffix, null, true, school, school),
            };
            devices.Add(spec);
        }

        return devices;
    }

    private static DeviceSpec Chromebook(Random random, int i, string serialSuffix, int? grade, bool spare, GeoPoint home, GeoPoint school)
    {
        var (model, maker) = Chromebooks[random.Next(Chromebooks.Length)];
        return new(i, "SIMC" + serialSuffix, spare ? $"Spare-CB-{i:D5}" : $"CB-{i:D5}", DevicePlatform.ChromeOS, model, maker,
            Pick(random, ChromeOsVersions), grade, spare, home, school);
    }

    // Newer versions are more common: a fleet updates, but never all at once.
    private static string Pick(Random random, string[] versions) =>
        versions[Math.Min(versions.Length - 1, (int)(versions.Length * Math.Sqrt(random.NextDouble())))];
}
