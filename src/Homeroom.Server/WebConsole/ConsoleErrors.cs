using Homeroom.Server.Hosting;

namespace Homeroom.Server.WebConsole;

/// <summary>The sentence a page shows for a refused action: the use case's own words, field errors joined.</summary>
public static class ConsoleErrors
{
    public static string Message(DomainException exception) =>
        exception is RequestValidationException validation ? string.Join(" ", validation.Errors.SelectMany(e => e.Value)) : exception.Message;
}
