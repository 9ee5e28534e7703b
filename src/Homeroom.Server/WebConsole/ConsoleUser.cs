using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Microsoft.AspNetCore.Components.Authorization;

namespace Homeroom.Server.WebConsole;

/// <summary>The signed-in staff member of one console connection.</summary>
public sealed record ConsoleIdentity(StaffScope Scope, AuditActor Actor)
{
    public StaffUser User => Scope.User;

    public string DisplayName => Scope.DisplayName;

    public StaffRole Role => Scope.Role;

    /// <summary>Whether the role has a permission (pages show only what the staff member may use).</summary>
    public bool Can(Permission permission) => Scope.Can(permission);
}

/// <summary>
/// Who is using this console connection. Console actions run on a live connection, not an HTTP
/// request, so the staff member and their address are read once when the connection starts and
/// every action is audited under them (<see cref="RunAsync{T}"/>). Pages pass <see cref="ConsoleIdentity.Scope"/>
/// to the same use cases the API calls.
/// </summary>
public sealed class ConsoleUser(AuthenticationStateProvider authentication, IHttpContextAccessor http, Roster.SchoolTimeZones timeZones)
{
    private readonly string? _remoteAddress = http.HttpContext?.Connection.RemoteIpAddress?.ToString();
    private ConsoleIdentity? _identity;

    public async Task<ConsoleIdentity> GetAsync()
    {
        if (_identity is null)
        {
            var state = await authentication.GetAuthenticationStateAsync();
            var scope = StaffScope.Of(state.User);
            _identity = new ConsoleIdentity(scope, AuditActor.Of(scope, _remoteAddress));
        }

        return _identity;
    }

    /// <summary>How this staff member reads times: each school's rows in that school's zone (never bare UTC).</summary>
    public async Task<Roster.SchoolTimes> TimesAsync() => await timeZones.ForAsync((await GetAsync()).Scope);

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
