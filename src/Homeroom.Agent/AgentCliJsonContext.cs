using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Agent.Capabilities;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent;

/// <summary>What <c>homeroom-agent inventory</c> prints: the facts, how many apps, the capabilities and who is signed in.</summary>
public sealed record InventoryReport(DeviceFacts Facts, int Apps, IReadOnlyList<AgentCapability> Capabilities, SignedInUser? SignedInUser);

/// <summary>The command line's JSON, source-generated so the trimmed and Native AOT builds need no reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(InventoryReport))]
internal sealed partial class AgentCliJsonContext : JsonSerializerContext;
