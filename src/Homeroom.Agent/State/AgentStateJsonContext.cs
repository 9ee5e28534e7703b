using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.State;

/// <summary>The agent's own files, source-generated like the wire protocol.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(AgentSecrets))]
[JsonSerializable(typeof(JournalEntry))]
[JsonSerializable(typeof(ActivityEvent))]
[JsonSerializable(typeof(ActivityQueueState))]
[JsonSerializable(typeof(AppliedPolicy))]
[JsonSerializable(typeof(Updates.UpdateMarker))]
[JsonSerializable(typeof(Session.KeptHelpRequests))]
internal sealed partial class AgentStateJsonContext : JsonSerializerContext;

/// <summary>The last policy the agent applied, kept so a restart does not apply it from nothing.</summary>
/// <param name="Version">Its version.</param>
/// <param name="Document">The document.</param>
public sealed record AppliedPolicy(long Version, JsonElement Document);
