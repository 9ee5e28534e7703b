namespace Homeroom.Server.Hosting;

/// <summary>A rule of the domain was broken; mapped to ProblemDetails by <see cref="DomainExceptionHandler"/>.</summary>
public abstract class DomainException(string message) : Exception(message)
{
    public abstract int StatusCode { get; }
    public abstract string Title { get; }
}

public sealed class NotFoundException(string message) : DomainException(message)
{
    public override int StatusCode => StatusCodes.Status404NotFound;
    public override string Title => "Not found";
}

public sealed class ConflictException(string message) : DomainException(message)
{
    public override int StatusCode => StatusCodes.Status409Conflict;
    public override string Title => "Conflict";
}

/// <summary>Field errors found inside a use case; answered as a ValidationProblem (400).</summary>
public sealed class RequestValidationException(Dictionary<string, string[]> errors) : DomainException("One or more validation errors occurred.")
{
    public Dictionary<string, string[]> Errors { get; } = errors;
    public override int StatusCode => StatusCodes.Status400BadRequest;
    public override string Title => "One or more validation errors occurred.";
}

/// <summary>The staff member may not do this (not their class, not in session); answered 403 with the reason.</summary>
public sealed class ForbiddenException(string title, string message) : DomainException(message)
{
    public override int StatusCode => StatusCodes.Status403Forbidden;
    public override string Title { get; } = title;
}

/// <summary>An upload beyond its named limit; answered 413 with the limit.</summary>
public sealed class PayloadTooLargeException(string message) : DomainException(message)
{
    public override int StatusCode => StatusCodes.Status413PayloadTooLarge;
    public override string Title => "Too large";
}

/// <summary>
/// The server is too busy for this request now (too many devices enrolling at once); answered 503 with
/// <c>Retry-After</c>. Agents treat it like an unreachable server and try again after a pause.
/// </summary>
public sealed class ServiceBusyException(string message, TimeSpan retryAfter) : DomainException(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
    public override int StatusCode => StatusCodes.Status503ServiceUnavailable;
    public override string Title => "Busy";
}
