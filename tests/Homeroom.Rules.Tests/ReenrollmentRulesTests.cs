using Homeroom.Rules.Enrollment;

namespace Homeroom.Rules.Tests;

public sealed class ReenrollmentRulesTests
{
    private static readonly DateTime Now = new(2026, 9, 1, 8, 0, 0, DateTimeKind.Utc);
    private static readonly Guid North = Guid.Parse("0195a3b2-0000-7000-8000-00000000000a");
    private static readonly Guid South = Guid.Parse("0195a3b2-0000-7000-8000-00000000000b");

    private static ExistingDevice Device(Guid? school = null, bool revoked = false, DateTime? approvedUntil = null) => new(school, revoked, approvedUntil);

    [Fact]
    public void Check_NoDevice_IsNewDevice() =>
        ReenrollmentRules.Check(null, North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.NewDevice);

    [Fact]
    public void Check_ExistingDeviceWithoutProof_NeedsProof() =>
        ReenrollmentRules.Check(Device(North), North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.NeedsProof);

    [Fact]
    public void Check_ExistingDeviceWithItsCredential_IsSameDevice() =>
        ReenrollmentRules.Check(Device(North), North, provedIdentity: true, Now).ShouldBe(ReenrollmentVerdict.SameDevice);

    [Fact]
    public void Check_DistrictWideTokenForASchoolsDevice_IsNotAnotherSchool() =>
        ReenrollmentRules.Check(Device(North), null, provedIdentity: true, Now).ShouldBe(ReenrollmentVerdict.SameDevice);

    [Fact]
    public void Check_TokenOfAnotherSchool_IsRefusedEvenWithTheCredential() =>
        ReenrollmentRules.Check(Device(North), South, provedIdentity: true, Now).ShouldBe(ReenrollmentVerdict.OtherSchool);

    [Fact]
    public void Check_TokenOfAnotherSchool_IsRefusedEvenWhenApproved() =>
        ReenrollmentRules.Check(Device(North, approvedUntil: Now.AddHours(1)), South, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.OtherSchool);

    [Fact]
    public void Check_DeviceWithoutSchool_AcceptsAnySchoolsToken() =>
        ReenrollmentRules.Check(Device(null), South, provedIdentity: true, Now).ShouldBe(ReenrollmentVerdict.SameDevice);

    [Fact]
    public void Check_ApprovalNotLapsed_IsApprovedWithoutProof() =>
        ReenrollmentRules.Check(Device(North, approvedUntil: Now.AddMinutes(1)), North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.Approved);

    [Fact]
    public void Check_ApprovalAtItsEndInstant_HasLapsed() =>
        ReenrollmentRules.Check(Device(North, approvedUntil: Now), North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.NeedsProof);

    [Fact]
    public void Check_RevokedDevice_StaysRevokedEvenWithItsOldCredential() =>
        ReenrollmentRules.Check(Device(North, revoked: true), North, provedIdentity: true, Now).ShouldBe(ReenrollmentVerdict.Revoked);

    [Fact]
    public void Check_RevokedDeviceWithLapsedApproval_StaysRevoked() =>
        ReenrollmentRules.Check(Device(North, revoked: true, approvedUntil: Now.AddSeconds(-1)), North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.Revoked);

    [Fact]
    public void Check_RevokedDeviceWithApproval_IsApproved() =>
        ReenrollmentRules.Check(Device(North, revoked: true, approvedUntil: Now.AddHours(24)), North, provedIdentity: false, Now).ShouldBe(ReenrollmentVerdict.Approved);
}
