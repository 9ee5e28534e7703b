using Homeroom.Server.Data;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>The kinds of resource an endpoint or page can name in its route, whose school the scope must reach.</summary>
public enum ScopedResource
{
    None,
    Device,
    Group,
    Person,
    School,
    Account,
    EnrollmentToken,
    Command,
    Alert,

    /// <summary>A zone the scope may change (its school's; district zones only district-wide).</summary>
    Zone,

    /// <summary>A profile the scope may change (its school's; district profiles only district-wide).</summary>
    Profile,

    /// <summary>An assignment the scope may change (on its school, or a group or device of it).</summary>
    Assignment,

    /// <summary>A safety alert of the scope's school (all for district-wide staff who read safety).</summary>
    SafetyAlert,

    /// <summary>An app assignment the scope may change (on its school, or a group or device of it).</summary>
    AppAssignment,

    /// <summary>A student's help request: its school's for school staff, their own classes' for a teacher.</summary>
    HelpRequest,
}

/// <summary>
/// Who may use an endpoint or a console page: a role permission (any of several), and optionally the
/// resource named by a route value (<see cref="RouteKey"/>), which must be within the caller's
/// <see cref="StaffScope"/>. One attribute for the API (<c>RequireStaff</c> on an endpoint)
/// and for console pages (<c>@attribute [RequireStaff(...)]</c>); checked in one place,
/// <see cref="StaffAuthorizationHandler"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class RequireStaffAttribute : AuthorizeAttribute
{
    public const string PolicyPrefix = "staff:";

    public RequireStaffAttribute(params Permission[] anyOf)
    {
        if (anyOf.Length == 0)
        {
            throw new ArgumentException("Name at least one permission.", nameof(anyOf));
        }

        // No authentication scheme here: console pages may not name one; the policy names it (StaffPolicyProvider).
        AnyOf = anyOf;
        UpdatePolicy();
    }

    public IReadOnlyList<Permission> AnyOf { get; }

    /// <summary>The resource the route names; <see cref="ScopedResource.None"/> when the endpoint touches none (or checks body references itself).</summary>
    public ScopedResource Resource
    {
        get;
        set
        {
            field = value;
            UpdatePolicy();
        }
    }

    /// <summary>The route value that holds the resource's id.</summary>
    public string RouteKey
    {
        get;
        set
        {
            field = value;
            UpdatePolicy();
        }
    } = "id";

    private void UpdatePolicy() => Policy = $"{PolicyPrefix}{string.Join(',', AnyOf)}:{Resource}:{RouteKey}";

    /// <summary>Reads a policy name back into a requirement; null when the name is not one of ours.</summary>
    public static StaffRequirement? Parse(string policyName)
    {
        if (!policyName.StartsWith(PolicyPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = policyName[PolicyPrefix.Length..].Split(':');
        if (parts.Length != 3 || !Enum.TryParse<ScopedResource>(parts[1], out var resource))
        {
            return null;
        }

        var permissions = new List<Permission>();
        foreach (var name in parts[0].Split(','))
        {
            if (!Enum.TryParse<Permission>(name, out var permission))
            {
                return null;
            }

            permissions.Add(permission);
        }

        return new StaffRequirement(permissions, resource, parts[2]);
    }
}

/// <summary>The requirement behind <see cref="RequireStaffAttribute"/>.</summary>
public sealed record StaffRequirement(IReadOnlyList<Permission> AnyOf, ScopedResource Resource, string RouteKey) : IAuthorizationRequirement;

/// <summary>The refusal for a resource outside the caller's scope: answered as "not found", so other schools' ids reveal nothing.</summary>
public sealed class OutOfScopeReason(IAuthorizationHandler handler) : AuthorizationFailureReason(handler, "The resource is outside your scope.");

/// <summary>The refusal for a role without the permission.</summary>
public sealed class MissingPermissionReason(IAuthorizationHandler handler, IReadOnlyList<Permission> anyOf)
    : AuthorizationFailureReason(handler, $"Your role does not allow this (needs {string.Join(" or ", anyOf)}).");

/// <summary>
/// The one check of who may do what, for which school: the role must hold one of the permissions,
/// and a resource named in the route must exist within the caller's scope (the same
/// <see cref="StaffScope"/> queries the use cases read through). A resource that does not exist at
/// all passes here and is answered 404 by the endpoint.
/// </summary>
public sealed class StaffAuthorizationHandler(IDbContextFactory<HomeroomDbContext> dbFactory) : AuthorizationHandler<StaffRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, StaffRequirement requirement)
    {
        if (!StaffScope.TryOf(context.User, out var scope))
        {
            return;
        }

        if (!requirement.AnyOf.Any(scope.Can))
        {
            context.Fail(new MissingPermissionReason(this, requirement.AnyOf));
            return;
        }

        // Without an id (an optional route value, a missing query parameter) there is nothing to check
        // here; the use case, which reads through the same scope, answers.
        if (requirement.Resource != ScopedResource.None && Guid.TryParse(RouteValue(context.Resource, requirement.RouteKey), out var id))
        {
            var cancellationToken = context.Resource is HttpContext http ? http.RequestAborted : CancellationToken.None;
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (await ScopedResources.CheckAsync(scope, requirement.Resource, id, db, cancellationToken) == ResourceAccess.OutOfScope)
            {
                context.Fail(new OutOfScopeReason(this));
                return;
            }
        }

        context.Succeed(requirement);
    }

    // The API passes the HttpContext (route values, then the query string); the console's router passes its RouteData.
    private static string? RouteValue(object? resource, string key) => resource switch
    {
        HttpContext http => http.GetRouteValue(key)?.ToString() ?? (http.Request.Query.TryGetValue(key, out var values) && values.Count == 1 ? values[0] : null),
        Microsoft.AspNetCore.Components.RouteData route => route.RouteValues
            .FirstOrDefault(v => string.Equals(v.Key, key, StringComparison.OrdinalIgnoreCase)).Value?.ToString(),
        _ => null,
    };
}

