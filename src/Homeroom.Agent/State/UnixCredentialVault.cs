using System.Runtime.Versioning;
using System.Text.Json;

namespace Homeroom.Agent.State;

/// <summary>
/// The Linux and macOS vault: <c>credential.json</c>, mode 0600, in the state directory (0700), both
/// owned by the user the service runs as. Opening refuses a file or directory that others may read or
/// that another user owns, rather than use a credential that may have leaked; and a file that is not
/// valid JSON is treated as absent (the agent enrolls again with its token) instead of crash-looping.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class UnixCredentialVault(AgentPaths paths) : ICredentialVault
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public AgentSecrets? Load()
    {
        var file = paths.CredentialFile;
        if (!File.Exists(file))
        {
            return null;
        }

        Check(paths.StateDirectory, "state directory");
        Check(file, "credential file");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(file), AgentStateJsonContext.Default.AgentSecrets);
        }
        catch (JsonException)
        {
            var aside = file + ".corrupt";
            File.Move(file, aside, overwrite: true);
            return null;
        }
    }

    public void Save(AgentSecrets secrets)
    {
        paths.EnsureStateDirectory();
        var temporary = paths.CredentialFile + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = Private,
        }))
        {
            // UnixCreateMode applies only to a new file; a leftover temporary file keeps its mode otherwise.
            File.SetUnixFileMode(temporary, Private);
            JsonSerializer.Serialize(stream, secrets, AgentStateJsonContext.Default.AgentSecrets);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, paths.CredentialFile, overwrite: true);
    }

    private static void Check(string path, string what)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) != 0)
        {
            throw new CredentialVaultException(
                $"The {what} {path} is readable or writable by other users (mode {Octal(mode)}); refusing to use it. Make it 0{(what == "credential file" ? "600" : "700")} and owned by the service user, or delete it and enroll again.");
        }

        var owner = UnixFileOwnership.OwnerOf(path);
        if (owner is { } uid && uid != UnixFileOwnership.EffectiveUserId)
        {
            throw new CredentialVaultException($"The {what} {path} belongs to user {uid}, not to the service user {UnixFileOwnership.EffectiveUserId}; refusing to use it.");
        }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
