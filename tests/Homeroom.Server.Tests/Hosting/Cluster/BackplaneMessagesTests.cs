using Homeroom.Server.Hosting.Cluster;

namespace Homeroom.Server.Tests.Hosting.Cluster;

public sealed class BackplaneMessagesTests
{
    private const string Node = "0123456789ab";

    [Theory]
    [InlineData(1)]
    [InlineData(240)]
    [InlineData(241)]
    [InlineData(10_000)]
    public void Devices_ManyIds_SplitUnderTheLimitAndReadBackInOrder(int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();

        var payloads = BackplaneMessages.Devices(Node, ids, 7_900);

        payloads.ShouldAllBe(p => p.Length <= 7_900);
        var read = payloads.Select(BackplaneMessages.Parse).ToList();
        read.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Devices && m.Node == Node);
        read.SelectMany(m => m!.Devices).ShouldBe(ids);
        // Full payloads: no more notifications than the ids need.
        payloads.Count.ShouldBe((int)Math.Ceiling(count / (double)((7_900 - 15 + 1) / 33)));
    }

    [Fact]
    public void Connected_ReadBack_KeepsEachDevicesSequence()
    {
        var connections = Enumerable.Range(1, 500).Select(i => (Guid.NewGuid(), (long)i * 1_000_003)).ToList();

        var payloads = BackplaneMessages.Connected(Node, connections, 1_000);

        payloads.Count.ShouldBeGreaterThan(1);
        payloads.ShouldAllBe(p => p.Length <= 1_000);
        var read = payloads.Select(BackplaneMessages.Parse).ToList();
        read.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Connected);
        read.SelectMany(m => m!.Devices.Zip(m.Sequences)).ShouldBe(connections);
    }

    [Fact]
    public void Policies_ReadBack_AreTheirOwnKind()
    {
        var ids = Enumerable.Range(0, 600).Select(_ => Guid.NewGuid()).ToList();

        var payloads = BackplaneMessages.Policies(Node, ids, 7_900);

        payloads.Count.ShouldBe(3);
        var read = payloads.Select(BackplaneMessages.Parse).ToList();
        read.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Policies && m.Node == Node && m.Sequences.Count == 0);
        read.SelectMany(m => m!.Devices).ShouldBe(ids);
    }

    [Fact]
    public void Notifications_ReadBack_AreTheirOwnKindWithTheirRows()
    {
        var rows = Enumerable.Range(0, 300).Select(_ => Guid.CreateVersion7()).ToList();

        var read = BackplaneMessages.Notifications(Node, rows, 1_000).Select(BackplaneMessages.Parse).ToList();

        read.Count.ShouldBeGreaterThan(1);
        read.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Notifications && m.Node == Node && m.Sequences.Count == 0);
        read.SelectMany(m => m!.Devices).ShouldBe(rows);
    }

    [Fact]
    public void Sweep_ReadBack_NamesTheNode()
    {
        var message = BackplaneMessages.Parse(BackplaneMessages.Sweep(Node));

        message.ShouldNotBeNull();
        message.Kind.ShouldBe(BackplaneMessageKind.Sweep);
        message.Node.ShouldBe(Node);
    }

    [Fact]
    public void ClassroomNotices_ReadBack_AsTheirKindsWithTheirIds()
    {
        var groups = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid()).ToList();
        var devices = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid()).ToList();
        var captured = devices.Select((d, i) => (d, DateTimeOffset.FromUnixTimeMilliseconds(1_780_000_000_000 + i))).ToList();

        var views = BackplaneMessages.Views(Node, groups, 1_000).Select(BackplaneMessages.Parse).ToList();
        var live = BackplaneMessages.Live(Node, devices, 1_000).Select(BackplaneMessages.Parse).ToList();
        var thumbnails = BackplaneMessages.Thumbnails(Node, captured, 1_000).Select(BackplaneMessages.Parse).ToList();
        var heartbeat = BackplaneMessages.Parse(BackplaneMessages.Heartbeat(Node));

        views.Count.ShouldBeGreaterThan(1);
        views.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Views && m.Node == Node && m.Sequences.Count == 0);
        views.SelectMany(m => m!.Devices).ShouldBe(groups);
        live.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Live && m.Sequences.Count == 0);
        live.SelectMany(m => m!.Devices).ShouldBe(devices);
        thumbnails.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Thumbnails);
        thumbnails.SelectMany(m => m!.Devices.Zip(m.Sequences.Select(DateTimeOffset.FromUnixTimeMilliseconds))).ShouldBe(captured);
        heartbeat.ShouldNotBeNull();
        heartbeat.Kind.ShouldBe(BackplaneMessageKind.Heartbeat);
        heartbeat.Node.ShouldBe(Node);
    }

    [Fact]
    public void Acknowledged_ManyDevices_SplitUnderTheLimit_EachNamingTheCommand()
    {
        var command = Guid.NewGuid();
        var devices = Enumerable.Range(0, 500).Select(_ => Guid.NewGuid()).ToList();

        var payloads = BackplaneMessages.Acknowledged(Node, command, devices, 1_000);

        payloads.Count.ShouldBeGreaterThan(1);
        payloads.ShouldAllBe(p => p.Length <= 1_000 && p.StartsWith("a " + Node + " " + command.ToString("N") + " "));
        var read = payloads.Select(BackplaneMessages.Parse).ToList();
        read.ShouldAllBe(m => m != null && m.Kind == BackplaneMessageKind.Acknowledged && m.Node == Node && m.Command == command && m.Sequences.Count == 0);
        read.SelectMany(m => m!.Devices).ShouldBe(devices);
    }

    public static TheoryData<string?> Malformed() => new()
    {
        null,
        "",
        "d",
        "s 0123456789ab ",
        "s 0123456789AB",
        "x 0123456789ab 0123456789abcdef0123456789abcdef",
        "d 0123456789a 0123456789abcdef0123456789abcdef",
        "d 0123456789ab",
        "d 0123456789ab ",
        "d 0123456789ab 0123456789abcdef0123456789abcdef,",
        "d 0123456789ab 0123456789abcdef0123456789abcdeg",
        "d 0123456789ab 0123456789ABCDEF0123456789ABCDEF",
        "d 0123456789ab {01234567-89ab-cdef-0123-456789abcdef}",
        "d 0123456789ab 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef",
        "d  0123456789ab 0123456789abcdef0123456789abcdef",
        "c 0123456789ab 0123456789abcdef0123456789abcdef",
        "c 0123456789ab 0123456789abcdef0123456789abcdef:",
        "c 0123456789ab 0123456789abcdef0123456789abcdef:0",
        "c 0123456789ab 0123456789abcdef0123456789abcdef:-1",
        "c 0123456789ab 0123456789abcdef0123456789abcdef:+1",
        "c 0123456789ab 0123456789abcdef0123456789abcdef:99999999999999999999",
        "d 0123456789ab 0123456789abcdef0123456789abcdef:1",
        "p 0123456789ab 0123456789abcdef0123456789abcdef:1",
        "p 0123456789ab",
        "P 0123456789ab 0123456789abcdef0123456789abcdef",
        "d 0123456789ab " + string.Join(',', Enumerable.Repeat("0123456789abcdef0123456789abcdef", 243)),
        "h 0123456789ab ",
        "h 0123456789ab 0123456789abcdef0123456789abcdef",
        "v 0123456789ab",
        "v 0123456789ab 0123456789abcdef0123456789abcdef:1",
        "l 0123456789ab 0123456789abcdef0123456789abcdef,",
        "l 0123456789ab 0123456789ABCDEF0123456789ABCDEF",
        "t 0123456789ab 0123456789abcdef0123456789abcdef",
        "t 0123456789ab 0123456789abcdef0123456789abcdef:0",
        "t 0123456789ab 0123456789abcdef0123456789abcdef:-5",
        "t 0123456789ab 0123456789abcdef0123456789abcdef:1e9",
        "T 0123456789ab 0123456789abcdef0123456789abcdef:1",
        "a 0123456789ab",
        "a 0123456789ab 0123456789abcdef0123456789abcdef",
        "a 0123456789ab 0123456789abcdef0123456789abcdef ",
        "a 0123456789ab 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef,",
        "a 0123456789ab 0123456789abcdef0123456789abcdef,0123456789abcdef0123456789abcdef",
        "a 0123456789ab 0123456789ABCDEF0123456789ABCDEF 0123456789abcdef0123456789abcdef",
        "a 0123456789ab 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef:1",
        "a 0123456789ab 0123456789abcdef0123456789abcde 0123456789abcdef0123456789abcdef",
        "a 0123456789ab 0123456789abcdef0123456789abcdef  0123456789abcdef0123456789abcdef",
        "A 0123456789ab 0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_Malformed_IsRefusedWhole(string? payload) => BackplaneMessages.Parse(payload).ShouldBeNull();
}
