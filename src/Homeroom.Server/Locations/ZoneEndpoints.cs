using System.Text.Json;
using Homeroom.Rules.Zones;
using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Locations;

/// <summary>Zones in and out as GeoJSON over HTTP: thin calls into <see cref="ZoneDirectory"/>. The list is a FeatureCollection.</summary>
public static class ZoneEndpoints
{
    private const string GeoJson = "application/geo+json";

    public static IEndpointRouteBuilder MapZoneEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/zones").WithTags("Locations");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadPolicies).Produces(StatusCodes.Status200OK, contentType: GeoJson)
            .WithDescription("Every zone as a GeoJSON FeatureCollection.");
        group.MapGet("/{id:guid}", GetAsync).RequireStaff(Permission.ReadPolicies).Produces(StatusCodes.Status200OK, contentType: GeoJson).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).RequireStaff(Permission.ManageZones).Produces(StatusCodes.Status201Created, contentType: GeoJson).ProducesValidationProblem()
            .WithDescription("Creates a zone from a GeoJSON Feature; staff limited to a school create their school's zones.");
        group.MapPost("/import", ImportAsync).RequireStaff(Permission.ManageZones).Produces(StatusCodes.Status200OK, contentType: GeoJson).ProducesValidationProblem()
            .WithDescription($"Imports zones from a GeoJSON FeatureCollection (or one Feature), all or nothing: at most {GeoJsonZoneCollection.MaxFeatures} features. A feature whose id names a zone you may change replaces it; any other is a new zone. Answers the imported zones as a FeatureCollection.");
        group.MapGet("/{id:guid}/devices", DevicesInsideAsync).RequireStaff(Permission.ReadLocations).ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription($"Devices of your scope inside the zone now (at most {ZoneDirectory.MaxDevicesInside}, by name). Location data: for staff who read locations.");
        group.MapPut("/{id:guid}", UpdateAsync).RequireStaff(ScopedResource.Zone, Permission.ManageZones).Produces(StatusCodes.Status200OK, contentType: GeoJson).ProducesValidationProblem();
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(ScopedResource.Zone, Permission.ManageZones).ProducesProblem(StatusCodes.Status409Conflict);
        app.MapGet("/api/devices/{id:guid}/zones", DeviceZonesAsync).WithTags("Locations").RequireStaff(ScopedResource.Device, Permission.ReadLocations)
            .WithDescription("The device's state in each zone now (inside, outside), since when, and which signal decided: a GPS fix (with its accuracy) or a network range. Location data: audited.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<DeviceZoneDto>>, NotFound>> DeviceZonesAsync(Guid id, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        await zones.DeviceZonesAsync(scope, id, cancellationToken) is { } states ? TypedResults.Ok(states) : TypedResults.NotFound();

    private static async Task<IResult> ListAsync(StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        Results.Text((await zones.ListAsync(scope, cancellationToken)).ToJsonString(), GeoJson);

    private static async Task<IResult> GetAsync(Guid id, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        await zones.GetAsync(scope, id, cancellationToken) is { } zone ? Results.Text(zone.ToJsonString(), GeoJson) : TypedResults.NotFound();

    private static async Task<IResult> CreateAsync(JsonElement feature, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken)
    {
        var zone = await zones.CreateAsync(scope, feature, cancellationToken);
        return Results.Text(zone.ToJsonString(), GeoJson, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ImportAsync(JsonElement collection, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        Results.Text((await zones.ImportAsync(scope, collection, cancellationToken)).ToJsonString(), GeoJson);

    private static async Task<Results<Ok<IReadOnlyList<ZoneDeviceDto>>, NotFound>> DevicesInsideAsync(Guid id, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        await zones.DevicesInsideAsync(scope, id, cancellationToken) is { } devices ? TypedResults.Ok(devices) : TypedResults.NotFound();

    private static async Task<IResult> UpdateAsync(Guid id, JsonElement feature, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        await zones.UpdateAsync(scope, id, feature, cancellationToken) is { } zone ? Results.Text(zone.ToJsonString(), GeoJson) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, StaffScope scope, ZoneDirectory zones, CancellationToken cancellationToken) =>
        await zones.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
