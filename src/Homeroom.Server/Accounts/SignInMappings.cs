using System.Security.Claims;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// A single sign-on mapping: a person whose token from <see cref="Provider"/> carries the claim
/// <see cref="ClaimType"/> with exactly <see cref="ClaimValue"/> signs in with <see cref="Role"/> in
/// <see cref="SchoolId"/> (null: the whole district), and may get a new staff account when
/// <see cref="CreateAccounts"/> is set.
/// </summary>
public sealed class SignInMapping
{
    public Guid Id { get; set; }
    public required string Provider { get; set; }
    public required string ClaimType { get; set; }
    public required string ClaimValue { get; set; }
    public StaffRole Role { get; set; }
    public Guid? SchoolId { get; set; }
    public bool CreateAccounts { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class SignInMappingConfiguration : IEntityTypeConfiguration<SignInMapping>
{
    public void Configure(EntityTypeBuilder<SignInMapping> builder)
    {
        builder.ToTable("sign_in_mappings");
        builder.Property(m => m.Role).HasConversion(
            role => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(role.ToString()),
            text => Enum.Parse<StaffRole>(text, true));
    }
}

public sealed record SignInMappingDto(Guid Id, string Provider, string ClaimType, string ClaimValue, StaffRole Role, Guid? SchoolId, bool CreateAccounts)
{
    public static SignInMappingDto From(SignInMapping m) => new(m.Id, m.Provider, m.ClaimType, m.ClaimValue, m.Role, m.SchoolId, m.CreateAccounts);
}

/// <summary>One mapping as a district administrator writes it.</summary>
public sealed record SignInMappingItem(string? Provider, string? ClaimType, string? ClaimValue, StaffRole? Role, Guid? SchoolId = null, bool? CreateAccounts = null);

/// <summary>The district's whole list of mappings, replacing the one stored.</summary>
public sealed record SignInMappingsRequest(List<SignInMappingItem>? Mappings);

/// <summary>A configured provider, as the console offers it.</summary>
public sealed record SignInProviderDto(string Id, string DisplayName, SingleSignOnKind Kind);

public sealed record SignInMappingsDto(List<SignInProviderDto> Providers, List<SignInMappingDto> Mappings);

/// <summary>What the mappings grant a person signing in: the role and school of an account, and whether one may be created.</summary>
/// <param name="Grant">The mapping whose role and school the account gets; null when no mapping matches (refused).</param>
/// <param name="Create">The mapping a new account is created from; null when no matching mapping allows it.</param>
public readonly record struct SignInGrant(SignInMapping? Grant, SignInMapping? Create)
{
    /// <summary>
    /// The mappings of <paramref name="provider"/> whose claim the token carries (claim type and value
    /// compared exactly). When several match, the most powerful role wins (the order of
    /// <see cref="StaffRole"/>), then a district-wide one over a school's, so the answer never depends on
    /// the order rows were stored in.
    /// </summary>
    public static SignInGrant Resolve(IEnumerable<SignInMapping> mappings, string provider, IEnumerable<Claim> claims)
    {
        var carried = claims.Select(c => (c.Type, c.Value)).ToHashSet();
        var matching = mappings
            .Where(m => string.Equals(m.Provider, provider, StringComparison.Ordinal) && carried.Contains((m.ClaimType, m.ClaimValue)))
            .OrderBy(m => m.Role)
            .ThenBy(m => m.SchoolId is null ? 0 : 1)
            .ThenBy(m => m.ClaimType, StringComparer.Ordinal)
            .ThenBy(m => m.ClaimValue, StringComparer.Ordinal)
            .ThenBy(m => m.Id)
            .ToList();
        return new SignInGrant(matching.FirstOrDefault(), matching.FirstOrDefault(m => m.CreateAccounts));
    }
}

/// <summary>
/// The district's single sign-on mappings (<see cref="Permission.ManageSingleSignOn"/>, district-wide
/// staff only): read them, and replace them as a whole (audited).
/// </summary>
public sealed class SignInMappings(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time, IOptions<SingleSignOnOptions> options)
{
    public const int MaxMappings = 200;
    public const int MaxClaimTypeLength = 100;
    public const int MaxClaimValueLength = 300;

    /// <summary>The configured providers and the stored mappings.</summary>
    public async Task<SignInMappingsDto> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.Set<SignInMapping>().AsNoTracking().ToListAsync(cancellationToken);
        return new SignInMappingsDto(
            Providers(),
            rows.OrderBy(m => m.Provider, StringComparer.Ordinal).ThenBy(m => m.Role).ThenBy(m => m.ClaimType, StringComparer.Ordinal).ThenBy(m => m.ClaimValue, StringComparer.Ordinal)
                .Select(SignInMappingDto.From).ToList());
    }

    /// <summary>The providers configured on this server, by id.</summary>
    public List<SignInProviderDto> Providers() =>
        options.Value.Providers.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new SignInProviderDto(p.Key, p.Value.DisplayName, p.Value.Kind)).ToList();

