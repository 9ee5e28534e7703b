namespace Homeroom.Agent.State;

/// <summary>
/// A stable id of this installation, made once and kept in the state directory: the serial an agent
/// enrolls with when the hardware's serial cannot be read (the protocol allows a stable generated id).
/// </summary>
public sealed class InstallationId(AgentPaths paths)
{
    private readonly Lazy<string> _value = new(() => LoadOrCreate(paths));

    public string Value => _value.Value;

    private static string LoadOrCreate(AgentPaths paths)
    {
        var file = Path.Combine(paths.StateDirectory, "installation-id");
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 and <= 128 } saved)
        {
            return saved;
        }

        paths.EnsureStateDirectory();
        var created = "HR-" + Guid.NewGuid().ToString("N");
        AgentPaths.WriteAtomically(file, System.Text.Encoding.UTF8.GetBytes(created));
        return created;
    }
}
