using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Homeroom.Simulator.Fleet;

/// <summary>A device's id and credential. <paramref name="Stale"/>: the server refused it (4401); it is presented once more when enrolling again, to prove the device is the same.</summary>
public sealed record SavedCredential(Guid DeviceId, string Credential, bool Stale = false);

[JsonSerializable(typeof(Dictionary<string, SavedCredential>))]
internal sealed partial class CredentialJsonContext : JsonSerializerContext;

/// <summary>Remembers each virtual device's credential by serial, so a restarted simulator resumes instead of re-enrolling.</summary>
public sealed class CredentialStore(string? path)
{
    private readonly ConcurrentDictionary<string, SavedCredential> _credentials = Load(path);

    public SavedCredential? Get(string serial) => _credentials.GetValueOrDefault(serial);

    public void Set(string serial, SavedCredential credential) => _credentials[serial] = credential;

    public void Remove(string serial) => _credentials.TryRemove(serial, out _);

    /// <summary>Keeps the credential only as proof for the next enrollment: the server no longer accepts it on the socket.</summary>
    public void MarkStale(string serial)
    {
        if (_credentials.TryGetValue(serial, out var saved) && !saved.Stale)
        {
            _credentials.TryUpdate(serial, saved with { Stale = true }, saved);
        }
    }

    public int Count => _credentials.Count;

    public async Task SaveAsync()
    {
        if (path is null)
        {
            return;
        }

        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(new Dictionary<string, SavedCredential>(_credentials), CredentialJsonContext.Default.DictionaryStringSavedCredential));
        File.Move(temporary, path, overwrite: true);
    }

    private static ConcurrentDictionary<string, SavedCredential> Load(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            return new();
        }

        var saved = JsonSerializer.Deserialize(File.ReadAllText(path), CredentialJsonContext.Default.DictionaryStringSavedCredential) ?? [];
        return new(saved);
    }
}
