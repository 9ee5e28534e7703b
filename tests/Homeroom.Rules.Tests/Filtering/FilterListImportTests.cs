using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Tests.Filtering;

public sealed class FilterListImportTests
{
    [Fact]
    public void ImportUt1Directory_SharedCopy_LoadsEveryCategory()
    {
        var directory = SharedData.PathOf("filter-lists/ut1");
        var builder = new FilterListBuilder();

        var report = FilterListImport.ImportUt1Directory(directory, builder);
        var list = builder.Build();

        list.Categories.Count.ShouldBe(Directory.GetDirectories(directory).Length);
        list.Categories.ShouldContain("gambling");
        report.Entries.ShouldBeGreaterThan(600_000);
        list.HostCount.ShouldBeGreaterThan(300_000, $"{list.HostCount} hosts, {report.SkippedLines} skipped, {list.UrlRuleCount} urls");
        list.UrlRuleCount.ShouldBeGreaterThan(10_000);
        report.SkippedLines.ShouldBeLessThan(report.Entries / 100);

        // Every listed domain of one category is blocked when that category is.
        var gambling = File.ReadLines(Path.Combine(directory, "gambling", "domains"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Take(2000)
            .ToList();
        var filter = WebFilter.Compile(list, new WebFilterSettings(["gambling"], [], [], [], false));
        foreach (var domain in gambling)
        {
            var explanation = filter.Explain("https://" + domain + "/");
            if (explanation.Error is null)
            {
                explanation.Blocked.ShouldBeTrue(domain);
            }
        }

        filter.Decide("https://www.wikipedia.org/").Blocked.ShouldBeFalse();
    }

    [Fact]
    public void ImportUt1Archive_TarGz_ReadsDomainsAndUrlsAndNotesExpressions()
    {
        using var archive = Ut1Archive(new()
        {
            ["blacklists/games/domains"] = "game.test\n# comment\n\nbad host\nplay.test\n",
            ["blacklists/games/urls"] = "videos.test/games\n",
            ["blacklists/games/expressions"] = "(poker|casino)\n",
            ["blacklists/README"] = "not a list",
        });
        var builder = new FilterListBuilder();

        var report = FilterListImport.ImportUt1Archive(archive, builder);
        var list = builder.Build();

        report.Entries.ShouldBe(3);
        report.SkippedLines.ShouldBe(1);
        report.Errors.Single().ShouldBe(new FilterListLineError("games/domains", 4, "A line holds one host or host/path."));
        report.Notes.ShouldContain(n => n.Contains("expressions", StringComparison.Ordinal));
        report.EntriesPerCategory.ShouldBe(new Dictionary<string, int> { ["games"] = 3 });
        var filter = WebFilter.Compile(list, new WebFilterSettings(["games"], [], [], [], false));
        filter.Decide("www.play.test").Blocked.ShouldBeTrue();
        filter.Decide("videos.test/games/1").Blocked.ShouldBeTrue();
        filter.Decide("videos.test/music").Blocked.ShouldBeFalse();
    }

    [Fact]
    public void ImportUt1Archive_NotAnArchive_ThrowsFormatError()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("this is not a tar file at all, just text........"));

        Should.Throw<FilterListFormatException>(() => FilterListImport.ImportUt1Archive(stream, new FilterListBuilder()));
    }

    [Fact]
    public void ImportUt1Archive_TruncatedGzip_ThrowsFormatError()
    {
        using var whole = Ut1Archive(new() { ["blacklists/games/domains"] = string.Join('\n', Enumerable.Range(0, 5000).Select(i => $"g{i}.test")) });
        var bytes = whole.ToArray();
        using var truncated = new MemoryStream(bytes[..(bytes.Length / 2)]);

        Should.Throw<FilterListFormatException>(() => FilterListImport.ImportUt1Archive(truncated, new FilterListBuilder()));
    }

    [Fact]
    public void ImportPlain_HostsFileAndPlainLines_ReportsBadLinesByNumber()
    {
        const string text = """
            # a hosts file
            0.0.0.0 ads.test tracker.test
            127.0.0.1 localhost
            plain.test
            https://withscheme.test/path
            this line is wrong
            exa%mple.test
            ok.test # trailing comment
            """;
        var builder = new FilterListBuilder();

        var report = FilterListImport.ImportPlain(new StringReader(text), "custom", builder);

        report.Entries.ShouldBe(5);
        report.Errors.Select(e => e.Line).ShouldBe([6, 7]);
        var filter = WebFilter.Compile(builder.Build(), new WebFilterSettings(["custom"], [], [], [], false));
        filter.Decide("a.ads.test").Blocked.ShouldBeTrue();
        filter.Decide("tracker.test").Blocked.ShouldBeTrue();
        filter.Decide("localhost").Blocked.ShouldBeFalse();
        filter.Decide("withscheme.test/path/x").Blocked.ShouldBeTrue();
        filter.Decide("ok.test").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void ImportPlain_OverlongLine_IsSkipped()
    {
        var text = new string('a', FilterListImport.MaxLineLength + 10) + ".test\nfine.test\n";
        var builder = new FilterListBuilder();

        var report = FilterListImport.ImportPlain(new StringReader(text), "x", builder);

        report.Entries.ShouldBe(1);
        report.Errors.Single().Line.ShouldBe(1);
    }

    [Fact]
    public void FilterListLineReader_RandomText_SplitsLikeReadLineAndDropsOnlyLongLines()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed);
            var text = new StringBuilder();
            while (text.Length < 60_000)
            {
                text.Append('x', rng.Next(4) == 0 ? rng.Next(0, 3000) : rng.Next(0, 40));
                text.Append(rng.Next(4) switch { 0 => "\r\n", 1 => "\r", _ => "\n" });
            }

