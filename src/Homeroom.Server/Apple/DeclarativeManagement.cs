using System.Text.Json;
using Homeroom.Rules.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;

namespace Homeroom.Server.Apple;

/// <summary>
/// Apple's declarative device management, reached through the <c>DeclarativeManagement</c> check-in:
/// the device asks for the sync tokens, the declaration items, each declaration, and sends status
/// reports. The declarations come from the device's effective policy (<see cref="Declarations"/>).
/// </summary>
public static class DeclarativeManagement
{
    public const int MaxStatusBytes = 256 * 1024;

    public static async Task<IResult> HandleAsync(
        HomeroomDbContext db, AppleDevice device, Dictionary<string, object> message, ZoneMembership zones, FilterListStore lists, TimeProvider time, CancellationToken cancellationToken)
    {
        var endpoint = message.GetValueOrDefault("Endpoint") as string;
        if (endpoint is null || endpoint.Length > 300)
        {
            return Results.Text("Endpoint is missing.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (endpoint == "status")
        {
            if (message.GetValueOrDefault("Data") is not byte[] data || data.Length > MaxStatusBytes)
            {
                return Results.Text($"A status report is JSON data of at most {MaxStatusBytes / 1024} KB.", statusCode: StatusCodes.Status400BadRequest);
            }

            try
            {
                using var report = JsonDocument.Parse(data);
                if (report.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("not an object");
                }
            }
            catch (JsonException)
            {
                return Results.Text("The status report is not a JSON object.", statusCode: StatusCodes.Status400BadRequest);
            }

            device.DdmStatus = System.Text.Encoding.UTF8.GetString(data);
            device.DdmStatusAt = time.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
            return Results.Ok();
        }

        var document = await EffectivePolicies.DocumentAsync(db, device.DeviceId, zones, lists, time, cancellationToken);
        var declarations = Declarations.For(document, await Updates.UpdateDelivery.TargetForAsync(db, device.DeviceId, cancellationToken));
        var token = Declarations.Token(declarations);
        switch (endpoint)
        {
            case "tokens":
                return Results.Json(new Dictionary<string, object>
                {
                    ["SyncTokens"] = new Dictionary<string, object> { ["DeclarationsToken"] = token, ["Timestamp"] = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) },
                });
            case "declaration-items":
                List<object> Items(string kind) => declarations.Where(d => d.Kind == kind)
                    .Select(d => (object)new Dictionary<string, object> { ["Identifier"] = d.Identifier, ["ServerToken"] = d.ServerToken }).ToList();
                return Results.Json(new Dictionary<string, object>
                {
                    ["Declarations"] = new Dictionary<string, object>
                    {
                        ["Activations"] = Items("activation"),
                        ["Configurations"] = Items("configuration"),
                        ["Assets"] = Items("asset"),
                        ["Management"] = Items("management"),
                    },
                    ["DeclarationsToken"] = token,
                });
            default:
                // declaration/<kind>/<identifier>
                var parts = endpoint.Split('/');
                var found = parts is ["declaration", var kind, var identifier]
                    ? declarations.FirstOrDefault(d => d.Kind == kind && d.Identifier == identifier)
                    : null;
                return found is null ? Results.NotFound() : Results.Json(found.ToJson());
        }
    }
}
