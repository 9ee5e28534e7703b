using Microsoft.AspNetCore.Http.Features;

namespace Homeroom.Server.Hosting;

/// <summary>Reads a request body whole, but never more than a limit, before anything is stored.</summary>
public static class RequestBody
{
    /// <summary>
    /// The body, or null when it is larger than <paramref name="limit"/> bytes (declared or actual).
    /// Kestrel's own body limit is lowered to the same value first, so a sender that keeps writing is cut off by the server too.
    /// </summary>
    public static async Task<byte[]?> ReadLimitedAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrelLimit)
        {
            kestrelLimit.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException)
        {
            return null; // Kestrel's own limit was hit first.
        }

        return buffer.ToArray();
    }
}

/// <summary>Day names in requests: monday to sunday, any case; numbers and lists are not days.</summary>
public static class DayNames
{
    public static bool TryParse(string? text, out DayOfWeek day)
    {
        day = default;
        return text is { Length: > 0 and <= 9 } && !char.IsAsciiDigit(text[0]) && !text.Contains(',', StringComparison.Ordinal)
            && Enum.TryParse(text, ignoreCase: true, out day) && Enum.IsDefined(day);
    }
}
