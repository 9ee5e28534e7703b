using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>Sessions and sign-in (configuration section <c>Homeroom:Accounts</c>).</summary>
public sealed class AccountOptions : IValidatableObject
{
    public const string Section = "Homeroom:Accounts";

    /// <summary>A session not used for this long ends (the cookie slides with use, and so does the stored session).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "30.00:00:00")]
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(8);

    /// <summary>No session lasts longer than this from sign-in, however often it is used.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "90.00:00:00")]
    public TimeSpan SessionMaxLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Ended sessions (signed out, ended, expired) are deleted this long after they ended.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "400.00:00:00")]
    public TimeSpan SessionRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How often the console's live connection checks its session again. Changes made on this server
    /// (sign-out, disabling the account, a new role or password) end the connection at once; this
    /// interval covers changes made by another server on the same database.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ConsoleRevalidationInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Mark the session cookie Secure whatever the request says. Off, it is Secure when the request is
    /// HTTPS (directly, or through a trusted proxy's X-Forwarded-Proto).
    /// </summary>
    public bool RequireSecureCookies { get; set; }

    /// <summary>
    /// District administrators must sign in in two steps (an authenticator code or a security key after the password). One
    /// who has not set it up yet signs in to a session that can only set it up (their account page).
    /// </summary>
    public bool RequireTwoStepForDistrictAdmins { get; set; }

    /// <summary>
    /// The address staff open the console at (<c>https://homeroom.example.org</c>): security keys are registered to its
    /// host name and their answers must come from it. Unset, each request's own scheme and host are used, which behind a
    /// reverse proxy are right only when the proxy is trusted and forwards them (X-Forwarded-Proto and -Host). A key
    /// registered under one host name does not work under another.
    /// </summary>
    public string? PublicOrigin { get; set; }

    /// <summary>Failed sign-ins for one name from one address before each further attempt must wait.</summary>
    [Range(1, 100)]
    public int SignInFreeAttempts { get; set; } = 3;

    /// <summary>The first wait; each further failure doubles it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SignInBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts for one name from one address.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SignInMaxDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures for one name from one address are forgotten this long after the last one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan SignInFailureMemory { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Most (name, address) pairs whose failures are remembered; the oldest are forgotten first.</summary>
    [Range(1000, 10_000_000)]
    public int SignInMaxTrackedPairs { get; set; } = 100_000;

    /// <summary>Sign-in attempts per minute from one client address (any name), answered 429 beyond.</summary>
    [Range(1, 100_000)]
    public int SignInsPerMinutePerAddress { get; set; } = 20;

    /// <summary>
    /// PBKDF2-SHA256 iterations for passwords hashed from now on (stored hashes keep their own count and
    /// still verify). Keep the default in production; the test hosts lower it so that seeding staff
    /// accounts does not dominate the suite's time.
    /// </summary>
    [Range(1_000, 10_000_000)]
    public int PasswordHashIterations { get; set; } = PasswordHasher.DefaultIterations;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SessionMaxLifetime < SessionIdleTimeout)
        {
            yield return new ValidationResult("SessionMaxLifetime must be at least SessionIdleTimeout.", [nameof(SessionMaxLifetime)]);
        }

        if (!string.IsNullOrEmpty(PublicOrigin)
            && (!Uri.TryCreate(PublicOrigin, UriKind.Absolute, out var origin) || origin.Scheme is not ("https" or "http") || origin.AbsolutePath != "/"
                || !string.IsNullOrEmpty(origin.Query) || System.Net.IPAddress.TryParse(origin.Host, out _)))
        {
            yield return new ValidationResult("PublicOrigin must be an http(s) address with a host name and no path, such as https://homeroom.example.org.", [nameof(PublicOrigin)]);
        }

        if (SignInMaxDelay < SignInBaseDelay)
        {
            yield return new ValidationResult("SignInMaxDelay must be at least SignInBaseDelay.", [nameof(SignInMaxDelay)]);
        }

        if (SignInFailureMemory < SignInMaxDelay)
        {
            yield return new ValidationResult("SignInFailureMemory must be at least SignInMaxDelay, or the longest wait could never be reached.", [nameof(SignInFailureMemory)]);
        }
    }
}

/// <summary>Checks <see cref="AccountOptions"/> at start (ranges and the rules between settings).</summary>
[OptionsValidator]
public sealed partial class AccountOptionsValidator : IValidateOptions<AccountOptions>;
