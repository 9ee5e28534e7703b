using System.Diagnostics;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster.Rollover;

/// <summary>A rollover asked for: <see cref="DryRun"/> is required (an apply is never the default); <see cref="SchoolId"/> limits it to one school.</summary>
public sealed record RolloverRequest(bool? DryRun, Guid? SchoolId, bool? Force);

/// <summary>How many active students are in a grade before the rollover, and where they go: the next grade, or graduated (<see cref="To"/> null).</summary>
public sealed record RolloverGrade(int From, int? To, int Students);

/// <summary>
/// What a rollover would do (a dry run) or did: students promoted and graduated (per grade, with a few
/// names), devices taken back from graduates, and the classes archived (named up to
/// <see cref="SchoolYearRollover.MaxListedClasses"/>).
/// </summary>
public sealed record RolloverSummary(
    bool DryRun,
    Guid? SchoolId,
    int Promoted,
    int Graduated,
    int WithoutGrade,
    IReadOnlyList<RolloverGrade> Grades,
    IReadOnlyList<string> SamplePromoted,
    IReadOnlyList<string> SampleGraduated,
    int DevicesUnassigned,
    int ClassesArchived,
    IReadOnlyList<string> Classes,
    DateTime? AppliedAt);

/// <summary>
/// The school year rollover: every active student moves up a grade (pre-K -1 to K 0, ... 11 to 12),
/// students in grade 12 or above graduate (archived, not deleted; their devices are unassigned so they
/// can be issued again, history stays), and every active class is archived with its memberships.
/// Carts, spare pools, grade and custom groups stay. New classes come from the next OneRoster import.
/// Grade-level policy assignments follow the new grades; the devices are sent their policies again.
/// A second apply for an overlapping scope within <see cref="RepeatWindow"/> is refused unless forced.
/// </summary>
public sealed class SchoolYearRollover(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, TimeProvider time, ILogger<SchoolYearRollover> logger)
{
    public const int TopGrade = 12;
    public const int Samples = 10;
    public const int MaxListedClasses = 200;
    public const string AppliedAction = "roster.rollover";
    public const string DryRunAction = "roster.rollover.dryRun";

    /// <summary>How long an applied rollover blocks another one (a double click must not promote twice).</summary>
    public static readonly TimeSpan RepeatWindow = TimeSpan.FromHours(24);

    private readonly SemaphoreSlim _applying = new(1, 1);

    /// <summary>Reports what a rollover of <paramref name="schoolId"/> (or the whole district) would change, changing nothing.</summary>
    public async Task<RolloverSummary> DryRunAsync(StaffScope scope, Guid? schoolId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureSchoolAsync(db, scope, schoolId, cancellationToken);
        var summary = await SummarizeAsync(db, scope, schoolId, dryRun: true, appliedAt: null, cancellationToken);
        audit.Record(db, DryRunAction, schoolId is null ? "district" : "school", schoolId?.ToString(), Describe(summary), schoolId);
        await db.SaveChangesAsync(cancellationToken);
        return summary;
    }