/// <summary>Whether a resource is within a scope.</summary>
public enum ResourceAccess
{
    InScope,
    OutOfScope,
    Missing,
}

/// <summary>Whether one resource is within a scope, by kind, using the scope's own queries.</summary>
public static class ScopedResources
{
    public static async Task<ResourceAccess> CheckAsync(StaffScope scope, ScopedResource kind, Guid id, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var inScope = kind switch
        {
            ScopedResource.Device => await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken),
            ScopedResource.Group => await scope.Groups(db).AnyAsync(g => g.Id == id, cancellationToken),
            ScopedResource.Person => await scope.People(db).AnyAsync(p => p.Id == id, cancellationToken),
            ScopedResource.School => await scope.Schools(db).AnyAsync(s => s.Id == id, cancellationToken),
            ScopedResource.Account => await scope.Accounts(db).AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.EnrollmentToken => await scope.EnrollmentTokens(db).AnyAsync(t => t.Id == id, cancellationToken),
            ScopedResource.Command => await scope.Commands(db).AnyAsync(c => c.Id == id, cancellationToken),
            ScopedResource.Alert => await scope.Alerts(db).AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.Zone => await scope.ManageableZones(db).AnyAsync(z => z.Id == id, cancellationToken),
            ScopedResource.Profile => await scope.ManageableProfiles(db).AnyAsync(p => p.Id == id, cancellationToken),
            ScopedResource.Assignment => await db.PolicyAssignments.AsNoTracking().Where(a => a.Id == id).Select(a => new { a.Level, a.ScopeKey }).FirstOrDefaultAsync(cancellationToken) is { } assignment
                && await scope.MayAssignAsync(db, assignment.Level, assignment.ScopeKey, cancellationToken),
            ScopedResource.SafetyAlert => await Safety.SafetyScope.SafetyAlerts(scope, db).AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.AppAssignment => await db.Set<Apps.AppAssignmentRecord>().AsNoTracking().Where(a => a.Id == id).Select(a => new { a.Level, a.ScopeKey }).FirstOrDefaultAsync(cancellationToken) is { } appAssignment
                && await scope.MayAssignAsync(db, appAssignment.Level, appAssignment.ScopeKey, cancellationToken),
            ScopedResource.HelpRequest => await Support.SupportScope.HelpRequests(scope, db).AnyAsync(r => r.Id == id, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        if (inScope)
        {
            return ResourceAccess.InScope;
        }

        var exists = kind switch
        {
            // A desktop's browser extension (a companion) is reached through its desktop only: for staff it does not exist.
            ScopedResource.Device => await db.Devices.AnyAsync(d => d.Id == id && d.CompanionOf == null, cancellationToken),
            ScopedResource.Group => await db.Groups.AnyAsync(g => g.Id == id, cancellationToken),
            ScopedResource.Person => await db.People.AnyAsync(p => p.Id == id, cancellationToken),
            ScopedResource.School => await db.Schools.AnyAsync(s => s.Id == id, cancellationToken),
            ScopedResource.Account => await db.StaffAccounts.AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.EnrollmentToken => await db.EnrollmentTokens.AnyAsync(t => t.Id == id, cancellationToken),
            ScopedResource.Command => await db.Commands.AnyAsync(c => c.Id == id, cancellationToken),
            ScopedResource.Alert => await db.Alerts.AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.Zone => await db.Zones.AnyAsync(z => z.Id == id, cancellationToken),
            ScopedResource.Profile => await db.Profiles.AnyAsync(p => p.Id == id, cancellationToken),
            ScopedResource.Assignment => await db.PolicyAssignments.AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.SafetyAlert => await db.Set<Safety.SafetyAlert>().AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.AppAssignment => await db.Set<Apps.AppAssignmentRecord>().AnyAsync(a => a.Id == id, cancellationToken),
            ScopedResource.HelpRequest => await db.Set<Support.HelpRequest>().AnyAsync(r => r.Id == id, cancellationToken),
            _ => false,
        };
        return exists ? ResourceAccess.OutOfScope : ResourceAccess.Missing;
    }
}

/// <summary>Builds the policy of a <see cref="RequireStaffAttribute"/> from its name; other names go to the default provider.</summary>
public sealed class StaffPolicyProvider(IOptions<AuthorizationOptions> options) : DefaultAuthorizationPolicyProvider(options)
{
    public override async Task<AuthorizationPolicy?> GetPolicyAsync(string policyName) =>
        RequireStaffAttribute.Parse(policyName) is { } requirement
            ? new AuthorizationPolicyBuilder(AccountsServiceCollectionExtensions.AuthScheme).RequireAuthenticatedUser().AddRequirements(requirement).Build()
            : await base.GetPolicyAsync(policyName);
}

/// <summary>
/// Answers refusals: a resource outside the scope is "not found" (404), a missing permission is 403,
/// each as ProblemDetails for the API and, for a console page, as the console with its "not available" page.
/// </summary>
public sealed class StaffAuthorizationResultHandler(IProblemDetailsService problemDetails) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var outOfScope = authorizeResult.AuthorizationFailure?.FailureReasons.OfType<OutOfScopeReason>().Any() == true;
        var status = outOfScope ? StatusCodes.Status404NotFound : StatusCodes.Status403Forbidden;
        // A console page typed into the address bar: the console itself loads, answered with the refusal's
        // status, and its router (checking the same rule on the live connection) shows the refusal inside
        // the console's layout. No page content is rendered for this request (pages render only on the
        // live connection, after their own check). The status is set as the answer starts: the console's
        // endpoint renders nothing for a request already marked "not found".
        if ((HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            && context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Components.Endpoints.ComponentTypeMetadata>() is not null)
        {
            context.Response.OnStarting(() =>
            {
                context.Response.StatusCode = status;
                return Task.CompletedTask;
            });
            await next(context);
            return;
        }

        context.Response.StatusCode = status;
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            var reason = authorizeResult.AuthorizationFailure?.FailureReasons.OfType<MissingPermissionReason>().FirstOrDefault()?.Message;
            await problemDetails.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = outOfScope
                    ? new ProblemDetails { Status = status, Title = "Not found" }
                    : new ProblemDetails { Status = status, Title = "Forbidden", Detail = reason ?? "Your role does not allow this." },
            });
            return;
        }

        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(outOfScope
            ? "<!DOCTYPE html><title>Not found · Homeroom</title><h1>Not found</h1><p>It does not exist, or it is outside your school.</p><p><a href=\"/\">Back to Homeroom</a></p>"
            : "<!DOCTYPE html><title>Not allowed · Homeroom</title><h1>Not allowed</h1><p>Your role does not give access to this page.</p><p><a href=\"/\">Back to Homeroom</a></p>");
    }
}

