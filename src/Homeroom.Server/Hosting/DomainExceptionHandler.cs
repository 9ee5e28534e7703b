using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Turns domain exceptions and bad request bodies into ProblemDetails. Anything else becomes a plain
/// 500 without exception text.
/// </summary>
public sealed class DomainExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            DomainException d => (d.StatusCode, d.Title, d.Message),
            BadHttpRequestException b => (b.StatusCode, "Bad request", b.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is too large." : "The request could not be read."),
            _ => (0, string.Empty, string.Empty),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        ProblemDetails details = exception is RequestValidationException validation
            ? new HttpValidationProblemDetails(validation.Errors) { Status = status, Title = title }
            : new ProblemDetails { Status = status, Title = title, Detail = detail };
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = details,
        });
    }
}
