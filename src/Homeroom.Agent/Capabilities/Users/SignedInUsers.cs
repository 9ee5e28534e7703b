using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Users;

/// <summary>
/// Turns the account at the screen into protocol v1's <see cref="SignedInUser"/>: <c>id</c> the account name (a roster id
/// when accounts are named after it) and, when <see cref="AgentOptions.UserEmailDomain"/> is set, <c>email</c>
/// <c>account@domain</c>. A name the contract refuses (too long, spaces, control characters) is not sent: the server
/// would close the connection over it, so the agent reports nobody instead and logs why.
/// </summary>
public static class SignedInUsers
{
    /// <summary>Longest e-mail domain accepted in the agent's configuration (a DNS name's limit).</summary>
    public const int MaxDomainLength = 253;

    /// <summary>The record to send for <paramref name="account"/>, or null (nobody, or refused: then <paramref name="refused"/> says why).</summary>
    public static SignedInUser? From(string? account, string? emailDomain, out string? refused)
    {
        refused = null;
        if (string.IsNullOrEmpty(account))
        {
            return null;
        }

        var user = new SignedInUser(emailDomain is { Length: > 0 } domain ? $"{account}@{domain}" : null, account);
        // The contract's own check, the one the server applies to the frame.
        refused = AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, SignedInUser: user));
        return refused is null ? user : null;
    }

    /// <summary>Whether <paramref name="domain"/> can follow an account name's <c>@</c> (letters, digits, dots and hyphens, a dot inside).</summary>
    public static bool IsEmailDomain(string? domain) =>
        domain is { Length: > 0 and <= MaxDomainLength }
        && domain.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-')
        && AgentFrameValidator.IsEmailShaped("a@" + domain);
}
