using System.Security.Claims;
using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// The signed-in staff member of one console connection, checked again while the connection lives:
/// every <see cref="AccountOptions.ConsoleRevalidationInterval"/>, and at once when this server ends
/// sessions of the account (<see cref="StaffSessions.Changed"/>). When the session no longer holds
/// (signed out, ended, expired, the account disabled or given other rights, its password changed
/// elsewhere), the connection becomes signed out and <see cref="ConsoleSessionGuard"/> reloads the page,
/// which then asks to sign in.
/// </summary>
public sealed class ConsoleAuthenticationStateProvider : RevalidatingServerAuthenticationStateProvider
{
    private static readonly AuthenticationState SignedOut = new(new ClaimsPrincipal(new ClaimsIdentity()));

    private readonly StaffSessions _sessions;
    private readonly IOptions<AccountOptions> _options;
    private readonly ILogger<ConsoleAuthenticationStateProvider> _logger;
    private readonly CancellationTokenSource _disposed = new();

    public ConsoleAuthenticationStateProvider(ILoggerFactory loggerFactory, StaffSessions sessions, IOptions<AccountOptions> options)
        : base(loggerFactory)
    {
        _sessions = sessions;
        _options = options;
        _logger = loggerFactory.CreateLogger<ConsoleAuthenticationStateProvider>();
        _sessions.Changed += OnSessionsChanged;
    }

    protected override TimeSpan RevalidationInterval => _options.Value.ConsoleRevalidationInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken) =>
        StaffSessions.SessionOf(authenticationState.User) is { } session && await _sessions.IsActiveAsync(session, cancellationToken);

    private void OnSessionsChanged(Guid accountId) => _ = CheckNowAsync(accountId);

    private async Task CheckNowAsync(Guid accountId)
    {
        try
        {
            var state = await GetAuthenticationStateAsync();
            if (state.User.Identity?.IsAuthenticated != true || StaffUser.From(state.User).Id != accountId)
            {
                return;
            }

            if (!await ValidateAuthenticationStateAsync(state, _disposed.Token))
            {
                SetAuthenticationState(Task.FromResult(SignedOut));
            }
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
            // The connection ended meanwhile.
        }
        catch (Exception ex)
        {
            // When in doubt, sign the connection out: the reload that follows checks the cookie properly.
            AccountsLog.ConsoleRevalidationFailed(_logger, ex);
            SetAuthenticationState(Task.FromResult(SignedOut));
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sessions.Changed -= OnSessionsChanged;
            _disposed.Cancel();
            _disposed.Dispose();
        }

        base.Dispose(disposing);
    }
}
