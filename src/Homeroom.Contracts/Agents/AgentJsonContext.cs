using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Contracts.Agents;

/// <summary>Source-generated serialization for every type on the agent wire.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    AllowOutOfOrderMetadataProperties = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 16)]
[JsonSerializable(typeof(AgentFrame))]
[JsonSerializable(typeof(DiagnosticsReport))]
[JsonSerializable(typeof(EnrollRequest))]
[JsonSerializable(typeof(EnrollResponse))]
[JsonSerializable(typeof(CompanionCredentialResponse))]
public sealed partial class AgentJsonContext : JsonSerializerContext;
