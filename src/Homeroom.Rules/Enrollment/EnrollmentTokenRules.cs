namespace Homeroom.Rules.Enrollment;

/// <summary>What an enrollment token allows right now.</summary>
public enum TokenVerdict
{
    /// <summary>The token may enroll a device.</summary>
    Usable,
    /// <summary>An administrator revoked it.</summary>
    Revoked,
    /// <summary>Its expiry has passed.</summary>
    Expired,
    /// <summary>It has enrolled as many devices as allowed.</summary>
    UsedUp,
}

/// <summary>The facts of a token that decide whether it is usable.</summary>
public readonly record struct TokenState(DateTime ExpiresAt, int? MaxUses, int UseCount, DateTime? RevokedAt);

/// <summary>Pure rules for enrollment tokens.</summary>
public static class EnrollmentTokenRules
{
    /// <summary>Decides whether a token may enroll one more device at <paramref name="now"/>.</summary>
    /// <remarks>Re-enrolling a device the token already enrolled does not need a free use; the caller passes <paramref name="isReenrollment"/>.</remarks>
    public static TokenVerdict Check(TokenState token, DateTime now, bool isReenrollment = false)
    {
        if (token.RevokedAt is not null)
        {
            return TokenVerdict.Revoked;
        }

        if (now >= token.ExpiresAt)
        {
            return TokenVerdict.Expired;
        }

        if (!isReenrollment && token.MaxUses is { } max && token.UseCount >= max)
        {
            return TokenVerdict.UsedUp;
        }

        return TokenVerdict.Usable;
    }
}
