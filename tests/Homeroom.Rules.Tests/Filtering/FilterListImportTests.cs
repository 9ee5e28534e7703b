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
