using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apple;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using YamlDotNet.RepresentationModel;

namespace Homeroom.Rules.Tests.Apple;

/// <summary>
/// The catalog's Apple parts against Apple's own schemas (../shared/apple-device-management): the
/// restrictions payload's blocked-app keys (present, supervised-only and of the right type) and the
/// ManagedApplicationList statuses Homeroom maps (exactly Apple's list).
/// </summary>
public sealed class CatalogAppleSchemaTests
{
    private static readonly string[] Blocked = ["com.example.Game", "org.khanacademy.Khan-kids"];

    private static PolicyDocument WithBlockedApps() => PolicyDocument.Read(System.Text.Json.JsonDocument.Parse(
        """{"restrictions":{"camera":true},"catalog":{"blockedAppBundleIds":["com.example.Game","org.khanacademy.Khan-kids"]}}""").RootElement);

    [Fact]
    public void PolicyProfile_SupervisedWithBlockedCatalogApps_CarriesBothKeysAsApplesSchemaDefinesThem()
    {
        var restrictions = Restrictions(PolicyProfiles.Build(WithBlockedApps(), supervised: true));
        var keys = ((YamlSequenceNode)Child(Load("mdm/profiles/com.apple.applicationaccess.yaml"), "payloadkeys")!).Children.OfType<YamlMappingNode>()
            .ToDictionary(k => Scalar(Child(k, "key"))!);

        foreach (var key in new[] { "blockedAppBundleIDs", "blacklistedAppBundleIDs" })
        {
            ((List<object>)restrictions[key]).ShouldBe(Blocked);
            var schema = keys[key];
            Scalar(Child(schema, "type")).ShouldBe("<array>");
            Scalar(Child(((YamlSequenceNode)Child(schema, "subkeys")!).Children[0], "type")).ShouldBe("<string>");
            Scalar(Child(Child(Child(schema, "supportedOS")!, "iOS")!, "supervised")).ShouldBe("true");
        }

        // Why both: the new key from iOS 15; the old one from 9.3, deprecated (not removed) in 15.
        Scalar(Child(Child(Child(keys["blockedAppBundleIDs"], "supportedOS")!, "iOS")!, "introduced")).ShouldBe("15.0");
        var old = Child(Child(keys["blacklistedAppBundleIDs"], "supportedOS")!, "iOS")!;
        (Scalar(Child(old, "introduced")), Scalar(Child(old, "deprecated"))).ShouldBe(("9.3", "15.0"));

        // Every key of the restrictions payload is one Apple defines.
        restrictions.Keys.Where(k => !k.StartsWith("Payload", StringComparison.Ordinal)).ShouldAllBe(k => keys.ContainsKey(k));
    }

    [Fact]
    public void PolicyProfile_UnsupervisedOrMacOrNothingBlocked_CarriesNoBlockedAppKeys()
    {
        Restrictions(Profile(new AppleDeviceFacts(DevicePlatform.IPadOS, true), WithBlockedApps())).ShouldContainKey("blockedAppBundleIDs");
        foreach (var device in new[] { new AppleDeviceFacts(DevicePlatform.IPadOS, false), new AppleDeviceFacts(DevicePlatform.MacOS, true) })
        {
            var restrictions = Restrictions(Profile(device, WithBlockedApps()));
            restrictions.ShouldNotContainKey("blockedAppBundleIDs");
            restrictions.ShouldNotContainKey("blacklistedAppBundleIDs");
        }

        Restrictions(PolicyProfiles.Build(PolicyDocument.Read(default), supervised: true)).ShouldNotContainKey("blockedAppBundleIDs");
    }

    [Fact]
    public void ManagedApplicationListStatuses_AreExactlyApplesList_AndEachMapsToAState()
    {
        var response = ((YamlSequenceNode)Child(Load("mdm/commands/application.managed.list.yaml"), "responsekeys")!).Children[0];
        var item = ((YamlSequenceNode)Child(((YamlSequenceNode)Child(response, "subkeys")!).Children[0], "subkeys")!).Children.OfType<YamlMappingNode>();
        var apples = ((YamlSequenceNode)Child(item.Single(k => Scalar(Child(k, "key")) == "Status"), "rangelist")!).Children.Select(c => Scalar(c)!).ToList();

        AppleManagedAppStatus.Known.ShouldBe(apples);
        foreach (var value in apples.Where(v => v != "Unknown"))
        {
            var verdict = AppleManagedAppStatus.Map(value);
            verdict.State.ShouldNotBeNull(value);
            if (verdict.State != AppInstallState.Installed || verdict.Reason is not null)
            {
                verdict.Reason.ShouldStartWith(value + ": ");
            }
        }

        AppleManagedAppStatus.Map("Managed").ShouldBe(new ManagedAppVerdict(AppInstallState.Installed, null, true));
        AppleManagedAppStatus.Map("UserRejected").ShouldBe(new ManagedAppVerdict(AppInstallState.Failed, "UserRejected: the student declined the install", null));
        AppleManagedAppStatus.Map("Failed").State.ShouldBe(AppInstallState.Failed);
        AppleManagedAppStatus.Map("Prompting").State.ShouldBe(AppInstallState.Installing);
        AppleManagedAppStatus.Map("UserInstalledApp").Managed.ShouldBe(false);
        AppleManagedAppStatus.Map("Unknown").ShouldBe(new ManagedAppVerdict(null, null, null));
        AppleManagedAppStatus.Map("SomethingApplesAddsLater").ShouldBe(new ManagedAppVerdict(null, null, null));
        AppleManagedAppStatus.Map(null).ShouldBe(new ManagedAppVerdict(null, null, null));
    }

    private static Dictionary<string, object> Profile(AppleDeviceFacts device, PolicyDocument policy) =>
        PropertyList.ReadDictionary((byte[])MdmCommands.Build(CommandKinds.ApplyPolicy, null, device, policy).Command["Payload"]);

    private static Dictionary<string, object> Restrictions(Dictionary<string, object> profile) =>
        ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().Single(p => (string)p["PayloadType"] == "com.apple.applicationaccess");

    private static YamlMappingNode Load(string path)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(SharedData.PathOf("apple-device-management/" + path));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlNode? node) => (node as YamlScalarNode)?.Value;
}
