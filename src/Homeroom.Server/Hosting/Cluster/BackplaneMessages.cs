using System.Globalization;
using System.Text;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>What one notification says (see <see cref="BackplaneMessages"/>).</summary>
public enum BackplaneMessageKind
{
    /// <summary>These devices have new stored commands: the node holding one delivers its pending commands.</summary>
    Devices,

    /// <summary>These devices connected to the sending node: an older connection elsewhere is closed.</summary>
    Connected,

    /// <summary>Notifications were lost: every node delivers the pending commands (and current policies) of all its connected devices.</summary>
    Sweep,

    /// <summary>These devices have a new stored policy version: the node holding one sends the device its current policy.</summary>
    Policies,

    /// <summary>The screen views of these classes (group ids) changed: every node reads them again from <c>screen_views</c>.</summary>
    Views,

    /// <summary>These devices' newest thumbnails, each with its capture time (Unix milliseconds), are in <c>screen_thumbnails</c>.</summary>
    Thumbnails,

    /// <summary>What the console shows live about these devices changed on the sending node: read their rows in <c>device_live</c>.</summary>
    Live,

    /// <summary>The sending node is alive; the devices it announced stay online in the others' view.</summary>
    Heartbeat,

    /// <summary>
    /// These devices, connected to the sending node, acknowledged (or finished) <see cref="BackplaneMessage.Command"/>, a command
    /// that node did not issue: the node that issued it counts them in its live progress.
    /// </summary>
    Acknowledged,

    /// <summary>Staff notifications changed on the sending node: <see cref="BackplaneMessage.Devices"/> holds the ids of their rows in <c>cluster_notifications</c>.</summary>
    Notifications,
}

/// <summary>
/// One parsed notification. <see cref="Devices"/> holds group ids for <see cref="BackplaneMessageKind.Views"/>;
/// <see cref="Sequences"/> is set for <see cref="BackplaneMessageKind.Connected"/> (connection numbers) and
/// <see cref="BackplaneMessageKind.Thumbnails"/> (capture times in Unix milliseconds) only; <see cref="Command"/> for
/// <see cref="BackplaneMessageKind.Acknowledged"/> only.
/// </summary>
public sealed record BackplaneMessage(BackplaneMessageKind Kind, string Node, IReadOnlyList<Guid> Devices, IReadOnlyList<long> Sequences, Guid Command = default);

/// <summary>
/// The text of the notifications on the <see cref="Channel"/> channel, ASCII and small:
/// <c>d NODE ID,ID,…</c> (devices with new commands), <c>p NODE ID,ID,…</c> (devices with a new policy version),
/// <c>c NODE ID:SEQ,…</c> (devices that connected to NODE, each with the node's number for that connection),
/// <c>s NODE</c> (sweep), and for the classroom
/// <c>v NODE GROUP,…</c> (these classes' screen views changed), <c>t NODE ID:MS,…</c> (these devices' thumbnails
/// were stored, captured at MS Unix milliseconds), <c>l NODE ID,…</c> (these devices' live rows changed) and
/// <c>h NODE</c> (the node is alive), and for the live progress of commands <c>a NODE COMMAND ID,…</c> (these devices
/// acknowledged the command on NODE), and for staff notifications <c>n NODE ROW,…</c> (rows of
/// <c>cluster_notifications</c> to show on this node's open console pages). NODE is 12 lowercase
/// hex digits, ID a device id as 32 hex digits. Anyone who may connect to the database can notify, so a
/// payload is read strictly: anything malformed is refused whole and changes nothing.
/// </summary>
public static class BackplaneMessages
{
    public const string Channel = "homeroom_devices";

    /// <summary>PostgreSQL's limit is a payload shorter than 8,000 bytes.</summary>
    public const int MaxPayloadBytes = 7_999;

    public const int MinPayloadBytes = 200;

    public const int NodeIdLength = 12;

    private const int GuidLength = 32;

