using Homeroom.Rules.Commands;

namespace Homeroom.Rules.Tests;

public sealed class CommandLifecycleTests
{
    [Theory]
    [InlineData(DeliveryStatus.Queued, DeliveryStatus.Sent, true)]
    [InlineData(DeliveryStatus.Queued, DeliveryStatus.Succeeded, true)]
    [InlineData(DeliveryStatus.Sent, DeliveryStatus.Acknowledged, true)]
    [InlineData(DeliveryStatus.Acknowledged, DeliveryStatus.Failed, true)]
    [InlineData(DeliveryStatus.Sent, DeliveryStatus.Expired, true)]
    [InlineData(DeliveryStatus.Acknowledged, DeliveryStatus.Sent, false)]
    [InlineData(DeliveryStatus.Sent, DeliveryStatus.Sent, false)]
    [InlineData(DeliveryStatus.Succeeded, DeliveryStatus.Failed, false)]
    [InlineData(DeliveryStatus.Failed, DeliveryStatus.Expired, false)]
    [InlineData(DeliveryStatus.Expired, DeliveryStatus.Succeeded, false)]
    public void CanMove_OnlyForwardAndNeverFromFinal(DeliveryStatus from, DeliveryStatus to, bool expected) =>
        CommandLifecycle.CanMove(from, to).ShouldBe(expected);

    [Fact]
    public void IsFinal_ExactlySucceededFailedExpired() =>
        Enum.GetValues<DeliveryStatus>().Where(CommandLifecycle.IsFinal)
            .ShouldBe([DeliveryStatus.Succeeded, DeliveryStatus.Failed, DeliveryStatus.Expired]);

    [Fact]
    public void NeedsDelivery_ExactlyQueuedAndSent() =>
        Enum.GetValues<DeliveryStatus>().Where(CommandLifecycle.NeedsDelivery).ShouldBe([DeliveryStatus.Queued, DeliveryStatus.Sent]);

    [Fact]
    public void StoredValues_NeverChange() =>
        Enum.GetValues<DeliveryStatus>().Select(s => (int)s).ShouldBe([0, 1, 2, 3, 4, 5]);
}
