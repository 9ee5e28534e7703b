using Homeroom.Rules.Enrollment;

namespace Homeroom.Rules.Tests;

public sealed class EnrollmentTokenRulesTests
{
    private static readonly DateTime Now = new(2026, 9, 1, 8, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Check_FreshToken_IsUsable() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(1), 10, 3, null), Now).ShouldBe(TokenVerdict.Usable);

    [Fact]
    public void Check_RevokedAndExpiredAndUsedUp_ReportsRevokedFirst() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(-1), 1, 1, Now.AddDays(-2)), Now).ShouldBe(TokenVerdict.Revoked);

    [Fact]
    public void Check_ExpiredAndUsedUp_ReportsExpired() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(-1), 1, 1, null), Now).ShouldBe(TokenVerdict.Expired);

    [Fact]
    public void Check_AtTheExpiryInstant_IsExpired() =>
        EnrollmentTokenRules.Check(new TokenState(Now, null, 0, null), Now).ShouldBe(TokenVerdict.Expired);

    [Fact]
    public void Check_AllUsesSpent_IsUsedUp() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(1), 2, 2, null), Now).ShouldBe(TokenVerdict.UsedUp);

    [Fact]
    public void Check_UnlimitedUses_NeverUsedUp() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(1), null, 1_000_000, null), Now).ShouldBe(TokenVerdict.Usable);

    [Fact]
    public void Check_ReenrollmentWithAllUsesSpent_IsUsable() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(1), 2, 2, null), Now, isReenrollment: true).ShouldBe(TokenVerdict.Usable);

    [Fact]
    public void Check_ReenrollmentWithExpiredToken_IsExpired() =>
        EnrollmentTokenRules.Check(new TokenState(Now.AddDays(-1), 2, 2, null), Now, isReenrollment: true).ShouldBe(TokenVerdict.Expired);
}
