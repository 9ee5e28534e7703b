using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server.Circuits;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// Closes a console connection whose sign-in ended: when its authentication state becomes signed out
/// (<see cref="ConsoleAuthenticationStateProvider"/>), the browser loads the sign-in page, which ends the
/// connection. Every page goes, whether or not it declares a requirement, and nothing it showed stays
/// on screen. (Going to the sign-in page rather than reloading the page keeps a sign-out from this very
/// tab, whose form post is on its way there too, from ending on another address.)
/// </summary>
public sealed class ConsoleSessionGuard(AuthenticationStateProvider authentication, SignInNavigation signIn) : CircuitHandler, IDisposable
{
    // The connection's renderer context: navigation must run on it. Circuit handlers are called on it.
    private SynchronizationContext? _renderer;

    public override Task OnCircuitOpenedAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        _renderer = SynchronizationContext.Current;
        authentication.AuthenticationStateChanged += OnAuthenticationStateChanged;
        return Task.CompletedTask;
    }

    private void OnAuthenticationStateChanged(Task<AuthenticationState> state) => _ = ReloadIfSignedOutAsync(state);

    private async Task ReloadIfSignedOutAsync(Task<AuthenticationState> state)
    {
        if ((await state).User.Identity?.IsAuthenticated == true || _renderer is not { } renderer)
        {
            return;
        }

        renderer.Post(_ => signIn.Go(), null);
    }

    public void Dispose() => authentication.AuthenticationStateChanged -= OnAuthenticationStateChanged;
}
