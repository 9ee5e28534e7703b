using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Microsoft.AspNetCore.Components.Authorization;

namespace Homeroom.Server.WebConsole;

/// <summary>The signed-in staff member of one console connection.</summary>
public sealed record ConsoleIdentity(StaffUser User, string DisplayName, StaffScope Scope, AuditActor Actor)
{
    public StaffRole Role => Scope.Role;

    public bool Is(params StaffRole[] roles) => roles.Contains(Role);

    /// <summary>May this role change devices (commands, tokens)?</summary>
    public bool ManagesDevices => Is(StaffRole.DistrictAdmin, StaffRole.SchoolAdmin, StaffRole.ItTechnician);
}

/// <summary>
/// Who is using this console connection. Console actions run on a live connection, not an HTTP
/// request, so the staff member and their address are read once when the connection starts and
/// every action is audited under them (<see cref="RunAsync{T}"/>).
/// </summary>
public sealed class ConsoleUser(AuthenticationStateProvider authentication, IHttpContextAccessor http)
{
    private readonly string? _remoteAddress = http.HttpContext?.Connection.RemoteIpAddress?.ToString();
    private ConsoleIdentity? _identity;

    public async Task<ConsoleIdentity> GetAsync()
    {
        if (_identity is null)
        {
            var state = await authentication.GetAuthenticationStateAsync();
            var user = StaffUser.From(state.User);
            _identity = new ConsoleIdentity(user, StaffUser.DisplayNameOf(state.User), StaffScope.Of(state.User), new AuditActor(user.Id, user.Username, _remoteAddress));
        }

        return _identity;
    }

    /// <summary>Runs a staff action with the audit trail attributing it to this staff member.</summary>
    public async Task<T> RunAsync<T>(Func<ConsoleIdentity, Task<T>> action)
    {
        var identity = await GetAsync();
        using (AuditTrail.ActAs(identity.Actor))
        {
            return await action(identity);
        }
    }

    public Task RunAsync(Func<ConsoleIdentity, Task> action) => RunAsync<bool>(async identity =>
    {
        await action(identity);
        return true;
    });
}