            if (rng.Next(2) == 0)
            {
                text.Append('y', rng.Next(1, 10));
            }

            var expected = new List<string>();
            using (var plain = new StringReader(text.ToString()))
            {
                while (plain.ReadLine() is { } line)
                {
                    expected.Add(line);
                }
            }

            var reader = new FilterListLineReader(new StringReader(text.ToString()));
            var actual = new List<FilterListLine>();
            while (reader.TryRead(out var line))
            {
                actual.Add(line);
            }

            actual.Select(l => l.Number).ShouldBe(Enumerable.Range(1, expected.Count), $"seed {seed}");
            actual.Select(l => l.Text).ShouldBe(expected.Select(l => l.Length <= FilterListImport.MaxLineLength ? l : null), $"seed {seed}");
        }
    }

    [Fact]
    public void ImportPlain_LineOfHundredsOfMegabytes_IsSkippedWithItsNumberWithoutBeingHeld()
    {
        const long lineLength = 200L * 1024 * 1024;
        using var text = new StreamReader(GeneratedLists.Text("good.test\n", 'a', lineLength, "\r\nfine.test\n"));
        var builder = new FilterListBuilder();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        var report = FilterListImport.ImportPlain(text, "custom", builder);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        allocated.ShouldBeLessThan(8L * 1024 * 1024, $"{allocated:N0} bytes allocated to read a {lineLength:N0}-character line");
        report.Entries.ShouldBe(2);
        report.Errors.Single().ShouldBe(new FilterListLineError("custom", 2, $"The line is longer than {FilterListImport.MaxLineLength} characters."));
        WebFilter.Compile(builder.Build(), new WebFilterSettings(["custom"], [], [], [], false)).Decide("fine.test").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void ImportUt1Archive_LineOfHundredsOfMegabytes_IsSkippedWithItsNumberWithoutBeingHeld()
    {
        const long lineLength = 100L * 1024 * 1024;
        var archive = GeneratedLists.TarGz(
            ("blacklists/games/domains", GeneratedLists.Text("play.test\n", 'x', lineLength, "\ngame.test\n")),
            ("blacklists/games/urls", GeneratedLists.Text(string.Empty, 'y', 3000, "\nvideos.test/games\n")));
        using var stream = new MemoryStream(archive);
        var builder = new FilterListBuilder();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        var report = FilterListImport.ImportUt1Archive(stream, builder);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        allocated.ShouldBeLessThan(8L * 1024 * 1024, $"{allocated:N0} bytes allocated to read a {lineLength:N0}-character line");
        report.Entries.ShouldBe(3);
        report.Errors.Select(e => (e.Source, e.Line)).ShouldBe([("games/domains", 2), ("games/urls", 1)]);
        var filter = WebFilter.Compile(builder.Build(), new WebFilterSettings(["games"], [], [], [], false));
        filter.Decide("www.game.test").Blocked.ShouldBeTrue();
        filter.Decide("videos.test/games/1").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void ImportPlain_ExpandingBeyondTheLimit_ThrowsTooLargeWithoutHoldingIt()
    {
        var bomb = GeneratedLists.Gzip(GeneratedLists.Text("ok.test\n", 'z', FilterListImport.MaxDecompressedBytes, string.Empty));
        ((long)bomb.Length).ShouldBeLessThan(FilterListImport.MaxDecompressedBytes / 50);
        using var stream = new MemoryStream(bomb);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        Should.Throw<FilterListTooLargeException>(() => FilterListImport.ImportPlain(stream, "custom", new FilterListBuilder()));

        (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore).ShouldBeLessThan(8L * 1024 * 1024);
    }

    [Theory]
    [InlineData(TarEntryFormat.V7)]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.Pax)]
    [InlineData(TarEntryFormat.Gnu)]
    public void ImportUt1Archive_EveryTarFormat_ReadsNamesAndLists(TarEntryFormat format)
    {
        // Names longer than 100 bytes need ustar's prefix, a pax record or a GNU long-name entry.
        var folder = format == TarEntryFormat.V7 ? "blacklists" : "blacklists/" + new string('d', 120);
        using var output = new MemoryStream();
        using (var tar = new TarWriter(output, format, leaveOpen: true))
        {
            foreach (var (name, content) in new[] { ($"{folder}/games/domains", "game.test\n"), ($"{folder}/games/urls", "videos.test/games\n"), ($"{folder}/social_networks/domains", "social.test\r\nchat.test") })
            {
                var type = format == TarEntryFormat.V7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile;
                TarEntry entry = format switch
                {
                    TarEntryFormat.V7 => new V7TarEntry(type, name),
                    TarEntryFormat.Ustar => new UstarTarEntry(type, name),
                    TarEntryFormat.Pax => new PaxTarEntry(type, name),
                    _ => new GnuTarEntry(type, name),
                };
                entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                tar.WriteEntry(entry);
            }
        }

        output.Position = 0;
        var builder = new FilterListBuilder();

        var report = FilterListImport.ImportUt1Archive(output, builder);

        report.Entries.ShouldBe(4);
        var list = builder.Build();
        list.Categories.ShouldBe(["games", "social_networks"]);
        WebFilter.Compile(list, new WebFilterSettings(["social_networks"], [], [], [], false)).Decide("chat.test").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void ImportUt1Archive_PaxRecordDeclaringHundredsOfMegabytes_IsRefusedWithoutAllocatingThem()
    {
        // A tar header whose pax record claims 300 MB; the record's bytes are not even there.
        var header = new byte[512];
        Encoding.ASCII.GetBytes("PaxHeaders/domains").CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes(Convert.ToString(300L * 1024 * 1024, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
        header[156] = (byte)'x';
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
        Encoding.ASCII.GetBytes("        ").CopyTo(header, 148);
        Encoding.ASCII.GetBytes(Convert.ToString(header.Sum(b => b), 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        using var stream = new MemoryStream([.. header, .. Encoding.ASCII.GetBytes("30 path=blacklists/a/domains\n")]);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        Should.Throw<FilterListFormatException>(() => FilterListImport.ImportUt1Archive(stream, new FilterListBuilder()));

        (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore).ShouldBeLessThan(8L * 1024 * 1024);
    }

    [Fact]
    public void Build_HostInSeveralCategories_BelongsToAll()
    {
        var builder = new FilterListBuilder();
        var a = builder.AddCategory("a");
        var b = builder.AddCategory("b");
        var c = builder.AddCategory("c");
        builder.TryAdd(a, "shared.test", out _);
        builder.TryAdd(b, "shared.test", out _);
        builder.TryAdd(c, "other.test", out _);
        builder.TryAdd(b, "other.test", out _);
        var list = builder.Build();

        foreach (var category in new[] { "a", "b" })
        {
            WebFilter.Compile(list, new WebFilterSettings([category], [], [], [], false)).Decide("shared.test").Blocked.ShouldBeTrue(category);
        }

        WebFilter.Compile(list, new WebFilterSettings(["c"], [], [], [], false)).Decide("shared.test").Blocked.ShouldBeFalse();
        WebFilter.Compile(list, new WebFilterSettings(["c"], [], [], [], false)).Decide("other.test").Blocked.ShouldBeTrue();
    }

    [Fact]
    public void Build_CategoryAddedAfterASetOfCategoriesWasMet_KeepsItsOwnMeaning()
    {
        // A path listed by two categories makes the set {a, b} while the lists are still being read;
        // a category added afterwards must not take that set's id (it used to: "c" then listed every
        // host of both "a" and "b").
        var builder = new FilterListBuilder();
        var a = builder.AddCategory("a");
        var b = builder.AddCategory("b");
        builder.TryAdd(a, "videos.test/clips", out _).ShouldBeTrue();
        builder.TryAdd(b, "videos.test/clips", out _).ShouldBeTrue();
        builder.TryAdd(a, "both.test", out _).ShouldBeTrue();
        builder.TryAdd(b, "both.test", out _).ShouldBeTrue();
        var c = builder.AddCategory("c");
        builder.TryAdd(c, "c-only.test", out _).ShouldBeTrue();
        var list = builder.Build();

        var blockC = WebFilter.Compile(list, new WebFilterSettings(["c"], [], [], [], false));
        blockC.Decide("both.test").Blocked.ShouldBeFalse();
        blockC.Decide("videos.test/clips/1").Blocked.ShouldBeFalse();
        blockC.Explain("c-only.test").Category.ShouldBe("c");
        var blockB = WebFilter.Compile(list, new WebFilterSettings(["b"], [], [], [], false));
        blockB.Explain("www.both.test").Category.ShouldBe("b");
        blockB.Explain("videos.test/clips/1").Category.ShouldBe("b");
        blockB.Decide("c-only.test").Blocked.ShouldBeFalse();
    }

    [Fact]
    public void AddCategory_BadName_Throws()
    {
        Should.Throw<ArgumentException>(() => new FilterListBuilder().AddCategory("../etc"));
    }

    private static MemoryStream Ut1Archive(Dictionary<string, string> files)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip))
        {
            foreach (var (name, content) in files)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }

        output.Position = 0;
        return output;
    }
}
