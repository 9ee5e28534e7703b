using System.Text.Json.Serialization;

namespace Homeroom.Server.Commands;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CommandJsonContext : JsonSerializerContext;
