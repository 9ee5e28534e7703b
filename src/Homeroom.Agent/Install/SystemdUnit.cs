namespace Homeroom.Agent.Install;

/// <summary>
/// The systemd unit <c>homeroom-agent install</c> writes: the agent as a system service running as
/// root (it restarts the machine and reads root-only hardware facts), its state in
/// <c>/var/lib/homeroom-agent</c> (0700, through <c>StateDirectory=</c>), restarted when it fails,
/// with systemd's sandboxing where it does not get in the way: the system is read-only to it except its own
/// program's directory, which a self-update writes (exit code 75 after an update is a "failure" that restarts it),
/// and the browsers' policy directories, where it gives them the Homeroom extension.
/// </summary>
public static class SystemdUnit
{
    public const string UnitName = "homeroom-agent.service";

    public const string DefaultUnitDirectory = "/etc/systemd/system";

    /// <summary>The unit; with <paramref name="configFile"/>, the agent enrolls from that file at start when it holds no credential yet.</summary>
    public static string Render(string executable, string stateDirectory, string? configFile = null) =>
        $"""
        [Unit]
        Description=Homeroom device agent
        Documentation=https://github.com/homeroom/homeroom/blob/main/docs/desktop-agent.md
        Wants=network-online.target
        After=network-online.target

        [Service]
        Type=notify
        ExecStart={Quote(executable)} run --state {Quote(stateDirectory)}{(configFile is null ? string.Empty : " --config " + Quote(configFile))}
        Restart=on-failure
        RestartSec=10
        User=root
        StateDirectory=homeroom-agent
        StateDirectoryMode=0700
        UMask=0077
        NoNewPrivileges=true
        ProtectSystem=full
        ReadWritePaths={Quote(Path.GetDirectoryName(executable) ?? "/usr/lib/homeroom-agent")}
        ReadWritePaths={BrowserPolicyPaths}
        ProtectHome=read-only
        PrivateTmp=true

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>
    /// The browsers' policy directories the agent writes (docs/desktop-agent.md, Browser policy), each optional ("-"):
    /// systemd can open only directories that exist when the service starts, so the package creates them.
    /// </summary>
    public static string BrowserPolicyPaths =>
        string.Join(' ', Capabilities.Browsers.LinuxBrowserPaths.ChromiumBrowsers.Select(b => b.PolicyDirectory)
            .Append(Capabilities.Browsers.LinuxBrowserPaths.FirefoxPolicyDirectory)
            .Select(d => "-/" + d));

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;
}
