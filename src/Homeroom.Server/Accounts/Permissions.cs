using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Accounts;

/// <summary>What a staff member is for. Stored as the camel-case name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StaffRole>))]
public enum StaffRole
{
    [JsonStringEnumMemberName("districtAdmin")] DistrictAdmin,
    [JsonStringEnumMemberName("schoolAdmin")] SchoolAdmin,
    [JsonStringEnumMemberName("itTechnician")] ItTechnician,
    [JsonStringEnumMemberName("teacher")] Teacher,
    [JsonStringEnumMemberName("safetyLead")] SafetyLead,
    [JsonStringEnumMemberName("readOnly")] ReadOnly,
}

/// <summary>
/// Who may call which part of the API, in one table: a path prefix, and the roles allowed to read
/// (GET) and to change (anything else). The first matching row decides; an /api path no row names is
/// for district administrators only. Finer rules (a teacher's own classes) are checked by the
/// endpoint itself. Least privilege: a teacher reaches only the classroom endpoints, a safety lead
/// the activity, alerts and tracks, read-only staff nothing personal and nothing that changes.
/// </summary>
public static class Permissions
{
    private static readonly StaffRole[] Admins = [StaffRole.DistrictAdmin, StaffRole.SchoolAdmin];
    private static readonly StaffRole[] Everyone = Enum.GetValues<StaffRole>();

    // Suffix: a segment the path must also contain (/api/groups/{id}/session).
    private sealed record Rule(string Prefix, string? Suffix, StaffRole[] Read, StaffRole[] Write);

    private static readonly Rule[] Rules =
    [
        new("/api/auth", null, Everyone, Everyone),
        new("/api/api-keys", null, Everyone, Everyone),
        new("/api/accounts", null, Admins, [StaffRole.DistrictAdmin]),
        new("/api/audit", null, Admins, []),
        new("/api/activity", null, [.. Admins, StaffRole.SafetyLead], []),
        new("/api/alerts", null, [.. Admins, StaffRole.SafetyLead, StaffRole.ItTechnician], [.. Admins, StaffRole.SafetyLead]),
        new("/api/devices/", "/locations", [.. Admins, StaffRole.SafetyLead], []),
        new("/api/groups/", "/session", [.. Admins, StaffRole.Teacher], [.. Admins, StaffRole.Teacher]),
        new("/api/groups/", "/screen", [.. Admins, StaffRole.Teacher], [.. Admins, StaffRole.Teacher]),
        new("/api/groups/", "/classroom", [.. Admins, StaffRole.Teacher], []),
        new("/api/groups/", "/commands", [.. Admins, StaffRole.Teacher], [.. Admins, StaffRole.Teacher]),
        new("/api/classes", null, [.. Admins, StaffRole.Teacher], []),
        new("/api/groups/", "/schedule", [.. Admins, StaffRole.Teacher, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
        new("/api/devices", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], [.. Admins, StaffRole.ItTechnician]),
        new("/api/commands", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], [.. Admins, StaffRole.ItTechnician]),
        new("/api/enrollment-tokens", null, [.. Admins, StaffRole.ItTechnician], [.. Admins, StaffRole.ItTechnician]),
        new("/api/apple", null, [.. Admins, StaffRole.ItTechnician], [.. Admins, StaffRole.ItTechnician]),
        new("/api/schools", null, [.. Admins, StaffRole.ItTechnician, StaffRole.SafetyLead, StaffRole.ReadOnly], Admins),
        new("/api/groups", null, [.. Admins, StaffRole.ItTechnician, StaffRole.SafetyLead, StaffRole.ReadOnly], Admins),
        new("/api/people", null, [.. Admins, StaffRole.ItTechnician, StaffRole.SafetyLead, StaffRole.ReadOnly], Admins),
        new("/api/profiles", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
        new("/api/assignments", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
        new("/api/zones", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
        new("/api/filter-lists", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
        new("/api/policies", null, [.. Admins, StaffRole.ItTechnician, StaffRole.ReadOnly], Admins),
    ];

    public const string RoleClaim = ClaimTypes.Role;

    /// <summary>The role of an authenticated principal.</summary>
    public static StaffRole RoleOf(ClaimsPrincipal user) =>
        Enum.TryParse<StaffRole>(user.FindFirstValue(RoleClaim), ignoreCase: true, out var role) ? role : StaffRole.ReadOnly;

    /// <summary>Whether a role may make this request.</summary>
    public static bool Allows(StaffRole role, string method, string path)
    {
        var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        foreach (var rule in Rules)
        {
            if (path.StartsWith(rule.Prefix, StringComparison.OrdinalIgnoreCase) && (rule.Suffix is null || path.Contains(rule.Suffix, StringComparison.OrdinalIgnoreCase)))
            {
                return (read ? rule.Read : rule.Write).Contains(role);
            }
        }

        return role == StaffRole.DistrictAdmin;
    }

    public static IApplicationBuilder UsePermissions(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path.Value ?? "";
        if (context.User.Identity?.IsAuthenticated == true && path.StartsWith("/api/", StringComparison.OrdinalIgnoreCase)
            && !Allows(RoleOf(context.User), context.Request.Method, path))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsJsonAsync(
                new ProblemDetails { Status = 403, Title = "Forbidden", Detail = "Your role does not allow this." },
                options: null, contentType: "application/problem+json");
            return;
        }

        await next();
    });
}
