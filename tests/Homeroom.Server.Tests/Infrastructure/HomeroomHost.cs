using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A real Homeroom server on Kestrel at a free loopback port, on a fresh SQLite or PostgreSQL
/// database (already migrated: see <see cref="TestDatabase.CreateMigratedAsync"/>). <see cref="RestartAsync"/> stops it and starts a new process-equivalent host on the
/// same data, which is how the durability tests model a server restart.
/// </summary>
public sealed class HomeroomHost : IAsyncDisposable
{
    public const string ApiKey = "hrk_test-bootstrap-key-0123456789";
    public const string AdminPassword = "correct horse battery staple";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The PBKDF2 cost test hosts hash passwords with (production keeps <see cref="Homeroom.Server.Accounts.PasswordHasher.DefaultIterations"/>).</summary>
    public const int TestPasswordHashIterations = 1_000;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly string[] _extraArguments;
    private readonly bool _ownsDatabase;
    private readonly Action<IServiceCollection>? _services;
    private readonly string? _ownDataDirectory;
    private WebApplication? _app;

    private HomeroomHost(TestDatabase database, string[] extraArguments, bool ownsDatabase = true, Action<IServiceCollection>? services = null, string? ownDataDirectory = null)
    {
        Database = database;
        _ownDataDirectory = ownDataDirectory;
        _extraArguments = ownDataDirectory is null ? extraArguments : [.. extraArguments, $"--Homeroom:DataDirectory={ownDataDirectory}"];
        _ownsDatabase = ownsDatabase;
        _services = services;
    }

    public TestDatabase Database { get; }

    /// <summary>This server's data directory: the database's, or its own (<see cref="StartNodeWithOwnDataAsync"/>).</summary>
    public string DataDirectory => _ownDataDirectory ?? Database.DataDirectory;

