using Microsoft.AspNetCore.Components;

namespace Homeroom.Server.WebConsole;

/// <summary>
/// Sends a console connection to the sign-in page once. A signed-out connection is sent there both by
/// <see cref="ConsoleSessionGuard"/> and by the router's not-signed-in branch; two full-page loads
/// would cancel each other in the browser, so only the first one goes.
/// </summary>
public sealed class SignInNavigation(NavigationManager navigation)
{
    private bool _gone;

    /// <summary>Loads the sign-in page (coming back to <paramref name="returnUrl"/> afterwards), unless already on the way.</summary>
    public void Go(string? returnUrl = null)
    {
        if (_gone)
        {
            return;
        }

        _gone = true;
        navigation.NavigateTo(returnUrl is null ? "/login" : "/login?returnUrl=" + Uri.EscapeDataString(returnUrl), forceLoad: true);
    }
}
