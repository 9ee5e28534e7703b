using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Policies;

/// <summary>Effective policy and its explanation, URL decisions, and compliance over HTTP: thin calls into <see cref="PolicyQueries"/>.</summary>
public static class PolicyEndpoints
{
    public static IEndpointRouteBuilder MapPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/devices/{id:guid}/policy", GetDevicePolicyAsync).WithTags("Policies").RequireStaff(ScopedResource.Device, Permission.ReadPolicies)
            .WithDescription("The device's effective policy now: each setting's value, the profile and assignment it came from, and what it overrode.");
        app.MapGet("/api/devices/{id:guid}/filter-check", CheckUrlAsync).WithTags("Filtering").RequireStaff(ScopedResource.Device, Permission.ReadPolicies)
            .ProducesValidationProblem()
            .WithDescription("Would this URL be blocked on this device now, and by which rule or category.");
        app.MapGet("/api/policies/compliance", ComplianceAsync).WithTags("Policies").RequireStaff(Permission.ReadPolicies)
            .WithDescription("Devices of your scope that have not applied their current policy version, or reported failures.");
        return app;
    }

    private static async Task<Results<Ok<DevicePolicyDto>, NotFound>> GetDevicePolicyAsync(Guid id, StaffScope scope, PolicyQueries policies, CancellationToken cancellationToken) =>
        await policies.DevicePolicyAsync(scope, id, cancellationToken) is { } policy ? TypedResults.Ok(policy) : TypedResults.NotFound();

    private static async Task<Results<Ok<FilterCheckDto>, NotFound>> CheckUrlAsync(Guid id, string? url, StaffScope scope, PolicyQueries policies, CancellationToken cancellationToken) =>
        await policies.CheckUrlAsync(scope, id, url ?? "", cancellationToken) is { } check ? TypedResults.Ok(check) : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<ComplianceDto>>, ValidationProblem>> ComplianceAsync(
        [AsParameters] PageQuery paging, StaffScope scope, PolicyQueries policies, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await policies.ComplianceAsync(scope, paging, cancellationToken));
}
