using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Policies;

public sealed record SettingDefinitionDto(string Key, SettingKind Kind, JsonElement Default, string Description, IReadOnlyList<string>? Choices, int? MaxItems, int? Min = null, int? Max = null);

/// <summary>Profiles over HTTP: thin calls into <see cref="ProfileDirectory"/>, and the catalogue of settings.</summary>
public static class ProfileEndpoints
{
    public static IEndpointRouteBuilder MapProfileEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/profiles").WithTags("Policies");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadPolicies);
        group.MapGet("/settings", Settings).RequireStaff(Permission.ReadPolicies).WithDescription("Every setting a profile can hold, with its type, default and meaning.");
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.ReadPolicies).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).RequireStaff(Permission.ManagePolicies).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPut("/{id:guid}", UpdateAsync).RequireStaff(ScopedResource.Profile, Permission.ManagePolicies).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(ScopedResource.Profile, Permission.ManagePolicies);
        return app;
    }

    private static Ok<List<SettingDefinitionDto>> Settings() => TypedResults.Ok(PolicySettings.All.Values
        .Select(d => new SettingDefinitionDto(d.Key, d.Kind, JsonSerializer.SerializeToElement(d.Default), d.Description, d.Choices, d.Kind == SettingKind.StringList ? d.MaxItems : null,
            d.Kind == SettingKind.Integer ? d.Min : null, d.Kind == SettingKind.Integer ? d.Max : null))
        .ToList());

    private static async Task<Ok<List<ProfileDto>>> ListAsync(StaffScope scope, ProfileDirectory profiles, CancellationToken cancellationToken) =>
        TypedResults.Ok(await profiles.ListAsync(scope, cancellationToken));

    private static async Task<Results<Ok<ProfileDto>, NotFound>> GetAsync(Guid id, StaffScope scope, ProfileDirectory profiles, CancellationToken cancellationToken) =>
        await profiles.GetAsync(scope, id, cancellationToken) is { } profile ? TypedResults.Ok(profile) : TypedResults.NotFound();

    private static async Task<Created<ProfileDto>> CreateAsync(ProfileRequest request, StaffScope scope, ProfileDirectory profiles, CancellationToken cancellationToken)
    {
        var profile = await profiles.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/profiles/{profile.Id}", profile);
    }

    private static async Task<Results<Ok<ProfileDto>, NotFound>> UpdateAsync(Guid id, ProfileRequest request, StaffScope scope, ProfileDirectory profiles, CancellationToken cancellationToken) =>
        await profiles.UpdateAsync(scope, id, request, cancellationToken) is { } profile ? TypedResults.Ok(profile) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, ProfileDirectory profiles, CancellationToken cancellationToken) =>
        await profiles.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
