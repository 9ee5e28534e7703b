using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

public sealed record ProfileRequest(string? Name, string? Description, JsonElement? Settings);

public sealed record ProfileDto(Guid Id, string Name, string? Description, JsonElement Settings, int Assignments, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record SettingDefinitionDto(string Key, SettingKind Kind, JsonElement Default, string Description, IReadOnlyList<string>? Choices, int? MaxItems);

/// <summary>Profiles: named bundles of settings. Every change is validated whole, audited, and redistributed.</summary>
public static class ProfileEndpoints
{
    /// <summary>Largest profile settings document, in UTF-8 bytes; the effective policy a device receives is at most 256 KB.</summary>
    public const int MaxSettingsBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapProfileEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/profiles").WithTags("Policies");
        group.MapGet("/", ListAsync);
        group.MapGet("/settings", Settings).WithDescription("Every setting a profile can hold, with its type, default and meaning.");
        group.MapGet("/{id:guid}", GetAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:guid}", UpdateAsync);
        group.MapDelete("/{id:guid}", DeleteAsync);
        return app;
    }

    private static Ok<List<SettingDefinitionDto>> Settings() => TypedResults.Ok(PolicySettings.All.Values
        .Select(d => new SettingDefinitionDto(d.Key, d.Kind, JsonSerializer.SerializeToElement(d.Default), d.Description, d.Choices, d.Kind == SettingKind.StringList ? d.MaxItems : null))
        .ToList());

    private static async Task<Ok<List<ProfileDto>>> ListAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var profiles = await db.Profiles.AsNoTracking().OrderBy(p => p.Name).ToListAsync(cancellationToken);
        var counts = await db.PolicyAssignments.GroupBy(a => a.ProfileId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        return TypedResults.Ok(profiles.Select(p => ToDto(p, counts.GetValueOrDefault(p.Id))).ToList());
    }

    private static async Task<Results<Ok<ProfileDto>, NotFound>> GetAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var profile = await db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        return profile is null
            ? TypedResults.NotFound()
            : TypedResults.Ok(ToDto(profile, await db.PolicyAssignments.CountAsync(a => a.ProfileId == id, cancellationToken)));
    }

    private static async Task<Results<Created<ProfileDto>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        ProfileRequest request, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, TimeProvider time, CancellationToken cancellationToken)
    {
        var (settingsJson, validation) = await ValidateAsync(request, db, null, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var profile = new Profile { Id = Guid.CreateVersion7(), Name = request.Name!.Trim(), Description = request.Description?.Trim(), SettingsJson = settingsJson!, CreatedAt = now, UpdatedAt = now };
        db.Profiles.Add(profile);
        audit.Record(db, "profile.create", "profile", profile.Id.ToString(), $"{profile.Name}: {settingsJson}");
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return TypedResults.Created($"/api/profiles/{profile.Id}", ToDto(profile, 0));
    }

    private static async Task<Results<Ok<ProfileDto>, NotFound, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, ProfileRequest request, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, TimeProvider time, CancellationToken cancellationToken)
    {
        var profile = await db.Profiles.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (profile is null)
        {
            return TypedResults.NotFound();
        }

        var (settingsJson, validation) = await ValidateAsync(request, db, id, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        // The new settings must not make two assignments of equal rank disagree.
        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var profiles = model.Profiles.ToDictionary();
        profiles[id] = PolicyModel.ToProfile(new Profile { Id = id, Name = request.Name!.Trim(), SettingsJson = settingsJson! });
        if (PolicyConflicts.Find(model.Assignments, profiles) is { Count: > 0 } conflicts)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflicting assignments", detail: string.Join(" ", conflicts));
        }

        profile.Name = request.Name!.Trim();
        profile.Description = request.Description?.Trim();
        profile.SettingsJson = settingsJson!;
        profile.UpdatedAt = time.GetUtcNow().UtcDateTime;
        audit.Record(db, "profile.update", "profile", id.ToString(), $"{profile.Name}: {settingsJson}");
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return TypedResults.Ok(ToDto(profile, model.Assignments.Count(a => a.ProfileId == id)));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, CancellationToken cancellationToken)
    {
        var profile = await db.Profiles.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (profile is null)
        {
            return TypedResults.NotFound();
        }

        // Its assignments go with it (ON DELETE CASCADE); devices fall back to what else applies.
        db.Profiles.Remove(profile);
        audit.Record(db, "profile.delete", "profile", id.ToString(), profile.Name);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return TypedResults.NoContent();
    }

    private static async Task<(string? SettingsJson, Validation Validation)> ValidateAsync(ProfileRequest request, HomeroomDbContext db, Guid? self, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 200).Optional("description", request.Description, 2000);
        if (request.Name is { } name && await db.Profiles.AnyAsync(p => p.Name == name.Trim() && p.Id != self, cancellationToken))
        {
            validation.Add("name", "Another profile has this name.");
        }

        if (request.Settings is not { } settings)
        {
            validation.Add("settings", "This field is required (an object; {} for none).");
            return (null, validation);
        }

        var (parsed, errors) = PolicySettings.Parse(settings);
        if (errors.Count > 0)
        {
            validation.Errors["settings"] = [.. errors];
            return (null, validation);
        }

        if (parsed.TryGetValue("location.allowedZones", out var zones))
        {
            var ids = zones.AsArray().Select(z => Guid.Parse(z!.GetValue<string>())).ToList();
            var known = await db.Zones.Where(z => ids.Contains(z.Id)).Select(z => z.Id).ToListAsync(cancellationToken);
            if (ids.Except(known).ToList() is { Count: > 0 } missing)
            {
                validation.Add("settings", $"location.allowedZones: no such zone {missing[0]}.");
            }
        }

        var json = PolicySettings.ToDocument(parsed).ToJsonString();
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxSettingsBytes)
        {
            validation.Add("settings", $"A profile's settings may take at most {MaxSettingsBytes / 1024} KB.");
        }

        return (json, validation);
    }

    private static ProfileDto ToDto(Profile p, int assignments)
    {
        using var document = JsonDocument.Parse(p.SettingsJson);
        return new ProfileDto(p.Id, p.Name, p.Description, document.RootElement.Clone(), assignments, p.CreatedAt, p.UpdatedAt);
    }
}