    public ShiftedTimeProvider Clock { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public Uri AgentUri => new($"ws://{BaseAddress.Authority}/agent/v1");

    public IServiceProvider Services => _app!.Services;

    /// <summary>An HTTP client signed in with the bootstrap API key.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Starts a host. <paramref name="settings"/> are extra configuration pairs such as <c>Homeroom:Agents:AuthTimeoutSeconds=1</c>.</summary>
    public static Task<HomeroomHost> StartAsync(DatabaseProvider provider, params string[] settings) => StartAsync(provider, withDeviceCa: false, settings);

    /// <summary>
    /// Starts a host whose data directory already holds a device certificate authority (and the data-protection
    /// keys that encrypt it), made by the server's own code once per test process: see <see cref="DeviceCaTemplate"/>.
    /// For tests of MDM behaviour, not of how the CA file is written.
    /// </summary>
    public static Task<HomeroomHost> StartWithDeviceCaAsync(DatabaseProvider provider, params string[] settings) => StartAsync(provider, withDeviceCa: true, settings);

    /// <summary>Starts a host with services of the test's own besides the server's (a test job).</summary>
    public static Task<HomeroomHost> StartAsync(DatabaseProvider provider, Action<IServiceCollection> services, params string[] settings) =>
        StartAsync(provider, withDeviceCa: false, settings, services);

    /// <summary>
    /// Starts a second node of a cluster: another server on the database (and data directory, so the same keys) of
    /// <paramref name="first"/>. It leaves the database to <paramref name="first"/>: dispose it before that one.
    /// </summary>
    public static Task<HomeroomHost> StartNodeAsync(HomeroomHost first, params string[] settings) => first.StartAnotherNodeAsync(null, settings);

    /// <summary>
    /// Starts another node of <paramref name="first"/>'s cluster as on another machine: on its database, with a data
    /// directory of its own (removed when the node is disposed) holding only the cluster key copied from
    /// <paramref name="first"/> (<c>keys/cluster.key</c>, when it has one), as an operator adding a node copies it.
    /// </summary>
    public static async Task<HomeroomHost> StartNodeWithOwnDataAsync(HomeroomHost first, params string[] settings)
    {
        var directory = NewDataDirectory();
        var clusterKey = Path.Combine(first.DataDirectory, "keys", "cluster.key");
        if (File.Exists(clusterKey))
        {
            CopyPrivate(clusterKey, Path.Combine(directory, "keys", "cluster.key"));
        }

        return await StartNodeAsync(first.Database, directory, settings);
    }

    /// <summary>
    /// Starts a node on <paramref name="database"/> (which stays the caller's to dispose) with <paramref name="dataDirectory"/>
    /// as its own data directory, removed when the node is disposed.
    /// </summary>
    public static async Task<HomeroomHost> StartNodeAsync(TestDatabase database, string dataDirectory, params string[] settings)
    {
        var host = new HomeroomHost(database, settings.Select(s => "--" + s).ToArray(), ownsDatabase: false, ownDataDirectory: dataDirectory);
        try
        {
            await host.StartAppAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>A new empty owner-only directory for a node's data.</summary>
    public static string NewDataDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", "node-" + Guid.NewGuid().ToString("N"));
        DataFiles.CreatePrivateDirectory(directory);
        return directory;
    }

    /// <summary>Copies a file owner-only, creating its directory owner-only, as the server keeps its data.</summary>
    public static void CopyPrivate(string from, string to)
    {
        DataFiles.CreatePrivateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(to, DataFiles.PrivateFile);
        }
    }

    /// <summary>
    /// Starts a second node on this host's database and data directory, with its own clock, as a second server process
    /// of a cluster would be (on PostgreSQL). Disposing it leaves the database to this host.
    /// </summary>
    public async Task<HomeroomHost> StartAnotherNodeAsync(Action<IServiceCollection>? services = null, params string[] settings)
    {
        var host = new HomeroomHost(Database, settings.Select(s => "--" + s).ToArray(), ownsDatabase: false, services);
        try
        {
            await host.StartAppAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>
    /// Ends the server as a kill would, as far as its own code can tell: no hosted service is stopped (nothing flushed,
    /// nothing released), the services are disposed, which cancels the background loops and closes the listener.
    /// <see cref="DisposeAsync"/> still cleans up the database afterwards.
    /// </summary>
    public async Task KillAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Stops the server as a normal shutdown does (flushing, releasing job leases) and keeps its database.</summary>
    public Task StopAsync() => StopAppAsync();

    private static async Task<HomeroomHost> StartAsync(DatabaseProvider provider, bool withDeviceCa, string[] settings, Action<IServiceCollection>? services = null)
    {
        var timing = HostTimings.Start();
        var database = await TestDatabase.CreateMigratedAsync(provider);
        if (withDeviceCa)
        {
            await DeviceCaTemplate.CopyToAsync(database.DataDirectory);
        }

        timing.Lap("database");
        var host = new HomeroomHost(database, settings.Select(s => "--" + s).ToArray(), ownsDatabase: true, services);
        try
        {
            await host.StartAppAsync(timing);
        }
        catch
        {
            // Clean up what started; a host that failed half-way may fail to stop too, and the first error is the one to see.
            try
            {
                await host.DisposeAsync();
            }
            catch (Exception cleanup) when (cleanup is InvalidOperationException or ArgumentException or OperationCanceledException or ObjectDisposedException or AggregateException)
            {
            }

            throw;
        }

        return host;
    }

    private async Task StartAppAsync(HostTimings? timing = null)
    {
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--HOMEROOM_BOOTSTRAP_API_KEY={ApiKey}",
            $"--HOMEROOM_ADMIN_PASSWORD={AdminPassword}",
            "--Logging:LogLevel:Default=Warning",
            // Production's 210,000 PBKDF2 iterations cost 0.1 to 0.5 s per hash on a busy 2-core machine, and
            // tests hash the admin's password at every start and create and sign in many accounts. Stored
            // hashes carry their count, so this changes how long hashing takes, not what is checked.
            $"--Homeroom:Accounts:PasswordHashIterations={TestPasswordHashIterations}",
            // No tile server is reachable from tests: the console's maps draw on a blank background.
            "--Homeroom:Maps:TileUrl=",
            // A first row or a page taken without an order is an error here, not a warning nobody reads.
            "--Homeroom:StrictQueries=true",
            // Many servers share this process: a full collection after one's connect storm would pause them all.
            "--Homeroom:Agents:CompactAfterConnects=0",
            .. Database.HostArguments(),
            .. _extraArguments,
        ];
        _app = await HomeroomApp.CreateAsync(args, builder =>
        {
            timing?.Lap("builder");
            builder.Services.AddSingleton<TimeProvider>(Clock);
            _services?.Invoke(builder.Services);
            builder.Host.UseDefaultServiceProvider(o =>
            {
                o.ValidateScopes = true;
                o.ValidateOnBuild = true;
            });
            // HOMEROOM_TEST_LOGS=1 keeps the server's warnings and errors on the console, to debug a failing test.
            if (Environment.GetEnvironmentVariable("HOMEROOM_TEST_LOGS") != "1")
            {
                builder.Logging.ClearProviders();
            }
        }).WaitAsync(Timeout);
        timing?.Lap("build+migrate+admin");
        await _app.StartAsync().WaitAsync(Timeout);
        timing?.Lap("start");
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        BaseAddress = new Uri(address);
        Client?.Dispose();
        Client = CreateClient(ApiKey);
        timing?.Write(Database.Provider);
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>Stops the server (flushing its writers, as on a normal shutdown) and starts a fresh one on the same database.</summary>
    public async Task RestartAsync()
    {
        await StopAppAsync();
        await StartAppAsync();
    }

    private async Task StopAppAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().WaitAsync(Timeout);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public T GetService<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async Task<T> GetJsonAsync<T>(string path)
    {
        using var response = await Client.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>(Json).WaitAsync(Timeout))!;
    }

    public async Task<HttpResponseMessage> PostJsonAsync(string path, object body) =>
        await Client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, Json).WaitAsync(Timeout);

    public async Task<T> PostJsonAsync<T>(string path, object body)
    {
        using var response = await PostJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync<T>(Json).WaitAsync(Timeout))!;
    }

