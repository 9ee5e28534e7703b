using Homeroom.Contracts.Enrollment;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

public sealed class FleetProfileTests
{
    private static readonly GeoPoint Campus = new(41.8781, -87.6298);

    [Fact]
    public void Create_SameSeed_GivesTheSameFleet()
    {
        FleetProfile.Create(500, 3, Campus).ShouldBe(FleetProfile.Create(500, 3, Campus));
    }

    [Fact]
    public void Create_OtherSeed_GivesAnotherFleet()
    {
        FleetProfile.Create(500, 3, Campus).Select(d => d.Platform).ShouldNotBe(FleetProfile.Create(500, 4, Campus).Select(d => d.Platform));
    }

    [Fact]
    public void Create_IsShapedLikeADistrict()
    {
        var fleet = FleetProfile.Create(5000, 1, Campus);

        fleet.Where(d => d.Platform == DevicePlatform.IPadOS).ShouldAllBe(d => d.Grade <= 4);
        fleet.Where(d => d.Platform == DevicePlatform.ChromeOS && !d.IsSpare).ShouldAllBe(d => d.Grade >= 5);
        fleet.Count(d => d.Platform == DevicePlatform.ChromeOS).ShouldBeInRange(2200, 2900);
        fleet.Count(d => d.Platform == DevicePlatform.IPadOS).ShouldBeInRange(1500, 2000);
        fleet.Count(d => d.Platform is DevicePlatform.Windows or DevicePlatform.MacOS).ShouldBeInRange(300, 600);
        fleet.Count(d => d.IsSpare).ShouldBeInRange(80, 220);
        fleet.Select(d => d.OsVersion).Distinct().Count().ShouldBeGreaterThan(8);
        fleet.Select(d => d.Serial).Distinct().Count().ShouldBe(5000);
        fleet.ShouldAllBe(d => Math.Abs(d.Home.Latitude - Campus.Latitude) < 0.1 && Math.Abs(d.Home.Longitude - Campus.Longitude) < 0.15);
    }

    [Fact]
    public void Paint_MakesASmallValidPng()
    {
        var png = ThumbnailPainter.Paint(400, 250, 12345, 7, locked: false);

        png[..8].ShouldBe(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        System.Text.Encoding.ASCII.GetString(png, 12, 4).ShouldBe("IHDR");
        System.Text.Encoding.ASCII.GetString(png, png.Length - 8, 4).ShouldBe("IEND");
        png.Length.ShouldBeLessThan(20 * 1024);
        ThumbnailPainter.Paint(400, 250, 12345, 8, locked: false).ShouldNotBe(png);
    }
}
