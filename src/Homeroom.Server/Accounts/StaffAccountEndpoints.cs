using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Accounts;

public sealed record CreateAccountRequest(string? Username, string? DisplayName, string? Password, StaffRole? Role, Guid? PersonId, Guid? SchoolId = null);

/// <summary>Changes to an account; each field left out stays. <see cref="Password"/> resets the password (and ends the account's sessions).</summary>
public sealed record UpdateAccountRequest(StaffRole? Role, Guid? PersonId, bool? Disabled, Guid? SchoolId = null, bool? District = null, string? Password = null);

public sealed record AccountDto(Guid Id, string Username, string DisplayName, StaffRole Role, Guid? PersonId, Guid? SchoolId, DateTime? DisabledAt, DateTime? LastSignInAt)
{
    public static AccountDto From(StaffAccount a) => new(a.Id, a.Username, a.DisplayName, a.Role, a.PersonId, a.SchoolId, a.DisabledAt, a.LastSignInAt);
}

/// <summary>Staff accounts over HTTP: thin calls into <see cref="StaffAccountDirectory"/>.</summary>
public static class StaffAccountEndpoints
{
    public static IEndpointRouteBuilder MapStaffAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/accounts").WithTags("Accounts");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadAccounts);
        group.MapPost("/", CreateAsync).RequireStaff(Permission.ManageAccounts).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPut("/{id:guid}", UpdateAsync).RequireStaff(ScopedResource.Account, Permission.ManageAccounts).ProducesValidationProblem();
        // A lost authenticator: an administrator turns the account's two-step sign-in off (audited; its sessions end).
        group.MapDelete("/{id:guid}/two-step", ResetTwoStepAsync).RequireStaff(ScopedResource.Account, Permission.ManageAccounts);
        return app;
    }

    private static async Task<Ok<List<AccountDto>>> ListAsync(StaffScope scope, StaffAccountDirectory accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await accounts.ListAsync(scope, cancellationToken));

    private static async Task<Created<AccountDto>> CreateAsync(CreateAccountRequest request, StaffScope scope, StaffAccountDirectory accounts, CancellationToken cancellationToken)
    {
        var account = await accounts.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/accounts/{account.Id}", account);
    }

    private static async Task<Results<Ok<AccountDto>, NotFound>> UpdateAsync(
        Guid id, UpdateAccountRequest request, StaffScope scope, StaffAccountDirectory accounts, CancellationToken cancellationToken) =>
        await accounts.UpdateAsync(scope, id, request, cancellationToken) is { } account ? TypedResults.Ok(account) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> ResetTwoStepAsync(Guid id, StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken) =>
        await twoStep.ResetAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
