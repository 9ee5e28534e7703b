using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apple;

namespace Homeroom.Rules.Tests.Apple;

public sealed class MdmAnswersTests
{
    [Fact]
    public void DeviceInformation_AppleUnits_BecomeHomeroomsInventory()
    {
        var information = MdmAnswers.DeviceInformation(new Dictionary<string, object>
        {
            ["OSVersion"] = "18.1", ["ModelName"] = "iPad", ["ProductName"] = "iPad13,18", ["Model"] = "MPQ03LL/A",
            ["DeviceCapacity"] = 64.0, ["AvailableDeviceCapacity"] = 21.5, ["BatteryLevel"] = 0.425, ["IsSupervised"] = true,
        }, DevicePlatform.IPadOS);

        information.Inventory.ShouldBe(new InventoryFrame("iPadOS", "18.1", "iPad (iPad13,18)", "Apple", 64_000_000_000, 21_500_000_000, null));
        information.BatteryPercent.ShouldBe(43);
        information.Supervised.ShouldBe(true);
    }

    [Fact]
    public void DeviceInformation_MissingWrongTypedOrOutOfRange_IsLeftOut()
    {
        var information = MdmAnswers.DeviceInformation(new Dictionary<string, object>
        {
            ["OSVersion"] = 18L, ["Model"] = new string('m', 1000), ["DeviceCapacity"] = double.NaN, ["AvailableDeviceCapacity"] = -3.0, ["BatteryLevel"] = -1.0, ["IsSupervised"] = "yes",
        }, DevicePlatform.MacOS);

        information.Inventory.OsName.ShouldBe("macOS");
        information.Inventory.OsVersion.ShouldBeNull();
        information.Inventory.Model!.Length.ShouldBe(ProtocolLimits.MaxShortText);
        information.Inventory.StorageTotalBytes.ShouldBeNull();
        information.Inventory.StorageFreeBytes.ShouldBeNull();
        information.BatteryPercent.ShouldBeNull();
        information.Supervised.ShouldBeNull();
    }

    [Fact]
    public void InstalledApplications_KeepsEachBundleOnce_SkipsBadItems_AndStopsAtTheLimit()
    {
        var list = new List<object>
        {
            new Dictionary<string, object> { ["Identifier"] = "org.khanacademy.Khan-kids", ["Name"] = "Khan Kids", ["ShortVersion"] = "4.2.1", ["Version"] = "421" },
            new Dictionary<string, object> { ["Identifier"] = "org.khanacademy.Khan-kids", ["Name"] = "Again" },
            new Dictionary<string, object> { ["Name"] = "No identifier" },
            "not a dictionary",
            new Dictionary<string, object> { ["Identifier"] = "com.example.noversion", ["Version"] = "7" },
        };

        var apps = MdmAnswers.InstalledApplications(list);

        apps.ShouldBe([new InstalledApp("org.khanacademy.Khan-kids", "Khan Kids", "4.2.1"), new InstalledApp("com.example.noversion", null, "7")]);
        var many = Enumerable.Range(0, 3000).Select(i => (object)new Dictionary<string, object> { ["Identifier"] = $"com.example.app{i}" });
        MdmAnswers.InstalledApplications(many).Count.ShouldBe(ProtocolLimits.MaxInventoryApps);
    }
}
