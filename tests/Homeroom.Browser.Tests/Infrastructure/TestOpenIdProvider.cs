using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>The person the test provider signs in (at once, already consented) when the browser arrives.</summary>
public sealed record TestOpenIdUser(string Subject, string Email, bool EmailVerified, string Name, params string[] Groups);

/// <summary>How the test provider spoils the ID token it hands out at its token endpoint (re-signed with its own key unless the signature is the point).</summary>
public enum IdTokenTampering
{
    None,
    WrongIssuer,
    WrongAudience,
    Expired,
    BadSignature,
}

/// <summary>
/// A real OpenID provider on loopback, built with OpenIddict's server: discovery, keys, an authorization
/// endpoint that signs in <see cref="User"/> at once, and a token endpoint, for the authorization code flow
/// with PKCE required. One confidential client, whose redirect URI is set once the Homeroom server under test
/// has its address. The signing key is generated here; <see cref="Tampering"/> makes the token endpoint hand
/// out a spoiled ID token, to see the relying party refuse it.
/// </summary>
public sealed class TestOpenIdProvider : IAsyncDisposable
{
    public const string ClientId = "homeroom-test";
    public const string ClientSecret = "test-client-secret-0123456789";
    private const string KeyId = "test-signing-key";

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RSA _otherRsa = RSA.Create(2048);
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The Homeroom callback this client may be redirected to; any other is refused.</summary>
    public Uri? RedirectUri { get; set; }

    public TestOpenIdUser User { get; set; } = new("user-1", "someone@district.example", true, "Some One");

    public IdTokenTampering Tampering { get; set; }

    /// <summary>How many codes the token endpoint exchanged, to tell that the browser got that far.</summary>
    public int TokensIssued => _tokensIssued;

    private int _tokensIssued;

    public static async Task<TestOpenIdProvider> StartAsync()
    {
        var provider = new TestOpenIdProvider();
        await provider.StartAppAsync();
        return provider;
    }

    private async Task StartAppAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddOpenIddict().AddServer(o =>
        {
            o.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
            o.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            o.RegisterScopes(OpenIddictConstants.Scopes.Email, OpenIddictConstants.Scopes.Profile);
            o.AddSigningKey(new RsaSecurityKey(_rsa) { KeyId = KeyId });
            o.AddEphemeralEncryptionKey();
            o.DisableAccessTokenEncryption();

            // No application store: the one client is checked by the handlers below.
            o.EnableDegradedMode();
            o.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
            o.AddEventHandler<ValidateAuthorizationRequestContext>(b => b.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId)
                {
                    context.Reject(OpenIddictConstants.Errors.InvalidClient, "Unknown client.");
                }
                else if (RedirectUri is null || context.RedirectUri != RedirectUri.AbsoluteUri)
                {
                    context.Reject(OpenIddictConstants.Errors.InvalidRequest, "Unregistered redirect_uri.");
                }

                return default;
            }));
            o.AddEventHandler<ValidateTokenRequestContext>(b => b.UseInlineHandler(context =>
            {
                if (context.Request.ClientId != ClientId || context.Request.ClientSecret != ClientSecret)
                {
                    context.Reject(OpenIddictConstants.Errors.InvalidClient, "Wrong client credentials.");
                }

                return default;
            }));
            o.AddEventHandler<ApplyTokenResponseContext>(b => b.UseInlineHandler(context =>
            {
                if (context.Response.IdToken is { } idToken)
                {
                    Interlocked.Increment(ref _tokensIssued);
                    if (Tampering != IdTokenTampering.None)
                    {
                        context.Response.IdToken = Spoil(idToken, Tampering);
                    }
                }

                return default;
            }).SetOrder(int.MinValue + 100_000));
        });

        _app = builder.Build();
        _app.MapGet("/connect/authorize", (HttpContext context) =>
        {
            var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
            var user = User;
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
            identity.AddClaim(OpenIddictConstants.Claims.Subject, user.Subject);
            identity.AddClaim(OpenIddictConstants.Claims.Email, user.Email);
            identity.AddClaim(OpenIddictConstants.Claims.EmailVerified, user.EmailVerified);
            identity.AddClaim(OpenIddictConstants.Claims.Name, user.Name);
            foreach (var group in user.Groups)
            {
                identity.AddClaim("groups", group);
            }

            identity.SetScopes(request.GetScopes());
            identity.SetDestinations(_ => [OpenIddictConstants.Destinations.IdentityToken, OpenIddictConstants.Destinations.AccessToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/");
    }

    /// <summary>The ID token with one thing wrong, signed again with the provider's key (or, for a bad signature, another key under the same key id).</summary>
    private string Spoil(string idToken, IdTokenTampering tampering)
    {
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(idToken.Split('.')[1]))!.AsObject();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        switch (tampering)
        {
            case IdTokenTampering.WrongIssuer:
                payload["iss"] = "https://impostor.example/";
                break;
            case IdTokenTampering.WrongAudience:
                payload["aud"] = "another-application";
                break;
            case IdTokenTampering.Expired:
                payload["iat"] = now - 7200;
                payload["nbf"] = now - 7200;
                payload["exp"] = now - 3600;
                break;
        }

        var key = tampering == IdTokenTampering.BadSignature ? _otherRsa : _rsa;
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(payload.ToJsonString(), new SigningCredentials(new RsaSecurityKey(key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _rsa.Dispose();
        _otherRsa.Dispose();
    }
}
