using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Enrollment;

/// <summary>Enrollment tokens over HTTP: thin calls into <see cref="EnrollmentTokenDirectory"/>.</summary>
public static class EnrollmentTokenEndpoints
{
    public static IEndpointRouteBuilder MapEnrollmentTokenEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/enrollment-tokens").WithTags("Enrollment");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadEnrollment);
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.EnrollmentToken, Permission.ReadEnrollment);
        group.MapPost("/", CreateAsync).RequireStaff(Permission.ManageEnrollment).ProducesValidationProblem();
        group.MapPost("/{id:guid}/revoke", RevokeAsync).RequireStaff(ScopedResource.EnrollmentToken, Permission.ManageEnrollment);
        return app;
    }

    private static async Task<Results<Ok<PagedResult<EnrollmentTokenDto>>, ValidationProblem>> ListAsync(
        StaffScope scope, EnrollmentTokenDirectory tokens, [AsParameters] PageQuery paging, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await tokens.ListAsync(scope, paging, cancellationToken));

    private static async Task<Results<Ok<EnrollmentTokenDto>, NotFound>> GetAsync(Guid id, StaffScope scope, EnrollmentTokenDirectory tokens, CancellationToken cancellationToken) =>
        await tokens.GetAsync(scope, id, cancellationToken) is { } token ? TypedResults.Ok(token) : TypedResults.NotFound();

    private static async Task<Created<CreatedEnrollmentTokenResponse>> CreateAsync(
        CreateEnrollmentTokenRequest request, StaffScope scope, EnrollmentTokenDirectory tokens, CancellationToken cancellationToken)
    {
        var created = await tokens.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/enrollment-tokens/{created.Id}", created);
    }

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(Guid id, StaffScope scope, EnrollmentTokenDirectory tokens, CancellationToken cancellationToken) =>
        await tokens.RevokeAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