    /// <summary>Creates a staff account through the API and returns a browser-like client signed in as it (session cookie, anti-forgery header).</summary>
    public async Task<HttpClient> SignInAsNewAccountAsync(string username, string role, Guid? personId = null, string? displayName = null, Guid? schoolId = null)
    {
        const string password = "a long enough passphrase";
        using (var created = await PostJsonAsync("/api/accounts", new { username, displayName = displayName ?? username, password, role, personId, schoolId }))
        {
            if (!created.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"Creating {username} answered {(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
            }
        }

        var client = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = BaseAddress, Timeout = Timeout };
        client.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        using var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username, password });
        login.EnsureSuccessStatusCode();
        return client;
    }

    /// <summary>Creates an enrollment token through the API and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(int? maxUses = null, Guid? groupId = null, Guid? schoolId = null, DateTime? expiresAt = null)
    {
        var created = await PostJsonAsync<JsonElement>("/api/enrollment-tokens", new { name = "test token", maxUses, groupId, schoolId, expiresAt });
        return created.GetProperty("token").GetString()!;
    }

    /// <summary>Enrolls a device over HTTP and returns a connected-ready agent identity.</summary>
    public async Task<EnrollResponse> EnrollAsync(string token, string serial, DevicePlatform platform = DevicePlatform.ChromeOS, string? credential = null)
    {
        using var client = CreateClient();
        using var response = await client.PostAsJsonAsync(
            new Uri("/agent/v1/enroll", UriKind.Relative),
            new EnrollRequest(token, platform, serial, "Test Model", "Test Maker", "1.0", Credential: credential),
            Contracts.Agents.AgentJsonContext.Default.EnrollRequest).WaitAsync(Timeout);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Enrollment answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return (await response.Content.ReadFromJsonAsync(Contracts.Agents.AgentJsonContext.Default.EnrollResponse).WaitAsync(Timeout))!;
    }

    /// <summary>Enrolls a device and connects it; the returned agent has read its welcome frame.</summary>
    public async Task<TestAgent> ConnectNewAgentAsync(string? token = null, string? serial = null)
    {
        token ??= await CreateTokenAsync();
        var enrolled = await EnrollAsync(token, serial ?? "SN-" + Guid.NewGuid().ToString("N")[..10]);
        var agent = await TestAgent.ConnectAsync(AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    public async ValueTask DisposeAsync()
    {
        var timing = HostTimings.Start();
        Client?.Dispose();
        await StopAppAsync();
        timing.Lap("stop");
        if (_ownDataDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownDataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // The temp folder is cleaned by the OS later.
            }
        }

        if (!_ownsDatabase)
        {
            return;
        }

        await Database.DisposeAsync();
        timing.Lap("drop");
        timing.Write(Database.Provider);
    }
}
