using Homeroom.Server.Data;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Homeroom.Server.Hosting;

/// <summary>
/// Turns domain exceptions, bad request bodies and writes that lost a race (a unique name taken
/// meanwhile, a referenced row deleted meanwhile: 409) into ProblemDetails. Anything else becomes a
/// plain 500 without exception text.
/// </summary>
public sealed class DomainExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            DomainException d => (d.StatusCode, d.Title, d.Message),
            _ when DatabaseErrors.IsUniqueViolation(exception) => (StatusCodes.Status409Conflict, "Conflict", "Something with the same name or identifier was created at the same time; nothing was changed."),
            _ when DatabaseErrors.IsForeignKeyViolation(exception) => (StatusCodes.Status409Conflict, "Conflict", "Something this refers to was removed meanwhile; nothing was changed."),
            BadHttpRequestException b => (b.StatusCode, "Bad request", b.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is too large." : "The request could not be read."),
            _ => (0, string.Empty, string.Empty),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        if (exception is ServiceBusyException busy)
        {
            httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(busy.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

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
