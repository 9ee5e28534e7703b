using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>Browser-like HTTP clients for the session and sign-in tests: their own cookies, the anti-forgery header, and a chosen source address.</summary>
internal static class StaffClients
{
    /// <summary>The password <see cref="HomeroomHost.SignInAsNewAccountAsync"/> gives the accounts it creates.</summary>
    public const string Password = "a long enough passphrase";

    public const string CookieName = "homeroom.session";

    /// <summary>
    /// A client that keeps cookies and sends the anti-forgery header. With <paramref name="from"/> it
    /// connects from that loopback address (127.0.0.2, 127.0.0.3 ...), so the server sees a different client.
    /// </summary>
    public static HttpClient Browser(HomeroomHost host, IPAddress? from = null, bool useCookies = true)
    {
        var handler = new SocketsHttpHandler { UseCookies = useCookies, AllowAutoRedirect = false };
        if (useCookies)
        {
            handler.CookieContainer = new CookieContainer();
        }

        if (from is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        var client = new HttpClient(handler) { BaseAddress = host.BaseAddress, Timeout = HomeroomHost.Timeout };
        client.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        return client;
    }

    /// <summary>A client that sends exactly this session cookie (as a copied or stolen cookie would be sent).</summary>
    public static HttpClient WithCookie(HomeroomHost host, string cookieValue)
    {
        var client = Browser(host, useCookies: false);
        client.DefaultRequestHeaders.Add("Cookie", $"{CookieName}={cookieValue}");
        return client;
    }

    public static async Task<HttpResponseMessage> LoginAsync(this HttpClient client, string username, string password) =>
        await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { username, password }).WaitAsync(HomeroomHost.Timeout);

    /// <summary>Signs in and returns the session cookie's value.</summary>
    public static async Task<string> SignInAsync(this HttpClient client, string username, string password)
    {
        using var login = await client.LoginAsync(username, password);
        login.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        return SessionCookie(login) ?? throw new InvalidOperationException("No session cookie was set.");
    }

    /// <summary>The session cookie a response sets, if any.</summary>
    public static string? SessionCookie(HttpResponseMessage response) =>
        SetCookie(response) is { } header ? header[(CookieName.Length + 1)..header.IndexOf(';', StringComparison.Ordinal)] : null;

    /// <summary>The whole Set-Cookie header of the session cookie, attributes included.</summary>
    public static string? SetCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.FirstOrDefault(v => v.StartsWith(CookieName + "=", StringComparison.Ordinal) && !v.StartsWith(CookieName + "=;", StringComparison.Ordinal))
            : null;

    public static async Task<HttpStatusCode> StatusAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(HomeroomHost.Timeout);
        return response.StatusCode;
    }
}
