using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// On first start creates the <c>admin</c> account (password from <c>HOMEROOM_ADMIN_PASSWORD</c>,
/// or generated and printed once), and registers <c>HOMEROOM_BOOTSTRAP_API_KEY</c> for it when set.
/// Two nodes of a cluster starting together on a new database both try: the second insert breaks the
/// unique name (or key hash), and that node takes what the first stored.
/// </summary>
public sealed class AdminBootstrapper(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<AdminBootstrapper> logger,
    IOptions<AccountOptions> options)
{
    public const string AdminUsername = "admin";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var admin = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Username == AdminUsername, cancellationToken);
        if (admin is null && !await db.StaffAccounts.AnyAsync(cancellationToken))
        {
            var password = configuration["HOMEROOM_ADMIN_PASSWORD"];
            var generated = string.IsNullOrEmpty(password);
            if (generated)
            {
                password = Secrets.Create("")[..20];
            }

            admin = new StaffAccount
            {
                Id = Guid.CreateVersion7(),
                Username = AdminUsername,
                DisplayName = "Administrator",
                PasswordHash = PasswordHasher.Hash(password!, options.Value.PasswordHashIterations),
                CreatedAt = now,
            };
            db.StaffAccounts.Add(admin);
            var made = true;
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException e) when (DatabaseErrors.IsUniqueViolation(e))
            {
                // Another node made it at the same moment: that one counts, with its password.
                db.ChangeTracker.Clear();
                admin = await db.StaffAccounts.FirstAsync(a => a.Username == AdminUsername, cancellationToken);
                made = false;
            }

            if (made && generated)
            {
                // Printed once, on the console only, so it never lands in a log store.
                Console.WriteLine($"Homeroom created the account 'admin' with password: {password}");
                Console.WriteLine("Change it after signing in. It will not be shown again.");
            }

            if (made)
            {
                AccountsLog.AdminCreated(logger, generated);
            }
        }

        var bootstrapKey = configuration["HOMEROOM_BOOTSTRAP_API_KEY"];
        if (admin is not null && !string.IsNullOrEmpty(bootstrapKey))
        {
            var hash = Secrets.Hash(bootstrapKey);
            if (!await db.ApiKeys.AnyAsync(k => k.KeyHash == hash, cancellationToken))
            {
                db.ApiKeys.Add(new ApiKey
                {
                    Id = Guid.CreateVersion7(),
                    AccountId = admin.Id,
                    Name = "bootstrap (HOMEROOM_BOOTSTRAP_API_KEY)",
                    KeyHash = hash,
                    KeyPrefix = bootstrapKey[..Math.Min(6, bootstrapKey.Length)],
                    CreatedAt = now,
                });
                try
                {
                    await db.SaveChangesAsync(cancellationToken);
                    AccountsLog.BootstrapKeyRegistered(logger);
                }
                catch (DbUpdateException e) when (DatabaseErrors.IsUniqueViolation(e))
                {
                    db.ChangeTracker.Clear(); // another node registered it at the same moment
                }
            }
        }
    }
}
