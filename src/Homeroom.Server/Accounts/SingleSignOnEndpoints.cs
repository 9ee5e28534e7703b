using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Accounts;

/// <summary>The district's single sign-on mappings over HTTP: thin calls into <see cref="SignInMappings"/>.</summary>
public static class SingleSignOnEndpoints
{
    public static IEndpointRouteBuilder MapSingleSignOnEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/sign-in/mappings").WithTags("Accounts");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ManageSingleSignOn)
            .WithDescription("The configured OpenID Connect providers (Homeroom:SingleSignOn:Providers) and the district's mappings: which claim type and value " +
                "in a provider's ID token give which role and school, and whether a staff account is created at a first sign-in. District administrators only.");
        group.MapPut("/", ReplaceAsync).RequireStaff(Permission.ManageSingleSignOn).ProducesValidationProblem()
            .WithDescription($"Replaces every mapping: `mappings`, at most {SignInMappings.MaxMappings}, each `provider` (a configured provider's id), `claimType` " +
                $"(at most {SignInMappings.MaxClaimTypeLength} characters, such as groups, hd or tid), `claimValue` (at most {SignInMappings.MaxClaimValueLength}, compared exactly), " +
                "`role`, `schoolId` (none: the whole district; never for district administrators) and `createAccounts`. When several match a sign-in, the most " +
                "powerful role wins. District administrators only. Audited.");
        return app;
    }

    private static async Task<Ok<SignInMappingsDto>> ListAsync(StaffScope scope, SignInMappings mappings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mappings.ListAsync(scope, cancellationToken));

    private static async Task<Ok<SignInMappingsDto>> ReplaceAsync(SignInMappingsRequest request, StaffScope scope, SignInMappings mappings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mappings.ReplaceAsync(scope, request, cancellationToken));
}
