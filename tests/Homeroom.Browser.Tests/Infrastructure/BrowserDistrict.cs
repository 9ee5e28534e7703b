using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>
/// A console test fixture's own server (SQLite) and Chromium. A derived fixture seeds its district in
/// <see cref="SeedAsync"/>, starts simulated devices or test agents through <see cref="StartFleetAsync"/> and
/// <see cref="Own{T}"/>, and signs staff in with <see cref="SignInAsync"/>; disposal closes the browser, then
/// the devices, then the server.
/// </summary>
public abstract class BrowserDistrict : IAsyncLifetime
{
    /// <summary>The password of the accounts a fixture makes with <see cref="AccountAsync"/>.</summary>
    public const string Password = "a long enough passphrase";

    private readonly List<IAsyncDisposable> _devices = [];
    private IPlaywright? _playwright;

    public HomeroomHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Errors each page's browser console printed, to assert there were none.</summary>
    public Dictionary<IPage, List<string>> ConsoleErrors { get; } = [];

    /// <summary>The configuration the server starts with.</summary>
    protected virtual string[] Settings => ["DetailedErrors=true"];

    /// <summary>The height of the browser window <see cref="SignInAsync"/> opens.</summary>
    protected virtual int WindowHeight => 800;

    public async Task InitializeAsync()
    {
        await BeforeServerAsync();
        Host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, Settings);
        await SeedAsync();
        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Browsers.LaunchAsync(_playwright);
    }

    /// <summary>Starts what the server's <see cref="Settings"/> name (another server on loopback), before the server.</summary>
    protected virtual Task BeforeServerAsync() => Task.CompletedTask;

    /// <summary>Creates the fixture's schools, people, devices and accounts on the started server.</summary>
    protected virtual Task SeedAsync() => Task.CompletedTask;

    /// <summary>Disposes <paramref name="device"/> with the fixture, after the browser and before the server.</summary>
    protected T Own<T>(T device)
        where T : IAsyncDisposable
    {
        _devices.Add(device);
        return device;
    }

    /// <summary>Simulated devices that are always online, enrolled (in <paramref name="schoolId"/> if given) and connected.</summary>
    protected async Task<Fleet> StartFleetAsync(int devices, int seed, Guid? schoolId = null)
    {
        var fleet = Own(new Fleet(new FleetOptions
        {
            Server = Host.BaseAddress, EnrollToken = await Host.CreateTokenAsync(schoolId: schoolId), Devices = devices, Seed = seed, AlwaysOnline = true, SlowAnswerChance = 0,
        }));
        fleet.Start();
        await Poll.UntilAsync(() => Task.FromResult(fleet.Devices.All(d => d.DeviceId is not null)), TimeSpan.FromSeconds(60));
        (await fleet.WaitForConnectedAsync(devices, TimeSpan.FromSeconds(60))).ShouldBeTrue();
        return fleet;
    }

    /// <summary>POSTs <paramref name="body"/> and returns the id of what it created.</summary>
    protected async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    /// <summary>A staff account with <see cref="Password"/>.</summary>
    protected async Task AccountAsync(string username, string role, Guid? schoolId = null, Guid? personId = null, string? displayName = null) =>
        (await Host.PostJsonAsync("/api/accounts", new { username, displayName = displayName ?? username, password = Password, role, schoolId, personId })).EnsureSuccessStatusCode();

    /// <summary>A new browser context (its own cookies) signed in through the console's sign-in page.</summary>
    public Task<IPage> SignInAsync(string username, string password = Password, int width = 1280) =>
        ConsoleSignIn.SignInAsync(Browser, Host.BaseAddress, ConsoleErrors, username, password, width, WindowHeight);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        for (var i = _devices.Count - 1; i >= 0; i--)
        {
            await _devices[i].DisposeAsync();
        }

        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}
