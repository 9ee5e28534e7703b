using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Devices;

/// <summary>Devices over HTTP: thin calls into <see cref="DeviceDirectory"/>, <see cref="UpdateDevice"/> and <see cref="RevokeDevice"/>.</summary>
public static class DeviceEndpoints
{
    public static IEndpointRouteBuilder MapDeviceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/devices").WithTags("Devices");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadDevices);
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.Device, Permission.ReadDevices);
        group.MapGet("/{id:guid}/apps", ListAppsAsync).RequireStaff(ScopedResource.Device, Permission.ReadDevices);
        group.MapGet("/{id:guid}/commands", ListCommandsAsync).RequireStaff(ScopedResource.Device, Permission.ReadDevices);
        group.MapPatch("/{id:guid}", UpdateAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices).ProducesValidationProblem();
        group.MapPost("/{id:guid}/revoke", RevokeAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices);
        group.MapPost("/{id:guid}/approve-reenrollment", ApproveReenrollmentAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices)
            .WithDescription("Lets the device enroll again without its current credential (a wiped agent, a restored revoked device) for the approval window; one enrollment spends it.");
        group.MapGet("/{id:guid}/swap-candidates", SwapCandidatesAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices)
            .WithDescription("Spares in the spare pools of the device's school that could replace it: same platform and model first, then online, then most charged.");
        group.MapPost("/{id:guid}/swap", SwapAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Swaps an assigned device for a spare (the best candidate unless spareId is given) in one transaction; the device goes to repair with the reason as its note. 409 when no spare is available.");
        group.MapPost("/{id:guid}/return-to-pool", ReturnToPoolAsync).RequireStaff(ScopedResource.Device, Permission.ManageDevices)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Returns a device in repair to a spare pool of its school (groupId, or the first by name) as a spare.");
        app.MapGet("/api/repairs", ListRepairsAsync).WithTags("Devices").RequireStaff(Permission.ReadDevices)
            .WithDescription("Devices in repair with their repair note.");
        return app;
    }

    /// <summary>The device list's query string. A class with properties rather than a positional record: the request delegate generator cannot describe a record's nullable string parameters.</summary>
    public sealed class DeviceQuery
    {
        public int? Page { get; init; }

        public int? PageSize { get; init; }

        public string? Platform { get; init; }

        public string? State { get; init; }

        public Guid? SchoolId { get; init; }

        public Guid? GroupId { get; init; }

        public Guid? AssignedPersonId { get; init; }

        public bool? Online { get; init; }

        public string? Q { get; init; }

        public string? Sort { get; init; }
    }

    private static async Task<Results<Ok<PagedResult<DeviceSummaryDto>>, ValidationProblem>> ListAsync(
        [AsParameters] DeviceQuery query, StaffScope scope, DeviceDirectory devices, CancellationToken cancellationToken)
    {
        var paging = new PageQuery(query.Page, query.PageSize);
        var errors = paging.Validate() ?? [];
        if (query.Q is { Length: > DeviceDirectory.MaxSearchLength })
        {
            errors["q"] = [$"At most {DeviceDirectory.MaxSearchLength} characters."];
        }

        var sort = query.Sort ?? "name";
        if (!DeviceQueries.SortKeys.ContainsKey(sort.TrimStart('-')))
        {
            errors["sort"] = [$"Sort by one of {string.Join(", ", DeviceQueries.SortKeys.Keys)}; prefix with '-' for descending."];
        }

        QueryEnum.TryParse<DevicePlatform>(query.Platform, "platform", errors, out var platform);
        QueryEnum.TryParse<DeviceState>(query.State, "state", errors, out var state);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var filter = new DeviceFilter(platform, state, query.SchoolId, query.GroupId, query.AssignedPersonId, query.Online, query.Q, sort);
        return TypedResults.Ok(await devices.ListAsync(scope, filter, paging, cancellationToken));
    }

    private static async Task<Results<Ok<DeviceDetailDto>, NotFound>> GetAsync(Guid id, StaffScope scope, DeviceDirectory devices, CancellationToken cancellationToken) =>
        await devices.GetAsync(scope, id, cancellationToken) is { } device ? TypedResults.Ok(device) : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<DeviceAppDto>>, NotFound, ValidationProblem>> ListAppsAsync(
        Guid id, StaffScope scope, DeviceDirectory devices, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await devices.ListAppsAsync(scope, id, paging, cancellationToken) is { } apps ? TypedResults.Ok(apps) : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<PagedResult<DeviceCommandDto>>, NotFound, ValidationProblem>> ListCommandsAsync(
        Guid id, StaffScope scope, DeviceDirectory devices, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await devices.ListCommandsAsync(scope, id, paging, cancellationToken) is { } commands ? TypedResults.Ok(commands) : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<DeviceDetailDto>, NotFound>> UpdateAsync(
        Guid id, UpdateDeviceRequest request, StaffScope scope, UpdateDevice update, DeviceDirectory devices, CancellationToken cancellationToken) =>
        await update.ExecuteAsync(scope, id, request, cancellationToken) && await devices.GetAsync(scope, id, cancellationToken) is { } device
            ? TypedResults.Ok(device)
            : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(Guid id, StaffScope scope, RevokeDevice revoke, CancellationToken cancellationToken) =>
        await revoke.ExecuteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<IReadOnlyList<SwapCandidateDto>>, NotFound>> SwapCandidatesAsync(
        Guid id, StaffScope scope, SwapDevice swap, CancellationToken cancellationToken) =>
        await swap.CandidatesAsync(scope, id, cancellationToken) is { } candidates ? TypedResults.Ok(candidates) : TypedResults.NotFound();

    private static async Task<Results<Ok<SwapResultDto>, NotFound>> SwapAsync(
        Guid id, SwapRequest request, StaffScope scope, SwapDevice swap, CancellationToken cancellationToken) =>
        await swap.ExecuteAsync(scope, id, request, cancellationToken) is { } result ? TypedResults.Ok(result) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> ReturnToPoolAsync(
        Guid id, ReturnToPoolRequest request, StaffScope scope, DeviceRepairs repairs, CancellationToken cancellationToken) =>
        await repairs.ReturnToPoolAsync(scope, id, request, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<RepairDto>>, ValidationProblem>> ListRepairsAsync(
        StaffScope scope, DeviceRepairs repairs, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return TypedResults.Ok(await repairs.ListAsync(scope, paging, cancellationToken));
    }

    private static async Task<Results<Ok<ReenrollmentApprovalDto>, NotFound>> ApproveReenrollmentAsync(
        Guid id, StaffScope scope, ApproveReenrollment approve, CancellationToken cancellationToken) =>
        await approve.ExecuteAsync(scope, id, cancellationToken) is { } approval ? TypedResults.Ok(approval) : TypedResults.NotFound();
}
