using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Keeps the OpenAPI document true for the answers every endpoint shares, which come back as
/// ProblemDetails from one handler: any request body can be malformed (400) or too large (413), and
/// any write can lose a race to another (a name taken or a row removed meanwhile: 409).
/// </summary>
public static class OpenApiDocument
{
    public static IServiceCollection AddHomeroomOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddOperationTransformer(DeclareBodyProblems));

    private static Task DeclareBodyProblems(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var hasBody = operation.RequestBody is not null
            || context.Description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body);
        operation.Responses ??= [];
        if (hasBody)
        {
            operation.Responses.TryAdd("400", new OpenApiResponse { Description = "The request could not be read or is not valid." });
            operation.Responses.TryAdd("413", new OpenApiResponse { Description = "The request body is too large." });
        }

        if (!HttpMethods.IsGet(context.Description.HttpMethod ?? "GET") && context.Description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true)
        {
            operation.Responses.TryAdd("409", new OpenApiResponse { Description = "Another change got there first (a name taken or a referenced item removed meanwhile); nothing was changed." });
        }

        return Task.CompletedTask;
    }
}
