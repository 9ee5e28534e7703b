using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

public sealed record WallpaperDto(Guid Id, string Name, string ContentType, int Bytes, DateTime CreatedAt);

/// <summary>Wallpaper images for the <c>wallpaper</c> action: a PNG or JPEG of at most 2 MB, uploaded as the raw body.</summary>
public static class WallpaperEndpoints
{
    public const int MaxBytes = 2 * 1024 * 1024;

    public static IEndpointRouteBuilder MapWallpaperEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/apple/wallpapers").WithTags("Apple");
        group.MapGet("/", ListAsync).RequireStaff(Permission.ReadApple);
        group.MapPost("/", UploadAsync).RequireStaff(Permission.ManageApple).Accepts<Stream>("image/png", "image/jpeg").WithDescription("Uploads a PNG or JPEG (at most 2 MB) as the raw body; ?name= names it.");
        group.MapDelete("/{id:guid}", DeleteAsync).RequireStaff(Permission.ManageApple);
        return app;
    }

    private static async Task<Ok<List<WallpaperDto>>> ListAsync(HomeroomDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(await db.AppleWallpapers.AsNoTracking().OrderBy(w => w.Name)
            .Select(w => new WallpaperDto(w.Id, w.Name, w.ContentType, w.Content.Length, w.CreatedAt)).ToListAsync(cancellationToken));

    private static async Task<Results<Created<WallpaperDto>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        string? name, HttpContext context, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["A name of 1 to 200 characters is required."] });
        }


        if (await RequestBody.ReadLimitedAsync(context.Request, MaxBytes, cancellationToken) is not { } bytes)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: "A wallpaper may be at most 2 MB.");
        }

        var type = bytes.AsSpan().StartsWith((byte[])[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) ? "image/png"
            : bytes.AsSpan().StartsWith((byte[])[0xFF, 0xD8, 0xFF]) ? "image/jpeg"
            : null;
        if (type is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a PNG or JPEG image."] });
        }

        var wallpaper = new AppleWallpaper { Id = Guid.CreateVersion7(), Name = name.Trim(), ContentType = type, Content = bytes, CreatedAt = time.GetUtcNow().UtcDateTime };
        db.AppleWallpapers.Add(wallpaper);
        audit.Record(db, "wallpaper.upload", "wallpaper", wallpaper.Id.ToString(), $"{wallpaper.Name} ({bytes.Length} bytes)");
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/apple/wallpapers/{wallpaper.Id}", new WallpaperDto(wallpaper.Id, wallpaper.Name, type, bytes.Length, wallpaper.CreatedAt));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var name = await db.AppleWallpapers.Where(w => w.Id == id).Select(w => w.Name).FirstOrDefaultAsync(cancellationToken);
        if (name is null)
        {
            return TypedResults.NotFound();
        }

        await db.AppleWallpapers.Where(w => w.Id == id).ExecuteDeleteAsync(cancellationToken);
        audit.Record(db, "wallpaper.delete", "wallpaper", id.ToString(), name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }
}
