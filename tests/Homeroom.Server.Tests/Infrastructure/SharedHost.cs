using Homeroom.Server.Data;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// One server for all the tests of a class (an xunit class fixture: each class that names it gets its own),
/// for tests that do not need a fresh database: refused requests that store nothing, or tests that make
/// their own uniquely named resources and count only those. A server start is 0.3 to 1.5 s of CPU on the
/// 2-core test machine, so a theory of a dozen refused inputs spent most of its time starting servers.
/// Tests in one class run one after another, so a test still sees only its own changes happen.
/// </summary>
public abstract class SharedHost(DatabaseProvider provider, params string[] settings) : IAsyncLifetime
{
    public HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider, settings);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class SharedSqliteHost() : SharedHost(DatabaseProvider.Sqlite);

public sealed class SharedPostgresHost() : SharedHost(DatabaseProvider.Postgres);
