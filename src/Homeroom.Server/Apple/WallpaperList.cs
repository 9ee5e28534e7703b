using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

/// <summary>The stored wallpapers by name, for the console's wallpaper action (staff who may read Apple settings).</summary>
public sealed class WallpaperList(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    public async Task<IReadOnlyList<WallpaperDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        if (!scope.Can(Permission.ReadApple))
        {
            return [];
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.AppleWallpapers.AsNoTracking().OrderBy(w => w.Name).Take(200)
            .Select(w => new WallpaperDto(w.Id, w.Name, w.ContentType, w.Content.Length, w.CreatedAt)).ToListAsync(cancellationToken);
    }
}
