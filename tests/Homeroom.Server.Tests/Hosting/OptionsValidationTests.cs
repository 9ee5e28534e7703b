using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Tests.Hosting;

/// <summary>A setting out of range stops the server at start, naming the setting, before it can do harm (an audit retention of zero once emptied the log).</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("Homeroom:Audit:Retention=00:00:00", "Retention")]
    [InlineData("Homeroom:Audit:Retention=7.00:00:00", "Retention")]
    [InlineData("Homeroom:Commands:DefaultTimeToLive=20.00:00:00", "DefaultTimeToLive")]
    [InlineData("Homeroom:Commands:Retention=00:00:00", "Retention")]
    [InlineData("Homeroom:Locations:ConsecutiveFixes=0", "ConsecutiveFixes")]
    [InlineData("Homeroom:Locations:Retention=00:00:00", "Retention")]
    [InlineData("Homeroom:Presence:FlushInterval=00:00:00", "FlushInterval")]
    [InlineData("Homeroom:Policies:SweepInterval=00:00:01", "SweepInterval")]
    [InlineData("Homeroom:Classroom:SchoolDayEnd=06:00", "SchoolDayEnd")]
    [InlineData("Homeroom:Demo:Devices=0", "Devices")]
    [InlineData("Homeroom:Maps:TileUrl=ftp://tiles.example/{z}/{x}/{y}.png", "TileUrl")]
    [InlineData("Homeroom:Maps:TileUrl=https://tiles.example/tile.png", "TileUrl")]
    [InlineData("Homeroom:OneRoster:PreviewLifetime=00:00:01", "PreviewLifetime")]
    [InlineData("Homeroom:OneRoster:MaxZipEntries=0", "MaxZipEntries")]
    [InlineData("Homeroom:OneRoster:MaxUncompressedBytes=2048", "MaxUncompressedBytes")]
    [InlineData("Homeroom:Cluster:LeaseIntervals=1", "LeaseIntervals")]
    [InlineData("Homeroom:Cluster:NodeName=node one", "NodeName")]
    [InlineData("Homeroom:Backplane:MaxPayloadBytes=8000", "MaxPayloadBytes")]
    [InlineData("Homeroom:Backplane:ReconnectMinDelay=00:01:00", "ReconnectMinDelay")]
    public async Task OutOfRangeSetting_StopsTheServerAtStart(string setting, string named)
    {
        var error = await Should.ThrowAsync<OptionsValidationException>(() => HomeroomHost.StartAsync(DatabaseProvider.Sqlite, setting));
        error.Message.ShouldContain(named);
    }

    [Fact]
    public async Task SettingsInRange_Start()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Audit:Retention=30.00:00:00", "Homeroom:Policies:SweepInterval=00:01:00");
        (await host.Client.GetAsync("/healthz")).IsSuccessStatusCode.ShouldBeTrue();
    }
}