    /// <summary>
    /// Applies the rollover in one transaction and answers what it did. Refused (<see cref="ConflictException"/>) when a
    /// rollover of the same school or the district was applied within <see cref="RepeatWindow"/>, unless <paramref name="force"/>.
    /// </summary>
    public async Task<RolloverSummary> ApplyAsync(StaffScope scope, Guid? schoolId, bool force, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSchools);
        await _applying.WaitAsync(cancellationToken);
        try
        {
            return await ApplyExclusiveAsync(scope, schoolId, force, cancellationToken);
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task<RolloverSummary> ApplyExclusiveAsync(StaffScope scope, Guid? schoolId, bool force, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureSchoolAsync(db, scope, schoolId, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // A write first, so that on SQLite this transaction holds the write lock before it reads what it changes.
        await Students(db, scope, schoolId).Where(p => p.Id == Guid.Empty).ExecuteUpdateAsync(s => s.SetProperty(p => p.GradeLevel, p => p.GradeLevel), cancellationToken);

        if (!force)
        {
            var since = now - RepeatWindow;
            var target = schoolId?.ToString();
            var previous = await db.AuditLog.AsNoTracking()
                .Where(a => a.Action == AppliedAction && a.At > since && (target == null || a.TargetId == null || a.TargetId == target))
                .OrderByDescending(a => a.At).FirstOrDefaultAsync(cancellationToken);
            if (previous is not null)
            {
                RolloverLog.Refused(logger, scope.Username, previous.At);
                throw new ConflictException(
                    $"A rollover was applied at {previous.At:yyyy-MM-dd HH:mm} UTC by {previous.ActorName}; another within {RepeatWindow.TotalHours:0} hours needs force.");
            }
        }

        var summary = await SummarizeAsync(db, scope, schoolId, dryRun: false, appliedAt: now, cancellationToken);

        // Graduates first (archived, their devices free to issue again), then everyone still active moves up a grade.
        var graduates = Students(db, scope, schoolId).Where(p => p.GradeLevel >= TopGrade).Select(p => (Guid?)p.Id);
        await db.Devices.Where(d => graduates.Contains(d.AssignedPersonId))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.AssignedPersonId, (Guid?)null), cancellationToken);
        await Students(db, scope, schoolId).Where(p => p.GradeLevel >= TopGrade)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.ArchivedAt, now), cancellationToken);
        await Students(db, scope, schoolId).Where(p => p.GradeLevel != null)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.GradeLevel, p => p.GradeLevel + 1), cancellationToken);
        await Classes(db, scope, schoolId).ExecuteUpdateAsync(s => s.SetProperty(g => g.ArchivedAt, now), cancellationToken);

        audit.Record(db, AppliedAction, schoolId is null ? "district" : "school", schoolId?.ToString(), Describe(summary), schoolId);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        RolloverLog.Applied(logger, scope.Username, schoolId, summary.Promoted, summary.Graduated, summary.ClassesArchived, watch.ElapsedMilliseconds);

        // Grade-level assignments resolve from the new grades; assignments to archived classes no longer reach their students' devices.
        policies.RequestAll();
        return summary;
    }

    private static async Task EnsureSchoolAsync(HomeroomDbContext db, StaffScope scope, Guid? schoolId, CancellationToken cancellationToken)
    {
        if (schoolId is { } id && !await scope.Schools(db).AnyAsync(s => s.Id == id, cancellationToken))
        {
            throw new RequestValidationException(new Dictionary<string, string[]> { ["schoolId"] = ["No such school."] });
        }
    }

    // Active (not archived) students of the school, or of the district.
    private static IQueryable<Person> Students(HomeroomDbContext db, StaffScope scope, Guid? schoolId)
    {
        var students = scope.People(db).Where(p => p.Kind == PersonKind.Student && p.ArchivedAt == null);
        return schoolId is { } id ? students.Where(p => p.SchoolId == id) : students;
    }

    // Active classes of the school, or of the district; carts, spare pools, grades and custom groups are not classes.
    private static IQueryable<Group> Classes(HomeroomDbContext db, StaffScope scope, Guid? schoolId)
    {
        var classes = scope.Groups(db).Where(g => g.Kind == GroupKind.Class && g.ArchivedAt == null);
        return schoolId is { } id ? classes.Where(g => g.SchoolId == id) : classes;
    }

    private static async Task<RolloverSummary> SummarizeAsync(
        HomeroomDbContext db, StaffScope scope, Guid? schoolId, bool dryRun, DateTime? appliedAt, CancellationToken cancellationToken)
    {
        var students = Students(db, scope, schoolId);
        var perGrade = await students.GroupBy(p => p.GradeLevel).Select(g => new { Grade = g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        var grades = perGrade.Where(g => g.Grade is not null).OrderBy(g => g.Grade)
            .Select(g => new RolloverGrade(g.Grade!.Value, g.Grade < TopGrade ? g.Grade + 1 : null, g.Count)).ToList();
        var graduated = grades.Where(g => g.To is null).Sum(g => g.Students);
        var promoted = grades.Sum(g => g.Students) - graduated;
        var withoutGrade = perGrade.Where(g => g.Grade is null).Sum(g => g.Count);

        var samplePromoted = await students.Where(p => p.GradeLevel < TopGrade).OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).ThenBy(p => p.Id)
            .Select(p => new { p.GivenName, p.FamilyName, p.GradeLevel }).Take(Samples).ToListAsync(cancellationToken);
        var sampleGraduated = await students.Where(p => p.GradeLevel >= TopGrade).OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).ThenBy(p => p.Id)
            .Select(p => new { p.GivenName, p.FamilyName }).Take(Samples).ToListAsync(cancellationToken);
        var graduateIds = students.Where(p => p.GradeLevel >= TopGrade).Select(p => (Guid?)p.Id);
        var devices = await db.Devices.CountAsync(d => graduateIds.Contains(d.AssignedPersonId) && d.CompanionOf == null, cancellationToken);

        var classes = Classes(db, scope, schoolId);
        var classCount = await classes.CountAsync(cancellationToken);
        var classNames = await classes.OrderBy(g => g.Name).ThenBy(g => g.Id).Select(g => g.Name).Take(MaxListedClasses).ToListAsync(cancellationToken);

        return new RolloverSummary(dryRun, schoolId, promoted, graduated, withoutGrade, grades,
            samplePromoted.Select(p => $"{p.GivenName} {p.FamilyName}: {GradeName(p.GradeLevel!.Value)} → {GradeName(p.GradeLevel.Value + 1)}").ToList(),
            sampleGraduated.Select(p => $"{p.GivenName} {p.FamilyName}").ToList(),
            devices, classCount, classNames, appliedAt);
    }

    public static string GradeName(int grade) => grade switch { -1 => "pre-K", 0 => "K", _ => $"grade {grade}" };

    private static string Describe(RolloverSummary s) =>
        $"{s.Promoted} promoted, {s.Graduated} graduated, {s.DevicesUnassigned} device(s) unassigned, {s.ClassesArchived} class(es) archived, {s.WithoutGrade} without a grade left as they are";
}