    /// <summary>Replaces every mapping with <paramref name="request"/>'s (validated first: nothing changes on a bad one). Audited.</summary>
    public async Task<SignInMappingsDto> ReplaceAsync(StaffScope scope, SignInMappingsRequest request, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        var validation = new Validation();
        var items = request.Mappings;
        if (items is null)
        {
            validation.Add("mappings", "The list of mappings is required (an empty list removes them all).");
        }
        else if (items.Count > MaxMappings)
        {
            validation.Add("mappings", $"At most {MaxMappings} mappings.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (items is not null && validation.IsValid)
        {
            var schools = items.Where(i => i?.SchoolId is not null).Select(i => i.SchoolId!.Value).Distinct().ToList();
            var known = await db.Schools.Where(s => schools.Contains(s.Id)).Select(s => s.Id).ToListAsync(cancellationToken);
            var seen = new HashSet<(string?, string?, string?)>();
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var field = $"mappings[{i}]";
                if (item is null)
                {
                    validation.Add(field, "A mapping is required.");
                    continue;
                }

                validation.Required(field + ".provider", item.Provider, 32)
                    .Required(field + ".claimType", item.ClaimType, MaxClaimTypeLength)
                    .Required(field + ".claimValue", item.ClaimValue, MaxClaimValueLength);
                if (item.Provider is { Length: > 0 } provider && !options.Value.Providers.ContainsKey(provider))
                {
                    validation.Add(field + ".provider", $"No provider '{provider}' is configured (Homeroom:SingleSignOn:Providers).");
                }

                if (item.ClaimType is { Length: > 0 } type && type.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                {
                    validation.Add(field + ".claimType", "A claim type has no spaces or control characters.");
                }

                if (item.ClaimValue is { Length: > 0 } value && value.Any(char.IsControl))
                {
                    validation.Add(field + ".claimValue", "A claim value has no control characters.");
                }

                if (item.Role is not { } role || !Enum.IsDefined(role))
                {
                    validation.Add(field + ".role", "The role is required.");
                }
                else if (role == StaffRole.DistrictAdmin && item.SchoolId is not null)
                {
                    validation.Add(field + ".schoolId", "District administrators are never limited to a school.");
                }

                if (item.SchoolId is { } school && !known.Contains(school))
                {
                    validation.Add(field + ".schoolId", "No such school.");
                }

                if (!seen.Add((item.Provider, item.ClaimType, item.ClaimValue)))
                {
                    validation.Add(field, "The same provider, claim type and value appear twice.");
                }
            }
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var fresh = items!.Select(i => new SignInMapping
        {
            Id = Guid.CreateVersion7(),
            Provider = i.Provider!,
            ClaimType = i.ClaimType!,
            ClaimValue = i.ClaimValue!,
            Role = i.Role!.Value,
            SchoolId = i.SchoolId,
            CreateAccounts = i.CreateAccounts ?? false,
            CreatedAt = now,
        }).ToList();
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            await db.Set<SignInMapping>().ExecuteDeleteAsync(cancellationToken);
            db.Set<SignInMapping>().AddRange(fresh);
            audit.Record(db, "sign-in-mappings.replace", "sign-in-mappings", null,
                fresh.Count == 0 ? "no mappings" : string.Join("; ", fresh.Select(Describe)));
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        return await ListAsync(scope, cancellationToken);
    }

    /// <summary>The mappings of one provider, for a sign-in.</summary>
    internal static Task<List<SignInMapping>> ForProviderAsync(HomeroomDbContext db, string provider, CancellationToken cancellationToken) =>
        db.Set<SignInMapping>().AsNoTracking().Where(m => m.Provider == provider).ToListAsync(cancellationToken);

    private static string Describe(SignInMapping m)
    {
        var text = $"{m.Provider}: {m.ClaimType}={m.ClaimValue} -> {m.Role} in {m.SchoolId?.ToString() ?? "the district"}{(m.CreateAccounts ? ", creates accounts" : "")}";
        return text.Length <= 200 ? text : text[..200];
    }

    private static void EnsureMayManage(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageSingleSignOn);
        if (!scope.IsDistrictWide)
        {
            throw new ForbiddenException("Forbidden", "Single sign-on is a district matter.");
        }
    }
}
