using System.Text;
using Homeroom.Contracts.Apple;

namespace Homeroom.Contracts.Tests.Apple;

public sealed class PropertyListTests
{
    private static Dictionary<string, object> Sample() => new()
    {
        ["MessageType"] = "Authenticate",
        ["UDID"] = "00008030-001A2D3E0C38802E",
        ["Count"] = 42L,
        ["Negative"] = -7L,
        ["Ratio"] = 0.25,
        ["Supervised"] = true,
        ["Locked"] = false,
        ["Token"] = new byte[] { 1, 2, 3, 250 },
        ["When"] = new DateTimeOffset(2026, 11, 25, 8, 30, 0, TimeSpan.Zero),
        ["Text"] = "Ms. Rivera's <class> & \"friends\" ✓",
        ["Items"] = new List<object> { "a", 1L, new Dictionary<string, object> { ["Nested"] = new List<object>() } },
        ["Empty"] = new Dictionary<string, object>(),
    };

    [Fact]
    public void WriteXml_ThenRead_RoundTripsEveryType()
    {
        var read = PropertyList.ReadDictionary(PropertyList.WriteXml(Sample()));

        read.Keys.ShouldBe(Sample().Keys);
        read["Count"].ShouldBe(42L);
        read["Negative"].ShouldBe(-7L);
        read["Ratio"].ShouldBe(0.25);
        read["Supervised"].ShouldBe(true);
        read["Locked"].ShouldBe(false);
        read["Token"].ShouldBe(new byte[] { 1, 2, 3, 250 });
        read["When"].ShouldBe(new DateTimeOffset(2026, 11, 25, 8, 30, 0, TimeSpan.Zero));
        read["Text"].ShouldBe("Ms. Rivera's <class> & \"friends\" ✓");
        var items = (List<object>)read["Items"];
        items[0].ShouldBe("a");
        ((Dictionary<string, object>)items[2])["Nested"].ShouldBe(new List<object>());
    }

