using System.Text.Json;
using Homeroom.Agent.State;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// What the tests of the real agent against a real server start with: a server of their own (SQLite, with the
/// class's <paramref name="settings"/>), a relay in front of it that stands for the network, and a state directory
/// for the agent; and the agent's command line run the way the service's would be, with OS commands recorded.
/// </summary>
public abstract class AgentServerTest(params string[] settings) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    /// <summary>The network between agent and server: agents enroll through it, so a test can cut or hold it.</summary>
    protected TcpProxy Network { get; private set; } = null!;

    /// <summary>The agent's state directory (the agent creates it, 0700, inside the server's data directory).</summary>
    protected string StateDirectory { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, settings);
        Network = new TcpProxy(Host.BaseAddress);
        StateDirectory = Path.Combine(Host.Database.DataDirectory, "agent-state");
    }

    public virtual async Task DisposeAsync()
    {
        await Network.DisposeAsync();
        await Host.DisposeAsync();
    }

    /// <summary>Runs the agent's command line on <see cref="StateDirectory"/>.</summary>
    protected async Task<(int Code, string Output, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await AgentCli.RunAsync([.. args, "--state", StateDirectory], output, error, AgentUnderTest.Overrides(new RecordingRunner())).WaitAsync(HomeroomHost.Timeout);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Enrolls the agent through <see cref="Network"/> with <paramref name="token"/> (a new single-use one if null); returns its device id.</summary>
    protected async Task<Guid> EnrollAsync(string? token = null)
    {
        token ??= await Host.CreateTokenAsync(maxUses: 1);
        var (code, output, error) = await CliAsync("enroll", "--server", Network.Address.ToString(), "--token", token);
        code.ShouldBe(AgentCli.Ok, error);
        output.ShouldContain("Enrolled as device");
        return new UnixCredentialVault(new AgentPaths(StateDirectory)).Load()!.DeviceId!.Value;
    }

    /// <summary>Issues a command of <paramref name="kind"/> to the device; returns the command's id.</summary>
    protected async Task<Guid> IssueAsync(Guid deviceId, string kind, Dictionary<string, string>? arguments = null)
    {
        var command = await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind, arguments = arguments ?? [], deviceIds = new[] { deviceId } });
        return command.GetProperty("id").GetGuid();
    }

    /// <summary>The command's (one) delivery once it reaches <paramref name="status"/>; fails at once when it ends otherwise.</summary>
    protected async Task<JsonElement> WaitForDeliveryAsync(Guid commandId, string status)
    {
        JsonElement delivery = default;
        await Poll.UntilAsync(async () =>
        {
            delivery = (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}/deliveries")).GetProperty("items")[0];
            return delivery.GetProperty("status").GetString() is var now && (now == status || now is "failed" or "succeeded");
        }, HomeroomHost.Timeout);
        delivery.GetProperty("status").GetString().ShouldBe(status, delivery.ToString());
        return delivery;
    }
}
