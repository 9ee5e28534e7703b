using Homeroom.Rules.Insights;

namespace Homeroom.Rules.Tests.Insights;

/// <summary>
/// The sketch against exact counting (a HashSet) on many random streams: exact while sparse; within
/// four standard errors (±6.5%) once dense; merging equal to counting the union, in any split.
/// </summary>
public sealed class DistinctSketchTests
{
    private static readonly double Bound = 4 * DistinctSketch.StandardError;

    private static Guid RandomId(Random random)
    {
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }

    [Fact]
    public void Count_RandomStreams_MatchesExactCountingWithinTheBound()
    {
        var random = new Random(15);
        var worst = 0.0;
        for (var trial = 0; trial < 300; trial++)
        {
            // Small counts (the sparse form), around the switch, and up to 50,000 (the dense form).
            var distinct = trial % 3 switch { 0 => random.Next(0, DistinctSketch.SparseLimit + 1), 1 => random.Next(200, 2_000), _ => random.Next(2_000, 50_000) };
            var pool = Enumerable.Range(0, distinct).Select(_ => RandomId(random)).ToArray();
            var exact = new HashSet<Guid>();
            var sketch = new DistinctSketch();
            // Repeats: each id is added one to three times, in random order.
            foreach (var id in pool.Concat(pool.Where(_ => random.Next(2) == 0)).Concat(pool.Where(_ => random.Next(4) == 0)).OrderBy(_ => random.Next()))
            {
                exact.Add(id);
                sketch.Add(id);
            }

            var estimate = sketch.Count();
            if (exact.Count <= DistinctSketch.SparseLimit)
            {
                sketch.IsExact.ShouldBeTrue();
                estimate.ShouldBe(exact.Count, $"trial {trial}");
                continue;
            }

            var error = Math.Abs(estimate - exact.Count) / (double)exact.Count;
            worst = Math.Max(worst, error);
            error.ShouldBeLessThan(Bound, $"trial {trial}: {estimate} for {exact.Count}");
        }

        worst.ShouldBeGreaterThan(0, "the dense form was exercised");
    }

    [Fact]
    public void Merge_RandomSplits_EqualsTheSketchOfTheUnion()
    {
        var random = new Random(1015);
        for (var trial = 0; trial < 200; trial++)
        {
            var ids = Enumerable.Range(0, random.Next(0, trial % 2 == 0 ? 300 : 20_000)).Select(_ => RandomId(random)).ToArray();
            var whole = new DistinctSketch();
            var parts = Enumerable.Range(0, random.Next(1, 8)).Select(_ => new DistinctSketch()).ToArray();
            foreach (var id in ids)
            {
                whole.Add(id);
                // An id may land in several parts, as a student shows up in several daily rows.
                parts[random.Next(parts.Length)].Add(id);
                if (random.Next(5) == 0)
                {
                    parts[random.Next(parts.Length)].Add(id);
                }
            }

            var merged = new DistinctSketch();
            var mergedFromBytes = new DistinctSketch();
            foreach (var part in parts.OrderBy(_ => random.Next()))
            {
                // Through bytes, as the rollups store them; and straight from the bytes, as reports merge them.
                merged.Merge(DistinctSketch.FromBytes(part.ToBytes()));
                mergedFromBytes.MergeBytes(part.ToBytes());
            }

            merged.Count().ShouldBe(whole.Count(), $"trial {trial}");
            merged.ToBytes().ShouldBe(whole.ToBytes());
            mergedFromBytes.ToBytes().ShouldBe(whole.ToBytes(), $"trial {trial}, merged from bytes");
        }
    }

    [Fact]
    public void ToBytes_SmallSketch_StaysSmallAndRoundTrips()
    {
        var sketch = new DistinctSketch();
        for (var i = 0; i < 10; i++)
        {
            sketch.Add(Guid.NewGuid());
        }

        var bytes = sketch.ToBytes();
        bytes.Length.ShouldBe(81);
        DistinctSketch.FromBytes(bytes).Count().ShouldBe(10);
        DistinctSketch.FromBytes([]).Count().ShouldBe(0);
    }

    [Fact]
    public void FromBytes_Garbage_IsRefused()
    {
        Should.Throw<FormatException>(() => DistinctSketch.FromBytes([9, 1, 2]));
        Should.Throw<FormatException>(() => DistinctSketch.FromBytes([2, 1, 2]));
    }
}
