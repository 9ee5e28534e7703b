using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace Homeroom.Server.Data;

/// <summary>
/// Data protection and the node-wide secrets, by provider: on SQLite the key ring in <c>data/keys</c> and the secrets
/// in files (<see cref="PrivateKeyRepository"/>, <see cref="FileSecretStore"/>), as always; on PostgreSQL both in the
/// database, shared by every node (<see cref="DatabaseKeyRepository"/>, <see cref="DatabaseSecretStore"/>,
/// readied at start by <see cref="ClusterSecrets"/>). One application name, so every node's protectors match.
/// </summary>
public static class SecretsServiceCollectionExtensions
{
    public static IServiceCollection AddHomeroomSecrets(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("Homeroom");
        services.AddOptions<KeyManagementOptions>().Configure<DatabaseOptions, ClusterKey>((o, database, clusterKey) =>
            o.XmlRepository = database.Provider == DatabaseProvider.Postgres
                ? new DatabaseKeyRepository(database, clusterKey)
                : new PrivateKeyRepository(DataFiles.KeysDirectory(database.DataDirectory)));
        services.AddSingleton<ClusterKey>();
        services.AddSingleton<ClusterKeyRotation>();
        services.AddSingleton<SecretStore>(sp => sp.GetRequiredService<DatabaseOptions>() is var database && database.Provider == DatabaseProvider.Postgres
            ? new DatabaseSecretStore(database)
            : new FileSecretStore(database.DataDirectory));
        services.AddSingleton<ClusterSecrets>();
        return services;
    }
}
