using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apple;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Policies;
using YamlDotNet.RepresentationModel;

namespace Homeroom.Rules.Tests.Apple;

/// <summary>
/// Every MDM command Homeroom builds, checked against Apple's own schemas
/// (../shared/apple-device-management/mdm/commands): only known keys, the right types, every
/// required key, and no command sent to an OS or supervision state the schema says cannot take it.
/// </summary>
public sealed class MdmCommandSchemaTests
{
    private static readonly Lazy<Dictionary<string, YamlMappingNode>> Schemas = new(() =>
    {
        var schemas = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(SharedData.PathOf("apple-device-management/mdm/commands"), "*.yaml"))
        {
            var yaml = new YamlStream();
            using var reader = new StreamReader(file);
            yaml.Load(reader);
            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            var type = Scalar(Child(Child(root, "payload")!, "requesttype"));
            if (type is not null)
            {
                schemas[type] = root;
            }
        }

        return schemas;
    });

    private static readonly Dictionary<string, string> Arguments = new(StringComparer.Ordinal)
    {
        ["message"] = "Please return this iPad to the library.",
        ["phoneNumber"] = "+1 555 0100",
        ["footnote"] = "Maple Valley Unified",
        ["bundleId"] = "org.khanacademy.Khan-kids",
        ["identifier"] = "org.homeroom.policy.webfilter",
        ["version"] = "18.2",
        ["action"] = "install",
        ["name"] = "Room 12 iPad 3",
        ["where"] = "both",
        ["package"] = "org.example.paint.pkg",
        ["packageUrl"] = "https://apps.example.org/paint-2.1.pkg",
        ["sha256"] = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    };

    public static TheoryData<string, DevicePlatform, bool> Cases()
    {
        var data = new TheoryData<string, DevicePlatform, bool>();
        foreach (var kind in Kinds())
        {
            foreach (var platform in new[] { DevicePlatform.IPadOS, DevicePlatform.MacOS })
            {
                data.Add(kind, platform, true);
                data.Add(kind, platform, false);
            }
        }

        return data;
    }

    private static IEnumerable<string> Kinds() => typeof(CommandKinds).GetFields().Select(f => (string)f.GetValue(null)!).Where(k => MdmCommands.RequestTypeOf(k) is not null);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Build_EverySupportedCase_ConformsToApplesSchema(string kind, DevicePlatform platform, bool supervised)
    {
        var facts = new AppleDeviceFacts(platform, supervised);
        var schema = Schemas.Value[MdmCommands.RequestTypeOf(kind)!];
        var os = Child(Child(Child(schema, "payload")!, "supportedOS")!, platform == DevicePlatform.MacOS ? "macOS" : "iOS") as YamlMappingNode;
        var introduced = os is null ? "n/a" : Scalar(Child(os, "introduced"));
        var needsSupervision = os is not null && Scalar(Child(os, "supervised")) == "true";
        var arguments = new Dictionary<string, string>(Arguments);
        if (kind == CommandKinds.InstallApp)
        {
            arguments.Remove("bundleId");
            arguments["appStoreId"] = "361309726";
        }

        var built = MdmCommands.Build(kind, arguments, facts, image: [0x89, 0x50, 0x4E, 0x47]).Command;
        var osName = platform == DevicePlatform.MacOS ? "macOS" : "iOS";
        var payload = built.Where(p => p.Key != "RequestType").ToDictionary(p => p.Key, p => p.Value);

        // A key can need supervision where the command as a whole does not (Settings' DeviceName item).
        var keys = Child(schema, "payloadkeys") as YamlSequenceNode;
        needsSupervision |= KeysWhere(payload, keys, osName, node => Scalar(Child(node, "supervised")) == "true");
        var unavailable = KeysWhere(payload, keys, osName, node => Scalar(Child(node, "introduced")) == "n/a");
        var allowed = introduced != "n/a" && !unavailable && (supervised || !needsSupervision);

        var refusal = MdmCommands.Unsupported(kind, facts);

        if (!allowed)
        {
            refusal.ShouldNotBeNull($"{kind} on {platform} (supervised: {supervised}) is not possible per Apple's schema and must be refused before it is queued.");
            return;
        }

        refusal.ShouldBeNull();
        built["RequestType"].ShouldBe(MdmCommands.RequestTypeOf(kind));
        var errors = new List<string>();
        CheckDictionary(payload, Child(schema, "payloadkeys") as YamlSequenceNode, kind, errors);
        errors.ShouldBeEmpty();
    }

    // A Mac installs an App Store app as managed only with InstallAsManaged (macOS 11 and later), which iPads do not
    // take; each key sent must be one Apple's schema gives the platform (introduced there, not "n/a").
    [Theory]
    [InlineData(DevicePlatform.MacOS, true)]
    [InlineData(DevicePlatform.MacOS, false)]
    [InlineData(DevicePlatform.IPadOS, true)]
    public void Build_InstallApp_SendsOnlyTheKeysApplesSchemaGivesThePlatform(DevicePlatform platform, bool supervised)
    {
        var command = MdmCommands.Build(CommandKinds.InstallApp, new Dictionary<string, string> { ["appStoreId"] = "361309726" }, new AppleDeviceFacts(platform, supervised)).Command;

        var os = platform == DevicePlatform.MacOS ? "macOS" : "iOS";
        var keys = ((YamlSequenceNode)Child(Schemas.Value["InstallApplication"], "payloadkeys")!).Children.OfType<YamlMappingNode>()
            .ToDictionary(k => Scalar(Child(k, "key"))!, k => k);
        foreach (var key in command.Keys.Where(k => k != "RequestType"))
        {
            var introduced = Child(Child(keys[key], "supportedOS") ?? new YamlMappingNode(), os) is { } node ? Scalar(Child(node, "introduced")) : null;
            introduced.ShouldNotBe("n/a", $"{key} is not available on {os}");
        }

        command["iTunesStoreID"].ShouldBe(361309726L);
        command["ManagementFlags"].ShouldBe(1L);
        command.ShouldNotContainKey("Identifier");
        command.ShouldNotContainKey("Options"); // PurchaseMethod is iOS-only
        if (platform == DevicePlatform.MacOS)
        {
            command["InstallAsManaged"].ShouldBe(true);
            command["ChangeManagementState"].ShouldBe("Managed");
            Scalar(Child(Child(Child(keys["InstallAsManaged"], "supportedOS")!, "macOS")!, "introduced")).ShouldBe("11.0");
        }
        else
        {
            command.ShouldNotContainKey("InstallAsManaged");
            command.ShouldNotContainKey("ChangeManagementState");
        }

        var errors = new List<string>();
        CheckDictionary(command.Where(p => p.Key != "RequestType").ToDictionary(p => p.Key, p => p.Value), (YamlSequenceNode)Child(Schemas.Value["InstallApplication"], "payloadkeys")!, "InstallApplication", errors);
        errors.ShouldBeEmpty();
    }

    // Apple's restrictions payload has no blocked-app key for macOS: a Mac's profile carries none, a supervised iPad's both.
    [Fact]
    public void PolicyProfile_Mac_HasNoBlockedAppKeys_WhichApplesSchemaDoesNotGiveMacs()
    {
        var policy = PolicyDocument.Read(System.Text.Json.JsonDocument.Parse("""{"catalog":{"blockedAppBundleIds":["org.khanacademy.Khan-kids"]}}""").RootElement);
        Dictionary<string, object>? Restrictions(DevicePlatform platform) =>
            ((List<object>)Homeroom.Contracts.Apple.PropertyList.ReadDictionary((byte[])MdmCommands.Build(CommandKinds.ApplyPolicy, null, new AppleDeviceFacts(platform, true), policy).Command["Payload"])["PayloadContent"])
                .Cast<Dictionary<string, object>>().FirstOrDefault(p => (string)p["PayloadType"] == "com.apple.applicationaccess");

        ((List<object>)Restrictions(DevicePlatform.IPadOS)!["blockedAppBundleIDs"]).ShouldBe(["org.khanacademy.Khan-kids"]);
        var mac = Restrictions(DevicePlatform.MacOS) ?? [];
        mac.ShouldNotContainKey("blockedAppBundleIDs");
        mac.ShouldNotContainKey("blacklistedAppBundleIDs");

        var yaml = new YamlStream();
        using (var reader = new StreamReader(SharedData.PathOf("apple-device-management/mdm/profiles/com.apple.applicationaccess.yaml")))
        {
            yaml.Load(reader);
        }

        var keys = ((YamlSequenceNode)Child(yaml.Documents[0].RootNode, "payloadkeys")!).Children.OfType<YamlMappingNode>();
        foreach (var key in keys.Where(k => Scalar(Child(k, "key")) is "blockedAppBundleIDs" or "blacklistedAppBundleIDs"))
        {
            Scalar(Child(Child(Child(key, "supportedOS")!, "macOS")!, "introduced")).ShouldBe("n/a");
        }
    }

    // Removal and Apple's status list need macOS 11: the schema gives both to Macs on the device channel, which Homeroom uses.
    [Theory]
    [InlineData("RemoveApplication")]
    [InlineData("ManagedApplicationList")]
    public void MacAppCommands_AreGivenToMacsByApplesSchema(string requestType)
    {
        var macOS = (YamlMappingNode)Child(Child(Child(Schemas.Value[requestType], "payload")!, "supportedOS")!, "macOS")!;
        Scalar(Child(macOS, "introduced")).ShouldBe("11.0");
        Scalar(Child(macOS, "devicechannel")).ShouldBe("true");
        MdmCommands.Unsupported(requestType == "RemoveApplication" ? CommandKinds.RemoveApp : CommandKinds.ListManagedApps, new AppleDeviceFacts(DevicePlatform.MacOS, false)).ShouldBeNull();
    }

    [Fact]
    public void DiagnosticQueries_AreDeviceInformationKeysOfBothIosAndMacos()
    {
        var queries = (YamlSequenceNode)Child((YamlMappingNode)((YamlSequenceNode)Child(Schemas.Value["DeviceInformation"], "payloadkeys")!)[0], "subkeys")!;
        var known = ((YamlSequenceNode)Child((YamlMappingNode)queries[0], "subkeys")!).Children.OfType<YamlMappingNode>()
            .ToDictionary(n => Scalar(Child(n, "key"))!, n => n, StringComparer.Ordinal);

        foreach (var key in MdmCommands.DiagnosticQueries)
        {
            known.ShouldContainKey(key);
            foreach (var os in (string[])["iOS", "macOS"])
            {
                var supported = Child(known[key], "supportedOS") is YamlMappingNode platforms ? Child(platforms, os) as YamlMappingNode : null;
                (supported is not null && Scalar(Child(supported, "introduced")) == "n/a").ShouldBeFalse($"{key} is not answered on {os}");
            }
        }
    }

    [Fact]
    public void Declarations_FromAPolicy_ConformToApplesDeclarationSchemas()
    {
        var (settings, errors) = PolicySettings.Parse(System.Text.Json.JsonDocument.Parse("""{"softwareUpdate":{"targetVersion":"18.2","deadline":"2026-12-01T17:00:00"}}""").RootElement);
        errors.ShouldBeEmpty();
        var document = PolicySettings.ToDocument(settings);

        var declarations = Declarations.For(PolicyDocument.Read(System.Text.Json.JsonDocument.Parse(document.ToJsonString()).RootElement));

        declarations.Select(d => d.Type).ShouldBe(["com.apple.activation.simple", "com.apple.configuration.softwareupdate.enforcement.specific"]);
        ((List<object>)declarations[0].Payload["StandardConfigurations"]).ShouldBe([Declarations.SoftwareUpdateId]);
        var schemas = Directory.EnumerateFiles(SharedData.PathOf("apple-device-management/declarative/declarations"), "*.yaml", SearchOption.AllDirectories)
            .Select(file =>
            {
                var yaml = new YamlStream();
                using var reader = new StreamReader(file);
                yaml.Load(reader);
                return (YamlMappingNode)yaml.Documents[0].RootNode;
            })
            .Where(root => Scalar(Child(Child(root, "payload") ?? new YamlMappingNode(), "declarationtype")) is not null)
            .ToDictionary(root => Scalar(Child(Child(root, "payload")!, "declarationtype"))!, root => root);
        var problems = new List<string>();
        foreach (var declaration in declarations)
        {
            CheckDictionary(declaration.Payload, Child(schemas[declaration.Type], "payloadkeys") as YamlSequenceNode, declaration.Type, problems);
        }

        problems.ShouldBeEmpty();
        Declarations.Token(declarations).ShouldNotBe(Declarations.Token(Declarations.For(PolicyDocument.Read(default))));
    }

    [Fact]
    public void Declarations_FromAnUpdateRing_OverrideTheProfile_AndConformToApplesSchema()
    {
        var (settings, errors) = PolicySettings.Parse(System.Text.Json.JsonDocument.Parse("""{"softwareUpdate":{"targetVersion":"18.1","deadline":"2026-12-01T17:00:00"}}""").RootElement);
        errors.ShouldBeEmpty();
        var policy = PolicyDocument.Read(System.Text.Json.JsonDocument.Parse(PolicySettings.ToDocument(settings).ToJsonString()).RootElement);

        var declarations = Declarations.For(policy, new SoftwareUpdateTarget("18.2", new DateTime(2027, 1, 15, 17, 0, 0)));

        var update = declarations.Where(d => d.Type == "com.apple.configuration.softwareupdate.enforcement.specific").ShouldHaveSingleItem();
        update.Payload["TargetOSVersion"].ShouldBe("18.2");
        update.Payload["TargetLocalDateTime"].ShouldBe("2027-01-15T17:00:00");
        var root = LoadSchema("com.apple.configuration.softwareupdate.enforcement.specific");
        var problems = new List<string>();
        CheckDictionary(update.Payload, Child(root, "payloadkeys") as YamlSequenceNode, update.Type, problems);
        problems.ShouldBeEmpty();
        Declarations.Token(declarations).ShouldNotBe(Declarations.Token(Declarations.For(policy)));
    }

    private static YamlMappingNode LoadSchema(string declarationType) =>
        Directory.EnumerateFiles(SharedData.PathOf("apple-device-management/declarative/declarations"), "*.yaml", SearchOption.AllDirectories)
            .Select(file =>
            {
                var yaml = new YamlStream();
                using var reader = new StreamReader(file);
                yaml.Load(reader);
                return (YamlMappingNode)yaml.Documents[0].RootNode;
            })
            .Single(root => Scalar(Child(Child(root, "payload") ?? new YamlMappingNode(), "declarationtype")) == declarationType);

    [Theory]
    [InlineData("""{"webFilter":{"blockedCategories":["adult"],"blockedSites":["*.tiktok.com","video.example.org/shorts"],"allowedSites":["classroom.google.com"]},"restrictions":{"camera":false}}""")]
    [InlineData("""{"webFilter":{"allowOnly":true,"allowedSites":["classroom.google.com","docs.google.com/document"]}}""")]
    public void PolicyProfile_ConformsToApplesProfileSchemas(string settingsJson)
    {
        var (settings, parseErrors) = PolicySettings.Parse(System.Text.Json.JsonDocument.Parse(settingsJson).RootElement);
        parseErrors.ShouldBeEmpty();
        var policy = PolicyDocument.Read(System.Text.Json.JsonDocument.Parse(PolicySettings.ToDocument(settings).ToJsonString()).RootElement);

        var profile = PolicyProfiles.Build(policy);

        var schemas = Directory.EnumerateFiles(SharedData.PathOf("apple-device-management/mdm/profiles"), "com.apple.*.yaml")
            .Where(f => !f.EndsWith(".new.yaml", StringComparison.Ordinal))
            .Select(file =>
            {
                var yaml = new YamlStream();
                using var reader = new StreamReader(file);
                yaml.Load(reader);
                return (YamlMappingNode)yaml.Documents[0].RootNode;
            })
            .Where(root => Scalar(Child(Child(root, "payload") ?? new YamlMappingNode(), "payloadtype")) is not null)
            .GroupBy(root => Scalar(Child(Child(root, "payload")!, "payloadtype"))!)
            .ToDictionary(g => g.Key, g => g.First());
        var problems = new List<string>();
        foreach (var payload in ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>())
        {
            var type = (string)payload["PayloadType"];
            var keys = Child(schemas[type], "payloadkeys") as YamlSequenceNode;
            var defined = (keys?.Children ?? []).OfType<YamlMappingNode>().Select(k => Scalar(Child(k, "key"))).ToHashSet();
            var own = payload.Where(p => defined.Contains(p.Key) || !p.Key.StartsWith("Payload", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
            CheckDictionary(own, keys, type, problems);
        }

        problems.ShouldBeEmpty();
        var installProfile = MdmCommands.Build(CommandKinds.ApplyPolicy, null, new AppleDeviceFacts(DevicePlatform.IPadOS, true), policy).Command;
        Homeroom.Contracts.Apple.PropertyList.ReadDictionary((byte[])installProfile["Payload"])["PayloadIdentifier"].ShouldBe(PolicyProfiles.Identifier);
    }

    [Theory]
    [InlineData("""{"softwareUpdate":{"targetVersion":"eighteen"}}""")]
    [InlineData("""{"softwareUpdate":{"deadline":"next tuesday"}}""")]
    public void SoftwareUpdateSettings_AreValidated(string json)
    {
        PolicySettings.Parse(System.Text.Json.JsonDocument.Parse(json).RootElement).Errors.ShouldNotBeEmpty();
    }

    // An MDM Mac's Mac package: the manifest embedded (the schema's Manifest), its one software-package asset the catalog's https
    // URL with the whole package's SHA-256 as a single chunk, installed as managed like an App Store app; iPads are refused.
    [Fact]
    public void Build_InstallEnterpriseApp_EmbedsTheManifestWithTheCatalogsUrlAndHash_AndIsForMacsOnly()
    {
        var arguments = new Dictionary<string, string>(Arguments) { ["bundleId"] = "org.example.Paint", ["name"] = "Paint" };
        var command = MdmCommands.Build(CommandKinds.InstallEnterpriseApp, arguments, new AppleDeviceFacts(DevicePlatform.MacOS, false)).Command;

        command["RequestType"].ShouldBe("InstallEnterpriseApplication");
        command.Keys.Order(StringComparer.Ordinal).ShouldBe(["ChangeManagementState", "InstallAsManaged", "ManagementFlags", "Manifest", "RequestType"]);
        var item = (Dictionary<string, object>)((List<object>)((Dictionary<string, object>)command["Manifest"])["items"]).Single();
        var asset = (Dictionary<string, object>)((List<object>)item["assets"]).Single();
        asset["kind"].ShouldBe("software-package");
        asset["url"].ShouldBe("https://apps.example.org/paint-2.1.pkg");
        asset["sha256s"].ShouldBe(new List<object> { "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" });
        asset["sha256-size"].ShouldBe(MdmCommands.PackageHashChunkBytes);
        var metadata = (Dictionary<string, object>)item["metadata"];
        metadata["bundle-identifier"].ShouldBe("org.example.paint.pkg");
        metadata["kind"].ShouldBe("software");
        metadata["title"].ShouldBe("Paint");

        // Written as the Mac receives it: sha256-size an integer, read back the same.
        var written = PropertyList.ReadDictionary(PropertyList.WriteXml(command));
        var writtenAsset = (Dictionary<string, object>)((List<object>)((Dictionary<string, object>)((List<object>)((Dictionary<string, object>)written["Manifest"])["items"]).Single())["assets"]).Single();
        writtenAsset["sha256-size"].ShouldBe(MdmCommands.PackageHashChunkBytes);

        MdmCommands.Unsupported(CommandKinds.InstallEnterpriseApp, new AppleDeviceFacts(DevicePlatform.IPadOS, true)).ShouldNotBeNull();
        MdmCommands.Unsupported(CommandKinds.InstallEnterpriseApp, new AppleDeviceFacts(DevicePlatform.MacOS, false)).ShouldBeNull();
        CommandCatalog.Validate(CommandKinds.InstallEnterpriseApp, arguments).ShouldContainKey("kind"); // never from POST /api/commands
        CommandCatalog.ValidateCatalogPackage(CommandKinds.InstallEnterpriseApp, arguments.Where(a => a.Key is "package" or "packageUrl" or "sha256" or "bundleId" or "name")
            .ToDictionary()).ShouldBeEmpty();
    }

    [Fact]
    public void Schemas_AreReadAndCoverEveryMappedRequestType()
    {
        foreach (var kind in Kinds())
        {
            Schemas.Value.ShouldContainKey(MdmCommands.RequestTypeOf(kind)!);
        }
    }

    // Whether any key used (at any depth, in any matching array item shape) has, for this OS, a
    // supportedOS entry matching the test (supervised-only, or not available at all).
    private static bool KeysWhere(object value, YamlSequenceNode? keys, string os, Func<YamlNode, bool> test)
    {
        if (keys is null)
        {
            return false;
        }

        bool Marked(YamlNode definition) => Child(Child(definition, "supportedOS") ?? new YamlMappingNode(), os) is { } node && test(node);
        var definitions = keys.Children.OfType<YamlMappingNode>().ToList();
        return value switch
        {
            Dictionary<string, object> dict => dict.Any(p => definitions.Where(d => Scalar(Child(d, "key")) == p.Key).Any(d =>
                Marked(d) || KeysWhere(p.Value, Child(d, "subkeys") as YamlSequenceNode, os, test))),
            List<object> list => list.Any(item => definitions.Any(d =>
                (item is Dictionary<string, object> entry
                    && entry.Keys.Where(k => k != "Item").All(k => (Child(d, "subkeys") as YamlSequenceNode)?.Children.OfType<YamlMappingNode>().Any(sub => Scalar(Child(sub, "key")) == k) == true)
                    && Marked(d))
                || KeysWhere(item, Child(d, "subkeys") as YamlSequenceNode, os, test))),
            _ => false,
        };
    }

    private static void CheckDictionary(Dictionary<string, object> value, YamlSequenceNode? keys, string path, List<string> errors)
    {
        var definitions = (keys?.Children ?? []).OfType<YamlMappingNode>().ToDictionary(k => Scalar(Child(k, "key"))!, k => k);
        foreach (var (key, item) in value)
        {
            // A dictionary whose keys are free (a manifest, an app configuration) is given as one subkey named ANY.
            if (!definitions.TryGetValue(key, out var definition) && !definitions.TryGetValue("ANY", out definition))
            {
                errors.Add($"{path}.{key} is not a key of this command.");
                continue;
            }

            CheckValue(item, definition, $"{path}.{key}", errors);
        }

        foreach (var (key, definition) in definitions)
        {
            if (Scalar(Child(definition, "presence")) == "required" && !value.ContainsKey(key))
            {
                errors.Add($"{path}.{key} is required.");
            }
        }
    }

    private static void CheckValue(object value, YamlMappingNode definition, string path, List<string> errors)
    {
        var type = Scalar(Child(definition, "type"));
        var ok = type switch
        {
            "<string>" => value is string,
            "<integer>" => value is long or int,
            "<real>" => value is double or long,
            "<boolean>" => value is bool,
            "<data>" => value is byte[],
            "<date>" => value is DateTimeOffset,
            "<array>" => value is List<object>,
            "<dictionary>" => value is Dictionary<string, object>,
            "<any>" => true,
            _ => false,
        };
        if (!ok)
        {
            errors.Add($"{path} is a {value.GetType().Name}; the schema says {type}.");
            return;
        }

        if (Scalar(Child(definition, "rangelist")) is null && Child(definition, "rangelist") is YamlSequenceNode range && value is string text
            && !range.Children.Select(Scalar).Contains(text))
        {
            errors.Add($"{path} '{text}' is not one of {string.Join(", ", range.Children.Select(Scalar))}.");
        }

        var subkeys = Child(definition, "subkeys") as YamlSequenceNode;
        if (value is Dictionary<string, object> dict)
        {
            CheckDictionary(dict, subkeys, path, errors);
        }
        else if (value is List<object> list && subkeys is not null)
        {
            var variants = subkeys.Children.OfType<YamlMappingNode>().ToList();
            for (var i = 0; i < list.Count; i++)
            {
                // An array's subkeys describe its element; several subkeys are alternative shapes (Settings items).
                var fits = variants.Select(v =>
                {
                    var attempt = new List<string>();
                    CheckValue(list[i], v, $"{path}[{i}]", attempt);
                    return attempt;
                }).ToList();
                if (fits.All(f => f.Count > 0))
                {
                    errors.AddRange(fits.OrderBy(f => f.Count).First());
                }
            }
        }
    }

    private static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static string? Scalar(YamlNode? node) => (node as YamlScalarNode)?.Value;
}
