namespace Homeroom.Contracts.Agents;

/// <summary>Fixed facts of agent protocol v1. See docs/agent-protocol.md.</summary>
public static class AgentProtocol
{
    /// <summary>The protocol version this library speaks.</summary>
    public const int Version = 1;

    /// <summary>The WebSocket endpoint agents connect to.</summary>
    public const string WebSocketPath = "/agent/v1";

    /// <summary>The HTTP endpoint an agent posts its enrollment to.</summary>
    public const string EnrollPath = "/agent/v1/enroll";

    /// <summary>HTTP GET: the hosts of the categories a policy names, for agents that filter on the device (<c>Authorization: Device &lt;id&gt;:&lt;credential&gt;</c>).</summary>
    public const string FilterListPath = "/agent/v1/filter-list";

    /// <summary>
    /// HTTP GET <c>/agent/v1/updates/{sha256}</c>: an agent build the server offered in an <c>agentUpdate</c> command,
    /// by its SHA-256 (lower-case hex), authenticated as the device (<c>Authorization: Device &lt;id&gt;:&lt;credential&gt;</c>).
    /// </summary>
    public const string UpdatePathPrefix = "/agent/v1/updates/";

    /// <summary>The download path of the agent build whose SHA-256 is <paramref name="sha256Hex"/>.</summary>
    public static string UpdatePath(string sha256Hex) => UpdatePathPrefix + sha256Hex;

    /// <summary>A request for <paramref name="path"/> on the server, authenticated as the device.</summary>
    public static HttpRequestMessage DeviceRequest(Uri server, string path, Guid deviceId, string credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, path));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Device", $"{deviceId}:{credential}");
        return request;
    }

    /// <summary>
    /// HTTP <c>POST</c> (issue) and <c>DELETE</c> (revoke) <c>/agent/v1/companion</c>: a desktop agent's companion credential,
    /// with which the Homeroom browser extension on the same computer enrolls as a companion of this device rather than as a
    /// device of its own; authenticated as the device (<c>Authorization: Device &lt;id&gt;:&lt;credential&gt;</c>). See
    /// docs/agent-protocol.md, "Companion credential".
    /// </summary>
    public const string CompanionPath = "/agent/v1/companion";

    /// <summary>How a companion credential begins; an enrollment whose <c>token</c> begins so enrolls a companion.</summary>
    public const string CompanionCredentialPrefix = "hrc_";

    /// <summary>A <paramref name="method"/> request for the device's companion credential.</summary>
    public static HttpRequestMessage CompanionRequest(Uri server, HttpMethod method, Guid deviceId, string credential)
    {
        var request = DeviceRequest(server, CompanionPath, deviceId, credential);
        request.Method = method;
        return request;
    }

    /// <summary>The optional WebSocket sub-protocol name an agent may offer.</summary>
    public const string SubProtocol = "homeroom.agent.v1";

    /// <summary>The address of the agent WebSocket on a server whose base address is <paramref name="server"/> (<c>ws</c> for <c>http</c>, <c>wss</c> for <c>https</c>).</summary>
    public static Uri WebSocketUri(Uri server) =>
        new UriBuilder(server) { Scheme = server.Scheme == Uri.UriSchemeHttps ? "wss" : "ws", Path = WebSocketPath }.Uri;

    /// <summary>The request for the host lists of <paramref name="categories"/>, authenticated as the device.</summary>
    public static HttpRequestMessage FilterListRequest(Uri server, Guid deviceId, string credential, IEnumerable<string> categories)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, $"{FilterListPath}?categories={Uri.EscapeDataString(string.Join(',', categories))}"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Device", $"{deviceId}:{credential}");
        return request;
    }
}

/// <summary>
/// Limits every peer must respect. A server may announce lower values in <see cref="WelcomeFrame"/>;
/// it never accepts more than these.
/// </summary>
public static class ProtocolLimits
{
    /// <summary>Largest text (JSON) frame in bytes.</summary>
    public const int MaxTextFrameBytes = 64 * 1024;

