namespace Homeroom.Server.Hosting;

/// <summary>Collects field errors for a ValidationProblem answer.</summary>
public sealed class Validation
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public Dictionary<string, string[]> Errors => _errors;

    public Validation Required(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            _errors[field] = ["This field is required."];
        }
        else
        {
            Optional(field, value, maxLength);
        }

        return this;
    }

    public Validation Optional(string field, string? value, int maxLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            _errors[field] = [$"Must be at most {maxLength} characters."];
        }
        else if (value is not null && value.Contains('\0', StringComparison.Ordinal))
        {
            // PostgreSQL refuses NUL in text; no name or label needs one.
            _errors[field] = ["Must not contain NUL characters."];
        }

        return this;
    }

    public Validation Range(string field, int? value, int min, int max)
    {
        if (value is not null && (value < min || value > max))
        {
            _errors[field] = [$"Must be between {min} and {max}."];
        }

        return this;
    }

    public Validation TimeZone(string field, string? value)
    {
        if (value is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(value, out _))
        {
            _errors[field] = ["Unknown time zone; use an IANA name such as America/Chicago."];
        }

        return this;
    }

    public Validation Add(string field, string message)
    {
        _errors[field] = [message];
        return this;
    }

    public Validation Check(bool condition, string field, string message) => condition ? this : Add(field, message);
}

/// <summary>Reads enum query parameters by name, ignoring case, with a clear error listing the allowed values.</summary>
public static class QueryEnum
{
    public static bool TryParse<TEnum>(string? value, string field, Dictionary<string, string[]> errors, out TEnum? result)
        where TEnum : struct, Enum
    {
        result = null;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        if (value.Length <= 64 && !char.IsAsciiDigit(value[0]) && Enum.TryParse<TEnum>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed))
        {
            result = parsed;
            return true;
        }

        var allowed = string.Join(", ", Enum.GetNames<TEnum>().Select(n => char.ToLowerInvariant(n[0]) + n[1..]));
        errors[field] = [$"Unknown value. Allowed: {allowed}."];
        return false;
    }
}
