using Homeroom.Rules.Throttling;

namespace Homeroom.Rules.Tests;

public sealed class TokenBucketTests
{
    private static long Seconds(double s) => (long)(s * TimeSpan.TicksPerSecond);

    [Fact]
    public void TryTake_BurstThenEmpty_RefusesUntilRefilled()
    {
        var bucket = new TokenBucket(ratePerSecond: 2, burst: 3, nowTicks: 0);

        bucket.TryTake(0).ShouldBeTrue();
        bucket.TryTake(0).ShouldBeTrue();
        bucket.TryTake(0).ShouldBeTrue();
        bucket.TryTake(0).ShouldBeFalse();
        bucket.TryTake(Seconds(0.4)).ShouldBeFalse();
        bucket.TryTake(Seconds(0.51)).ShouldBeTrue();
    }

    [Fact]
    public void TryTake_AfterLongIdle_NeverExceedsBurst()
    {
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 5, nowTicks: 0);

        var taken = Enumerable.Range(0, 20).Count(_ => bucket.TryTake(Seconds(3600)));

        taken.ShouldBe(5);
    }

    [Fact]
    public void TryTake_SustainedAtRate_IsAllowed()
    {
        var bucket = new TokenBucket(ratePerSecond: 20, burst: 1, nowTicks: 0);

        var allowed = Enumerable.Range(1, 100).Count(i => bucket.TryTake(Seconds(i * 0.05)));

        allowed.ShouldBe(100);
    }

    [Fact]
    public void TryTake_ClockGoesBackwards_AddsNoTokens()
    {
        var bucket = new TokenBucket(ratePerSecond: 1, burst: 1, nowTicks: Seconds(100));
        bucket.TryTake(Seconds(100)).ShouldBeTrue();

        bucket.TryTake(Seconds(50)).ShouldBeFalse();
        bucket.TryTake(Seconds(100.5)).ShouldBeFalse();
        bucket.TryTake(Seconds(101)).ShouldBeTrue();
    }

    [Fact]
    public void Constructor_InvalidRate_Throws()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new TokenBucket(0, 1, 0));
        Should.Throw<ArgumentOutOfRangeException>(() => new TokenBucket(1, 0.5, 0));
    }
}
