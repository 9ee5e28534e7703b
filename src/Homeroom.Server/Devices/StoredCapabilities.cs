using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Devices;

/// <summary>
/// A device's capabilities as stored in <c>devices.capabilities_json</c>: the agent's last reported list (already
/// validated: at most <see cref="ProtocolLimits.MaxCapabilities"/> entries, names of 64 and reasons of 256 characters),
/// written whole with each inventory that carries one, so a node that does not hold the device's connection (another
/// node of a cluster, or this one after a restart) knows what the agent can do.
/// </summary>
public static class StoredCapabilities
{
    /// <summary>The list as stored.</summary>
    public static string Write(IReadOnlyList<AgentCapability> capabilities) =>
        JsonSerializer.Serialize([.. capabilities], StoredCapabilitiesJsonContext.Default.AgentCapabilityArray);

    /// <summary>The stored list; null when none was stored, or what is stored cannot be read (never written so by Homeroom).</summary>
    public static IReadOnlyList<AgentCapability>? Read(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            var capabilities = JsonSerializer.Deserialize(json, StoredCapabilitiesJsonContext.Default.AgentCapabilityArray);
            return capabilities is null || capabilities.Any(c => c is null || string.IsNullOrEmpty(c.Name)) ? null : capabilities;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentCapability[]))]
internal sealed partial class StoredCapabilitiesJsonContext : JsonSerializerContext;
