using System.Buffers;
using System.Text.Json;

namespace Homeroom.Contracts.Agents;

/// <summary>Why a text frame could not be read.</summary>
public enum FrameReadError
{
    /// <summary>The frame was read.</summary>
    None,
    /// <summary>Not JSON, not an object, no <c>type</c>, or a field of the wrong shape.</summary>
    Malformed,
    /// <summary>The <c>type</c> is not one of <see cref="FrameTypes"/>.</summary>
    UnknownType,
}

/// <summary>Reads and writes JSON text frames with the source-generated context.</summary>
public static class AgentFrameCodec
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    /// <summary>Serializes a frame to UTF-8 JSON.</summary>
    public static byte[] Serialize(AgentFrame frame) =>
        JsonSerializer.SerializeToUtf8Bytes(frame, AgentJsonContext.Default.AgentFrame);

    /// <summary>Serializes a frame into a buffer writer.</summary>
    public static void Serialize(AgentFrame frame, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, frame, AgentJsonContext.Default.AgentFrame);
    }

    /// <summary>
    /// Reads one frame. The <c>type</c> is checked first so that an unknown kind and a malformed
    /// frame get different answers.
    /// </summary>
    public static FrameReadError TryRead(ReadOnlySpan<byte> utf8, out AgentFrame? frame, out string? type)
    {
        frame = null;
        type = PeekType(utf8, out var malformed);
        if (malformed || type is null)
        {
            return FrameReadError.Malformed;
        }

        if (!FrameTypes.FromAgent.Contains(type) && !FrameTypes.FromServer.Contains(type))
        {
            return FrameReadError.UnknownType;
        }

        try
        {
            frame = JsonSerializer.Deserialize(utf8, AgentJsonContext.Default.AgentFrame);
            return frame is null ? FrameReadError.Malformed : FrameReadError.None;
        }
        catch (JsonException)
        {
            return FrameReadError.Malformed;
        }
        catch (InvalidOperationException)
        {
            // Thrown for some impossible shapes, such as null for a non-nullable struct.
            return FrameReadError.Malformed;
        }
    }

    private static string? PeekType(ReadOnlySpan<byte> utf8, out bool malformed)
    {
        malformed = false;
        try
        {
            var reader = new Utf8JsonReader(utf8, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                malformed = true;
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                reader.Read();
                if (isType)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return null;
        }
        catch (JsonException)
        {
            malformed = true;
            return null;
        }
    }
}
