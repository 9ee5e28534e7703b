using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>Which kind of OpenID provider a staff sign-in provider is: it decides which claim says the e-mail address is verified.</summary>
public enum SingleSignOnKind
{
    /// <summary>Any OpenID Connect issuer: the address counts as verified when <c>email_verified</c> is true.</summary>
    Generic,

    /// <summary>Google Workspace: <c>email_verified</c> true (Google sends it in the ID token).</summary>
    Google,

    /// <summary>Microsoft Entra ID: <c>email_verified</c> or the optional claim <c>xms_edov</c> (the e-mail domain is verified by the tenant) true.</summary>
    Entra,
}

/// <summary>One OpenID Connect provider staff may sign in with.</summary>
public sealed class SingleSignOnProviderOptions
{
    /// <summary>What the sign-in page's button says after "Sign in with".</summary>
    public string DisplayName { get; set; } = "";

    public SingleSignOnKind Kind { get; set; } = SingleSignOnKind.Generic;

    /// <summary>The issuer, whose <c>/.well-known/openid-configuration</c> is read (for Entra the tenant's v2.0 address, never <c>common</c>).</summary>
    public Uri? Authority { get; set; }

    public string ClientId { get; set; } = "";

    /// <summary>From configuration or a secret store (an environment variable, user secrets); never logged, never shown.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Scopes asked for besides <c>openid</c>; empty asks for <c>email</c> and <c>profile</c>.</summary>
    public string[] Scopes { get; set; } = [];

    /// <summary>Refuse an authority not on HTTPS. Off only for a provider on loopback (tests).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The scopes the sign-in asks for.</summary>
    public IReadOnlyList<string> EffectiveScopes => ["openid", .. (Scopes.Length == 0 ? ["email", "profile"] : Scopes.Where(s => s != "openid"))];
}

/// <summary>Staff single sign-on with OpenID Connect (configuration section <c>Homeroom:SingleSignOn</c>).</summary>
public sealed partial class SingleSignOnOptions : IValidatableObject
{
    public const string Section = "Homeroom:SingleSignOn";

    /// <summary>The providers by id (lower-case letters, digits and dashes: it names the callback path <c>/signin-oidc/{id}</c>).</summary>
    public Dictionary<string, SingleSignOnProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long a person may take at the provider before the answer is refused.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00")]
    public TimeSpan SignInTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The callback path of a provider.</summary>
    public static string CallbackPath(string providerId) => "/signin-oidc/" + providerId;

    /// <summary>The authentication scheme of a provider.</summary>
    public static string SchemeOf(string providerId) => "oidc-" + providerId;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (id, provider) in Providers)
        {
            var name = $"{nameof(Providers)}:{id}";
            if (!ProviderId().IsMatch(id))
            {
                yield return new ValidationResult($"{name}: a provider id is 1 to 32 lower-case letters, digits and dashes.", [nameof(Providers)]);
            }

            if (provider.DisplayName.Length is 0 or > 60)
            {
                yield return new ValidationResult($"{name}:DisplayName is required (at most 60 characters).", [nameof(Providers)]);
            }

            if (provider.Authority is not { IsAbsoluteUri: true } authority || (authority.Scheme != Uri.UriSchemeHttps && (provider.RequireHttpsMetadata || authority.Scheme != Uri.UriSchemeHttp)))
            {
                yield return new ValidationResult($"{name}:Authority must be an absolute https address.", [nameof(Providers)]);
            }

            if (provider.ClientId.Length is 0 or > 200)
            {
                yield return new ValidationResult($"{name}:ClientId is required (at most 200 characters).", [nameof(Providers)]);
            }

            if (provider.Scopes.Any(s => s.Length is 0 or > 100 || s.Any(char.IsWhiteSpace)))
            {
                yield return new ValidationResult($"{name}:Scopes must be single words of at most 100 characters.", [nameof(Providers)]);
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex ProviderId();
}

/// <summary>Checks <see cref="SingleSignOnOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class SingleSignOnOptionsValidator : IValidateOptions<SingleSignOnOptions>;