    /// <summary>A random id for this process: a node that restarts is a new node.</summary>
    public static string NewNodeId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(NodeIdLength / 2));

    /// <summary>Notifications naming every device, each at most <paramref name="maxPayloadBytes"/> long.</summary>
    public static List<string> Devices(string node, IEnumerable<Guid> deviceIds, int maxPayloadBytes) =>
        Split('d', node, deviceIds.Select(id => id.ToString("N")), maxPayloadBytes);

    /// <summary>Notifications naming every device with a new policy version, each at most <paramref name="maxPayloadBytes"/> long.</summary>
    public static List<string> Policies(string node, IEnumerable<Guid> deviceIds, int maxPayloadBytes) =>
        Split('p', node, deviceIds.Select(id => id.ToString("N")), maxPayloadBytes);

    /// <summary>Notifications announcing every connection, each at most <paramref name="maxPayloadBytes"/> long.</summary>
    public static List<string> Connected(string node, IEnumerable<(Guid DeviceId, long Sequence)> connections, int maxPayloadBytes) =>
        Split('c', node, connections.Select(c => c.DeviceId.ToString("N") + ":" + c.Sequence.ToString(CultureInfo.InvariantCulture)), maxPayloadBytes);

    public static string Sweep(string node) => "s " + node;

    public static string Heartbeat(string node) => "h " + node;

    /// <summary>Notifications naming classes whose screen views changed.</summary>
    public static List<string> Views(string node, IEnumerable<Guid> groupIds, int maxPayloadBytes) =>
        Split('v', node, groupIds.Select(id => id.ToString("N")), maxPayloadBytes);

    /// <summary>Notifications naming devices whose thumbnail was stored, each with its capture time.</summary>
    public static List<string> Thumbnails(string node, IEnumerable<(Guid DeviceId, DateTimeOffset CapturedAt)> thumbnails, int maxPayloadBytes) =>
        Split('t', node, thumbnails.Select(t => t.DeviceId.ToString("N") + ":" + Math.Max(1, t.CapturedAt.ToUnixTimeMilliseconds()).ToString(CultureInfo.InvariantCulture)), maxPayloadBytes);

    /// <summary>Notifications naming devices whose live row changed.</summary>
    public static List<string> Live(string node, IEnumerable<Guid> deviceIds, int maxPayloadBytes) =>
        Split('l', node, deviceIds.Select(id => id.ToString("N")), maxPayloadBytes);

    /// <summary>Notices naming rows of <c>cluster_notifications</c> (staff notifications changed on <paramref name="node"/>).</summary>
    public static List<string> Notifications(string node, IEnumerable<Guid> rowIds, int maxPayloadBytes) =>
        Split('n', node, rowIds.Select(id => id.ToString("N")), maxPayloadBytes);

    /// <summary>Notifications naming devices that acknowledged one command, each at most <paramref name="maxPayloadBytes"/> long.</summary>
    public static List<string> Acknowledged(string node, Guid commandId, IEnumerable<Guid> deviceIds, int maxPayloadBytes) =>
        Split("a " + node + " " + commandId.ToString("N") + " ", deviceIds.Select(id => id.ToString("N")), maxPayloadBytes);

    private static List<string> Split(char kind, string node, IEnumerable<string> items, int maxPayloadBytes) =>
        Split(kind + " " + node + " ", items, maxPayloadBytes);

    private static List<string> Split(string prefix, IEnumerable<string> items, int maxPayloadBytes)
    {
        var payloads = new List<string>();
        var text = new StringBuilder(prefix);
        foreach (var item in items)
        {
            var separator = text.Length > prefix.Length ? 1 : 0;
            if (text.Length + separator + item.Length > maxPayloadBytes && text.Length > prefix.Length)
            {
                payloads.Add(text.ToString());
                text.Clear().Append(prefix);
                separator = 0;
            }

            if (separator == 1)
            {
                text.Append(',');
            }

            text.Append(item);
        }

        if (text.Length > prefix.Length)
        {
            payloads.Add(text.ToString());
        }

        return payloads;
    }

    /// <summary>Reads a notification; null when it is not one of ours or breaks any rule.</summary>
    public static BackplaneMessage? Parse(string? payload)
    {
        if (payload is null || payload.Length < 2 + NodeIdLength || payload.Length > MaxPayloadBytes || payload[1] != ' ')
        {
            return null;
        }

        var node = payload.Substring(2, NodeIdLength);
        if (!IsNodeId(node))
        {
            return null;
        }

        var kind = payload[0];
        if (kind is 's' or 'h')
        {
            return payload.Length == 2 + NodeIdLength
                ? new BackplaneMessage(kind == 's' ? BackplaneMessageKind.Sweep : BackplaneMessageKind.Heartbeat, node, [], [])
                : null;
        }

        // Kinds whose items carry a number after the id.
        var numbered = kind is 'c' or 't';
        if (kind is not ('d' or 'p' or 'c' or 'v' or 't' or 'l' or 'a' or 'n') || payload.Length < 3 + NodeIdLength + GuidLength || payload[2 + NodeIdLength] != ' ')
        {
            return null;
        }

        // An acknowledgement notice names its command before the devices: "a NODE COMMAND ID,…".
        var start = 3 + NodeIdLength;
        var command = Guid.Empty;
        if (kind == 'a')
        {
            var commandText = payload.AsSpan(start, GuidLength);
            if (payload.Length < start + GuidLength + 1 + GuidLength || payload[start + GuidLength] != ' '
                || !IsHex(commandText) || !Guid.TryParseExact(commandText, "N", out command))
            {
                return null;
            }

            start += GuidLength + 1;
        }

        var devices = new List<Guid>();
        var sequences = new List<long>();
        foreach (var range in payload.AsSpan(start).Split(','))
        {
            var item = payload.AsSpan(start)[range];
            var id = numbered && item.Length > GuidLength + 1 && item[GuidLength] == ':' ? item[..GuidLength] : item;
            if (id.Length != GuidLength || !IsHex(id) || !Guid.TryParseExact(id, "N", out var deviceId))
            {
                return null;
            }

            if (numbered)
            {
                if (item.Length <= GuidLength + 1 || !IsDigits(item[(GuidLength + 1)..])
                    || !long.TryParse(item[(GuidLength + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) || sequence <= 0)
                {
                    return null;
                }

                sequences.Add(sequence);
            }

            devices.Add(deviceId);
        }

        var parsed = kind switch
        {
            'd' => BackplaneMessageKind.Devices,
            'p' => BackplaneMessageKind.Policies,
            'c' => BackplaneMessageKind.Connected,
            'v' => BackplaneMessageKind.Views,
            't' => BackplaneMessageKind.Thumbnails,
            'a' => BackplaneMessageKind.Acknowledged,
            'n' => BackplaneMessageKind.Notifications,
            _ => BackplaneMessageKind.Live,
        };
        return new BackplaneMessage(parsed, node, devices, sequences, command);
    }

    private static bool IsNodeId(ReadOnlySpan<char> node) => node.Length == NodeIdLength && IsHex(node);

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not (>= '0' and <= '9'))
            {
                return false;
            }
        }

        return text.Length is > 0 and <= 18;
    }
}
