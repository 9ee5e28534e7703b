using System.Security.Cryptography;
using System.Text;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Apple;

/// <summary>One declaration of Apple's declarative device management.</summary>
/// <param name="Type">The declaration type, e.g. <c>com.apple.configuration.softwareupdate.enforcement.specific</c>.</param>
/// <param name="Identifier">Stable identifier.</param>
/// <param name="Payload">The payload.</param>
public sealed record Declaration(string Type, string Identifier, Dictionary<string, object> Payload)
{
    /// <summary>Changes whenever the payload changes, so devices fetch it again.</summary>
    public string ServerToken => Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes(Type + "\n"), .. PropertyList.WriteXml(Payload)]))[..16];

    /// <summary>Activations, configurations, assets or management.</summary>
    public string Kind => Type.Split('.') is [_, _, var kind, ..] ? kind : "configuration";

    /// <summary>The declaration as the device fetches it.</summary>
    public Dictionary<string, object> ToJson() => new()
    {
        ["Type"] = Type,
        ["Identifier"] = Identifier,
        ["ServerToken"] = ServerToken,
        ["Payload"] = Payload,
    };
}

/// <summary>
/// The declarations a device's effective policy asks for. Today: software-update enforcement (a
/// target OS version by a local deadline, from <c>softwareUpdate.*</c>, so a pilot group can be
/// assigned a version before the whole fleet) and the activation that turns the configurations on.
/// </summary>
public static class Declarations
{
    public const string ActivationId = "org.homeroom.activation.policy";
    public const string SoftwareUpdateId = "org.homeroom.configuration.softwareupdate";

    public static IReadOnlyList<Declaration> For(PolicyDocument policy) => For(policy, null);

    /// <summary>
    /// The declarations for a device, where an OS update rollout's started ring that holds the device
    /// (<paramref name="rollout"/>) sets the software-update target and deadline instead of the profile's.
    /// </summary>
    public static IReadOnlyList<Declaration> For(PolicyDocument policy, SoftwareUpdateTarget? rollout)
    {
        var configurations = new List<Declaration>();
        var (version, deadline) = rollout is not null
            ? (rollout.Version, rollout.LocalDeadline.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))
            : (policy.Text("softwareUpdate", "targetVersion"), policy.Text("softwareUpdate", "deadline"));
        if (version is { Length: > 0 } && deadline is { Length: > 0 })
        {
            configurations.Add(new Declaration(
                "com.apple.configuration.softwareupdate.enforcement.specific",
                SoftwareUpdateId,
                new Dictionary<string, object> { ["TargetOSVersion"] = version, ["TargetLocalDateTime"] = deadline }));
        }

        var activation = new Declaration(
            "com.apple.activation.simple",
            ActivationId,
            new Dictionary<string, object> { ["StandardConfigurations"] = configurations.Select(c => (object)c.Identifier).ToList() });
        return [activation, .. configurations];
    }

    /// <summary>A token for the whole set: it changes when any declaration does.</summary>
    public static string Token(IEnumerable<Declaration> declarations) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(',', declarations.Select(d => d.Identifier + "=" + d.ServerToken)))))[..16];
}

/// <summary>An OS version a device must be on by a deadline in its local time (an update ring's).</summary>
public sealed record SoftwareUpdateTarget(string Version, DateTime LocalDeadline);
