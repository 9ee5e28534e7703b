using System.Security.Claims;

namespace Homeroom.Server.Accounts;

/// <summary>The signed-in staff member, read from the authenticated principal.</summary>
public sealed record StaffUser(Guid Id, string Username)
{
    public const string RoleClaim = ClaimTypes.Role;
    public const string AuthMethodClaim = "homeroom:auth_method";
    public const string PersonClaim = "homeroom:person";
    public const string SchoolClaim = "homeroom:school";
    public const string DisplayNameClaim = "homeroom:display_name";

    /// <summary>Present while the account must set up two-step sign-in before anything else (see <see cref="AccountOptions.RequireTwoStepForDistrictAdmins"/>).</summary>
    public const string TwoStepSetupClaim = "homeroom:two_step_setup";

    /// <summary>The server-side session a password sign-in began (see <see cref="StaffSessions"/>); API keys have none.</summary>
    public const string SessionClaim = "homeroom:session";

    /// <summary>The roster person of the signed-in account, if it is linked to one.</summary>
    public static Guid? PersonOf(ClaimsPrincipal principal) => Guid.TryParse(principal.FindFirstValue(PersonClaim), out var person) ? person : null;

    /// <summary>The name to show for the signed-in staff member (to students, for instance): the display name, else the username.</summary>
    public static string DisplayNameOf(ClaimsPrincipal principal) =>
        principal.FindFirstValue(DisplayNameClaim) is { Length: > 0 } name ? name : From(principal).Username;

    public static StaffUser From(ClaimsPrincipal principal)
    {
        var id = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var name = principal.FindFirstValue(ClaimTypes.Name);
        if (id is null || name is null || !Guid.TryParse(id, out var guid))
        {
            throw new InvalidOperationException("The request is not authenticated as a staff member.");
        }

        return new StaffUser(guid, name);
    }

    public static ClaimsPrincipal CreatePrincipal(StaffAccount account, string authMethod, string scheme) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, account.Id.ToString()),
                new Claim(ClaimTypes.Name, account.Username),
                new Claim(AuthMethodClaim, authMethod),
                new Claim(RoleClaim, account.Role.ToString()),
                new Claim(PersonClaim, account.PersonId?.ToString() ?? ""),
                new Claim(DisplayNameClaim, account.DisplayName),
                new Claim(SchoolClaim, account.Role == StaffRole.DistrictAdmin ? "" : account.SchoolId?.ToString() ?? ""),
            ],
            scheme));
}
