using System.Reflection;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Agent;

/// <summary>How this agent runs. Set from the command line (see <see cref="AgentCli"/>).</summary>
public sealed class AgentOptions
{
    /// <summary>The agent's version as sent in <c>auth</c> and enrollment.</summary>
    public static readonly string Version =
        "homeroom-agent/" + (typeof(AgentOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    /// <summary>Where the credential, command journal, activity queue and applied policy are kept.</summary>
    public string StateDirectory { get; set; } = State.AgentPaths.DefaultStateDirectory;

    /// <summary>A JSON file an installer writes (<c>{"server": "...", "token": "..."}</c>): enrolled from at start when there is no credential yet.</summary>
    public string? ConfigFile { get; set; }

    /// <summary>Most activity events kept while offline; beyond it the oldest are dropped and counted.</summary>
    public int ActivityQueueCapacity { get; set; } = 5_000;

    /// <summary>The device name sent at enrollment (default: the host name).</summary>
    public string? DeviceName { get; set; }

    /// <summary>The abstract Unix socket name the service and the user-session helpers meet on (Linux).</summary>
    public string SessionSocketName { get; set; } = "homeroom-agent/session";

    /// <summary>The users whose session helpers the service takes; empty: the user signed in to the helper's session (its login uid).</summary>
    public IReadOnlySet<uint> SessionHelperUids { get; set; } = new HashSet<uint>();

    /// <summary>Linux: where <c>&lt;package&gt;_&lt;version&gt;_&lt;arch&gt;.deb</c> files a school distributes itself are installed from (else apt).</summary>
    public string PackageDirectory { get; set; } = "/var/cache/homeroom-agent/packages";

    /// <summary>How often the running processes are checked for blocked applications (only while the policy blocks any).</summary>
    public TimeSpan BlockScanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one <c>app.usage</c> stretch of the foreground application may grow before it is reported (and a new one starts).</summary>
    public TimeSpan UsageReportInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The systemctl asked whether the system is shutting down as the agent stops (null: found in /usr/bin or /bin).</summary>
    public string? SystemctlPath { get; set; }

    /// <summary>
    /// Linux: options passed to every <c>apt-get</c> run for OS updates. Not on the command line (the service uses
    /// the machine's apt configuration, /etc/apt/apt.conf.d for a proxy); the tests point apt at a repository of their own.
    /// </summary>
    public IReadOnlyList<string> AptOptions { get; set; } = [];

    /// <summary>
    /// Linux and macOS: the directory the browsers' policy paths (<c>etc/opt/chrome/policies/…</c>, <c>etc/firefox/policies/…</c>;
    /// <c>Library/Managed Preferences/…</c>, <c>Applications/Firefox.app/…</c>) are under: <c>/</c> on a device. Not on the
    /// command line; the tests point it at a directory of their own.
    /// </summary>
    public string BrowserPolicyRoot { get; set; } = "/";

    /// <summary>How often the OS is asked for its pending updates while connected (also at each connection when the last answer is older).</summary>
    public TimeSpan OsUpdateCheckInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>
    /// The domain of students' e-mail addresses (<c>userEmailDomain</c> in the config file, or <c>--user-email-domain</c>): when
    /// set, the signed-in account <c>ada</c> is reported as <c>ada@domain</c> as well as by its name; when not, by its name only
    /// (the server then matches it against roster ids).
    /// </summary>
    public string? UserEmailDomain { get; set; }

    /// <summary>How often the agent checks who is signed in when nothing told it (a helper connecting or leaving tells it at once).</summary>
    public TimeSpan SignedInUserPollInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a new program has, after a self-update, to connect and be welcomed (each attempt).</summary>
    public TimeSpan UpdateTrialTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many times a new program is started before the previous one is put back.</summary>
    public int UpdateAttempts { get; set; } = 3;

    /// <summary>The program file a self-update replaces (null: this process's own program file).</summary>
    public string? UpdateProgram { get; set; }

    /// <summary>The platform this build enrolls as.</summary>
    public static DevicePlatform Platform =>
        OperatingSystem.IsWindows() ? DevicePlatform.Windows : OperatingSystem.IsMacOS() ? DevicePlatform.MacOS : DevicePlatform.Linux;
}