    /// <summary>Largest binary (thumbnail) frame in bytes, header included.</summary>
    public const int MaxBinaryFrameBytes = 256 * 1024;

    /// <summary>Most activity events in one <see cref="ActivityFrame"/>.</summary>
    public const int MaxActivityEventsPerFrame = 500;

    /// <summary>Most apps in one <see cref="InventoryFrame"/>.</summary>
    public const int MaxInventoryApps = 2000;

    /// <summary>Most pending OS updates an <see cref="OsUpdateStatus"/> may count.</summary>
    public const int MaxOsUpdates = 100_000;

    /// <summary>Most capabilities in one <see cref="InventoryFrame"/>.</summary>
    public const int MaxCapabilities = 64;

    /// <summary>Most seconds one <c>web.usage</c> event may cover (agents report at least this often).</summary>
    public const int MaxWebUsageSeconds = 3600;

    /// <summary>Longest URL carried in any frame.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>Longest short text (names, titles, versions, errors).</summary>
    public const int MaxShortText = 256;

    /// <summary>Longest e-mail address of a <see cref="SignedInUser"/>.</summary>
    public const int MaxSignedInEmailLength = 256;

    /// <summary>Longest long text (messages, command results).</summary>
    public const int MaxLongText = 4096;

    /// <summary>Most signals in one <see cref="SignalsFrame"/>.</summary>
    public const int MaxSignalsPerFrame = 50;

    /// <summary>Longest text of one safety signal, in characters.</summary>
    public const int MaxSignalTextLength = 2000;

    /// <summary>Largest <see cref="SignalsFrame.Batch"/> number (2^53, exact in JavaScript).</summary>
    public const long MaxSignalBatch = 9_007_199_254_740_992;

    /// <summary>Most arguments a command carries.</summary>
    public const int MaxCommandArguments = 16;
}

/// <summary>WebSocket close codes the server uses. Agents should log the reason text too.</summary>
public static class AgentCloseCodes
{
    /// <summary>The server is shutting down or restarting; reconnect with back-off.</summary>
    public const int ServerShuttingDown = 1001;

    /// <summary>A frame was not valid JSON, or a field broke a rule. Do not resend it unchanged.</summary>
    public const int MalformedFrame = 4400;

    /// <summary>The first frame was not a valid <c>auth</c>, or the credential is wrong. Re-enroll.</summary>
    public const int AuthenticationFailed = 4401;

    /// <summary>The device was revoked by an administrator. Do not reconnect; re-enroll only if told.</summary>
    public const int DeviceRevoked = 4403;

    /// <summary>No <c>auth</c> frame arrived in time.</summary>
    public const int AuthenticationTimeout = 4408;

    /// <summary>A newer connection for the same device replaced this one.</summary>
    public const int Replaced = 4409;

    /// <summary>A frame was larger than the limit.</summary>
    public const int FrameTooLarge = 4413;

    /// <summary>A frame had an unknown <c>type</c>.</summary>
    public const int UnknownFrameType = 4415;

    /// <summary>The agent asked for a protocol version the server does not speak.</summary>
    public const int UnsupportedProtocolVersion = 4426;

    /// <summary>The agent sent more frames than its rate allows.</summary>
    public const int RateLimited = 4429;

    /// <summary>The agent is too slow to read what the server sends.</summary>
    public const int SlowConsumer = 4430;

    /// <summary>An unexpected server fault; reconnect with back-off.</summary>
    public const int ServerError = 4500;
}

/// <summary>
/// Why an agent closes its own connection: it closes with 1001 (going away) and one of these reasons,
/// so the server can tell a computer that shuts down from an agent stopped while the computer runs.
/// </summary>
public static class AgentGoingAwayReasons
{
    /// <summary>The computer is shutting down or restarting.</summary>
    public const string SystemShutdown = "system shutdown";

    /// <summary>The agent's service was stopped while the computer keeps running (by an administrator, an upgrade, or someone else).</summary>
    public const string AgentStopped = "agent stopped";
}