/// <summary>Declares endpoints' authorization rules and checks at start that none is missing.</summary>
public static class StaffAuthorization
{
    /// <summary>
    /// Requires staff with one of <paramref name="anyOf"/>, and that the <paramref name="resource"/> named
    /// by the route value <c>id</c> is within their scope. Declares the refusals in the OpenAPI document.
    /// </summary>
    public static TBuilder RequireStaff<TBuilder>(this TBuilder builder, ScopedResource resource, params Permission[] anyOf)
        where TBuilder : IEndpointConventionBuilder => builder.RequireStaffOn(resource, "id", anyOf);

    /// <summary>Requires staff with one of <paramref name="anyOf"/>; the endpoint names no resource in its route.</summary>
    public static TBuilder RequireStaff<TBuilder>(this TBuilder builder, params Permission[] anyOf)
        where TBuilder : IEndpointConventionBuilder => builder.RequireStaffOn(ScopedResource.None, "id", anyOf);

    /// <summary>
    /// Requires staff with one of <paramref name="anyOf"/>, and that the <paramref name="resource"/> whose id
    /// is in the route value (or query parameter) <paramref name="routeKey"/> is within their scope.
    /// </summary>
    public static TBuilder RequireStaffOn<TBuilder>(this TBuilder builder, ScopedResource resource, string routeKey, params Permission[] anyOf)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization(new RequireStaffAttribute(anyOf) { Resource = resource, RouteKey = routeKey });
        builder.WithMetadata(Problem(StatusCodes.Status401Unauthorized), Problem(StatusCodes.Status403Forbidden));
        if (resource != ScopedResource.None)
        {
            builder.WithMetadata(Problem(StatusCodes.Status404NotFound));
        }

        return builder;
    }

    private static ProducesResponseTypeMetadata Problem(int status) => new(status, typeof(ProblemDetails), ["application/problem+json"]);

    /// <summary>The console framework's own endpoints (its live connection and script files); everything else must state who may use it.</summary>
    private static readonly string[] InfrastructurePrefixes = ["/_blazor", "/_framework", "/_content", "/{**path:file}"];

    /// <summary>
    /// Fails start-up when an endpoint or console page states no rule: every route must carry
    /// <see cref="RequireStaffAttribute"/> or be explicitly anonymous.
    /// </summary>
    public static void VerifyEveryEndpointHasARule(IEndpointRouteBuilder app)
    {
        var missing = app.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => !e.Metadata.OfType<RequireStaffAttribute>().Any() && e.Metadata.GetMetadata<IAllowAnonymous>() is null)
            .Select(e => "/" + (e.RoutePattern.RawText ?? "").TrimStart('/'))
            .Where(path => !InfrastructurePrefixes.Any(p => path.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            .Distinct()
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"These endpoints state no authorization rule (RequireStaff or AllowAnonymous): {string.Join(", ", missing)}");
        }
    }
}
