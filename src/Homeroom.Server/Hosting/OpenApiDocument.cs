using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Keeps the OpenAPI document true for the answers every endpoint shares: any request body can be
/// malformed (400) or too large (413), and both come back as ProblemDetails from one handler, so
/// each operation with a body declares them.
/// </summary>
public static class OpenApiDocument
{
    public static IServiceCollection AddHomeroomOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddOperationTransformer(DeclareBodyProblems));

    private static Task DeclareBodyProblems(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var hasBody = operation.RequestBody is not null
            || context.Description.ParameterDescriptions.Any(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body);
        if (hasBody)
        {
            operation.Responses ??= [];
            operation.Responses.TryAdd("400", new OpenApiResponse { Description = "The request could not be read or is not valid." });
            operation.Responses.TryAdd("413", new OpenApiResponse { Description = "The request body is too large." });
        }

        return Task.CompletedTask;
    }
}