    [Fact]
    public void Read_AppleStyleDocument_WithDoctypeAndWhitespace()
    {
        const string xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
                <key>MessageType</key>
                <string>TokenUpdate</string>
                <key>PushMagic</key>
                <string>7C1A6BD2-2B84-4A9B-9D2E-1C2A3E4F5A6B</string>
                <key>Token</key>
                <data>
                q8OjZk0Qn7cJz0vBzA1bY3QwNDU2Nzg5MDEyMzQ1Njc4OTAx
                </data>
                <key>AwaitingConfiguration</key>
                <false/>
            </dict>
            </plist>
            """;

        var read = PropertyList.ReadDictionary(Encoding.UTF8.GetBytes(xml));

        read["MessageType"].ShouldBe("TokenUpdate");
        ((byte[])read["Token"]).Length.ShouldBe(36);
        read["AwaitingConfiguration"].ShouldBe(false);
    }

    [Fact]
    public void Read_BinaryPlist_SameValues()
    {
        var value = new Dictionary<string, object>
        {
            ["Status"] = "Acknowledged",
            ["CommandUUID"] = "0b1e...",
            ["Count"] = 3L,
            ["Ratio"] = 1.5,
            ["OK"] = true,
            ["Name"] = "Élève iPad",
            ["Blob"] = new byte[40],
            ["List"] = Enumerable.Range(0, 20).Select(i => (object)(long)i).ToList(),
        };

        var read = PropertyList.ReadDictionary(BinaryPlistWriter.Write(value));

        read["Status"].ShouldBe("Acknowledged");
        read["Count"].ShouldBe(3L);
        read["Ratio"].ShouldBe(1.5);
        read["OK"].ShouldBe(true);
        read["Name"].ShouldBe("Élève iPad");
        ((byte[])read["Blob"]).Length.ShouldBe(40);
        ((List<object>)read["List"]).Count.ShouldBe(20);
    }

    [Theory]
    [InlineData("not xml at all")]
    [InlineData("<plist version=\"1.0\"></plist>")]
    [InlineData("<plist><dict><key>a</key></dict></plist>")]
    [InlineData("<plist><dict><string>no key</string></dict></plist>")]
    [InlineData("<plist><dict><key>a</key><string>1</string><key>a</key><string>2</string></dict></plist>")]
    [InlineData("<plist><integer>12x</integer></plist>")]
    [InlineData("<plist><integer>99999999999999999999</integer></plist>")]
    [InlineData("<plist><real>abc</real></plist>")]
    [InlineData("<plist><date>yesterday</date></plist>")]
    [InlineData("<plist><data>!!!</data></plist>")]
    [InlineData("<plist><blob/></plist>")]
    [InlineData("<plist><string>a</string><string>b</string></plist>")]
    [InlineData("<dict></dict>")]
    [InlineData("<plist><string><b>nested</b></string></plist>")]
    public void Read_Malformed_ThrowsWithAReason(string xml)
    {
        var error = Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(xml)));

        error.Message.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void Read_ExternalEntity_IsNeverResolved()
    {
        const string xml = """<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY secret SYSTEM "file:///etc/passwd">]><plist><string>&secret;</string></plist>""";

        var error = Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(xml)));

        error.Message.ShouldNotContain("root:");
    }

    [Fact]
    public void Read_EntityExpansion_IsRefused()
    {
        const string xml = """<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><plist><string>&c;&c;&c;</string></plist>""";

        Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(xml)));
    }

    [Fact]
    public void Read_Limits_AreEnforced()
    {
        var deep = new StringBuilder("<plist>");
        for (var i = 0; i < 40; i++)
        {
            deep.Append("<array>");
        }

        for (var i = 0; i < 40; i++)
        {
            deep.Append("</array>");
        }

        deep.Append("</plist>");
        Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(deep.ToString()))).Message.ShouldContain("deeper");

        var many = "<plist><array>" + string.Concat(Enumerable.Repeat("<true/>", 200)) + "</array></plist>";
        Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(many), new PropertyListLimits(MaxObjects: 100))).Message.ShouldContain("more than 100");

        var big = "<plist><string>" + new string('x', 5000) + "</string></plist>";
        Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(big), new PropertyListLimits(MaxBytes: 4096)));
        Should.Throw<PropertyListException>(() => PropertyList.Read(Encoding.UTF8.GetBytes(big), new PropertyListLimits(MaxStringLength: 1000)));
    }

    [Fact]
    public void Read_BinaryValueReferencedThousandsOfTimes_IsRefusedByTheMaterializedBytesLimit()
    {
        // The shape of the reported attack: one 256 KB data value referenced 12,000 times, a 280 KB
        // file that would otherwise become 3 GB of byte arrays.
        var bomb = BinaryPlistWriter.Bomb(new Dictionary<string, object> { ["UDID"] = "x", ["Status"] = "Idle" }, 256 * 1024, 12_000);
        bomb.Length.ShouldBeLessThan(300 * 1024);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        var error = Should.Throw<PropertyListException>(() => PropertyList.Read(bomb));

        error.Message.ShouldContain("more than 4194304 bytes");
        (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore).ShouldBeLessThan(16L * 1024 * 1024);
    }

    [Fact]
    public void Read_SharedValuesWithinTheLimit_AreReadEveryTimeTheyAreReferenced()
    {
        var bytes = BinaryPlistWriter.Bomb(new Dictionary<string, object> { ["UDID"] = "x" }, 1024, 100);

        var read = PropertyList.ReadDictionary(bytes, new PropertyListLimits(MaxMaterializedBytes: (100 * 1024) + 64));

        ((List<object>)read["Padding"]).Count.ShouldBe(100);
        Should.Throw<PropertyListException>(() => PropertyList.ReadDictionary(bytes, new PropertyListLimits(MaxMaterializedBytes: 99 * 1024)));
    }

    [Fact]
    public void Read_XmlStrings_CountTowardsTheMaterializedBytesLimit()
    {
        var xml = PropertyList.WriteXml(new Dictionary<string, object> { ["A"] = new string('a', 1000), ["B"] = new byte[1000] });

        PropertyList.Read(xml, new PropertyListLimits(MaxMaterializedBytes: 8000)).ShouldNotBeNull(); // the data counts as its base64 text and its bytes
        Should.Throw<PropertyListException>(() => PropertyList.Read(xml, new PropertyListLimits(MaxMaterializedBytes: 2500)))
            .Message.ShouldContain("more than 2500 bytes");
    }

    [Fact]
    public void Read_BinaryWithBadStructure_Throws()
    {
        var good = BinaryPlistWriter.Write(new Dictionary<string, object> { ["a"] = new List<object> { 1L, 2L } });

        Should.Throw<PropertyListException>(() => PropertyList.Read(good.AsSpan(0, good.Length - 5)));

        // Make the array's first element refer back to the array itself.
        var cyclic = BinaryPlistWriter.Write(new List<object> { new List<object> { 1L } });
        var innerArrayRef = Array.IndexOf(cyclic, (byte)0xA1, 9) + 1;
        cyclic[innerArrayRef] = 0;
        cyclic[innerArrayRef + 1] = 0;
        Should.Throw<PropertyListException>(() => PropertyList.Read(cyclic)).Message.ShouldContain("itself");
    }

    [Fact]
    public void Read_RandomlyDamagedInput_OnlyEverThrowsPropertyListException()
    {
        var random = new Random(5);
        var xml = PropertyList.WriteXml(Sample());
        var binary = BinaryPlistWriter.Write(new Dictionary<string, object> { ["a"] = "text", ["b"] = new List<object> { 1L, 2.5, true }, ["c"] = new byte[9] });
        foreach (var original in new[] { xml, binary })
        {
            for (var i = 0; i < 3000; i++)
            {
                var damaged = (byte[])original.Clone();
                for (var j = 0; j < 1 + random.Next(4); j++)
                {
                    damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
                }

                try
                {
                    PropertyList.Read(damaged);
                }
                catch (PropertyListException)
                {
                    // Refused with a reason: the only acceptable failure.
                }
            }
        }
    }

    [Fact]
    public void WriteXml_ControlCharacter_IsRefused()
    {
        Should.Throw<PropertyListException>(() => PropertyList.WriteXml("bell\u0007"));
    }
}
