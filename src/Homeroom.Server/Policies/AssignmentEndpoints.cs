using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Policies;

/// <summary>Assignments over HTTP: thin calls into <see cref="AssignmentDirectory"/>.</summary>
public static class AssignmentEndpoints
{
    public static IEndpointRouteBuilder MapAssignmentEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/assignments").WithTags("Policies");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadPolicies);
        group.MapPost("/", CreateAsync).RequireStaff(Permission.ManagePolicies).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/preview", PreviewAsync).RequireStaff(Permission.ManagePolicies).ProducesValidationProblem()
            .WithDescription("What saving this assignment would do, without saving: how many and which devices it reaches, and the conflicts (saving refused) and overrides it meets.");
        group.MapPut("/{id:guid}", UpdateAsync).RequireStaff(ScopedResource.Assignment, Permission.ManagePolicies).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(ScopedResource.Assignment, Permission.ManagePolicies);
        return app;
    }

    private static async Task<Ok<List<AssignmentDto>>> ListAsync(Guid? profileId, StaffScope scope, AssignmentDirectory assignments, CancellationToken cancellationToken) =>
        TypedResults.Ok(await assignments.ListAsync(scope, profileId, cancellationToken));

    private static async Task<Ok<AssignmentPreviewDto>> PreviewAsync(AssignmentPreviewRequest request, StaffScope scope, AssignmentDirectory assignments, CancellationToken cancellationToken) =>
        TypedResults.Ok(await assignments.PreviewAsync(scope, request, cancellationToken));

    private static async Task<Created<AssignmentDto>> CreateAsync(AssignmentRequest request, StaffScope scope, AssignmentDirectory assignments, CancellationToken cancellationToken)
    {
        var assignment = await assignments.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/assignments/{assignment.Id}", assignment);
    }

    private static async Task<Results<Ok<AssignmentDto>, NotFound>> UpdateAsync(Guid id, AssignmentRequest request, StaffScope scope, AssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.UpdateAsync(scope, id, request, cancellationToken) is { } assignment ? TypedResults.Ok(assignment) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, AssignmentDirectory assignments, CancellationToken cancellationToken) =>
        await assignments.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
