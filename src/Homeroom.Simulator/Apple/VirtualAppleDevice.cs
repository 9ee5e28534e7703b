using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Apps;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Apple;

/// <summary>What a virtual Apple device answers to a command: Acknowledged, NotNow, Error or CommandFormatError.</summary>
public delegate string MdmAnswer(string requestType, Dictionary<string, object> command);

/// <summary>
/// A simulated iPad or Mac speaking Apple's MDM protocol to a Homeroom server: it checks in
/// (Authenticate, TokenUpdate, CheckOut) and polls the command endpoint, answering each command.
/// Every request is signed with its own identity certificate in the <c>Mdm-Signature</c> header, as
/// real devices sign with the identity from their enrollment profile.
/// A Mac installs packages it can download (<see cref="Packages"/>) when asked by InstallEnterpriseApplication with a manifest
/// whose URL and SHA-256 match, and refuses one whose hash does not with an Error answer (the package's signature, which a real
/// Mac checks too, is not simulated).
/// It installs App Store apps it knows (<see cref="AppStore"/>) when asked by InstallApplication: the
/// command is acknowledged and the app shows in InstalledApplicationList answers once
/// <c>installDelay</c> has passed on its clock; RemoveApplication takes an app off at once. Given
/// <c>refuseInstallEvery</c> = n, it refuses the first install and then every n-th one after it with an
/// Error answer, as a device that cannot reach the App Store does now and then.
/// The apps it installed through MDM are managed: ManagedApplicationList reports them Installing while
/// they download and Managed once installed, and an install planned to go wrong (<see cref="InstallOutcomes"/>)
/// is acknowledged, never arrives and is reported once with Apple's transient status (Failed, UserRejected).
/// It keeps the blocked bundle ids of the last policy profile it installed (<see cref="BlockedApps"/>) when
/// supervised; an unsupervised device ignores them, as Apple's restrictions payload says.
/// OS updates follow its <see cref="OsUpdatePlan"/> on its clock: offered a version (the declarative
/// software-update enforcement, <see cref="OfferOsUpdate"/>, or ScheduleOSUpdate with a ProductVersion), it
/// reports the new version in DeviceInformation answers once the plan's time has passed; a device whose plan
/// fails refuses ScheduleOSUpdate with an Error answer, and one that never reports stops polling once due.
/// </summary>
public sealed class VirtualAppleDevice : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;

    private readonly TimeProvider _clock;
    private readonly TimeSpan _installDelay;
    private readonly int _refuseInstallEvery;
    private readonly List<(string Identifier, string Name, string Version, DateTimeOffset ReadyAt)> _downloading = [];
    private int _installsAsked;
    private readonly OsUpdatePlan _osPlan;
    private (string Version, DateTimeOffset OfferedAt)? _osOffer;

    public VirtualAppleDevice(
        HttpClient http, Uri server, string udid, string serial, string productName = "iPad13,18", string osVersion = "18.1",
        TimeProvider? clock = null, TimeSpan? installDelay = null, int refuseInstallEvery = 0, bool supervised = true, OsUpdatePlan? osUpdates = null)
    {
        Supervised = supervised;
        _osPlan = osUpdates ?? new OsUpdatePlan(OsUpdateOutcome.Installs, TimeSpan.FromHours(1));
        ArgumentOutOfRangeException.ThrowIfNegative(refuseInstallEvery);
        _clock = clock ?? TimeProvider.System;
        _installDelay = installDelay ?? TimeSpan.FromSeconds(30);
        _refuseInstallEvery = refuseInstallEvery;
        _http = http;
        _server = server;
        Udid = udid;
        Serial = serial;
        ProductName = productName;
        OsVersion = osVersion;
        // A placeholder until the enrollment profile's identity replaces it: P-256, which takes a millisecond to make where an
        // RSA key takes a tenth of a second or more (a thousand iPads in a benchmark spent minutes on them).
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={udid}", key, HashAlgorithmName.SHA256);
        Identity = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2));
        PushToken = RandomNumberGenerator.GetBytes(32);
    }

    public string Udid { get; }
    public string Serial { get; }
    public string ProductName { get; }
    public string OsVersion { get; private set; }

    private bool IsMac => ProductName.StartsWith("Mac", StringComparison.Ordinal);

    /// <summary>True once the device has gone quiet for good (its OS update plan says it never reports again): polls send nothing.</summary>
    public bool Silent => _osOffer is { } offer && OsUpdates.IsSilent(_osPlan, offer.OfferedAt, _clock.GetUtcNow());

    /// <summary>
    /// Offers an OS version, as the declarative software-update enforcement does; the device takes it as its plan says.
    /// A later offer of the same version keeps the first offer's time.
    /// </summary>
    public void OfferOsUpdate(string version)
    {
        if (_osOffer?.Version != version)
        {
            _osOffer = (version, _clock.GetUtcNow());
        }
    }

    // Moves to the offered version once the plan's time has passed.
    private void AdvanceOs()
    {
        if (_osOffer is { } offer)
        {
            OsVersion = OsUpdates.VersionAt(_osPlan, OsVersion, offer.Version, offer.OfferedAt, _clock.GetUtcNow());
        }
    }
    public X509Certificate2 Identity { get; set; }
    public byte[] PushToken { get; set; }
    public bool Locked { get; private set; }

    /// <summary>Whether the device is supervised (reported as IsSupervised; decides whether it keeps a profile's blocked apps).</summary>
    public bool Supervised { get; }

    /// <summary>The blocked bundle ids of the last policy profile installed (blockedAppBundleIDs), empty when unsupervised.</summary>
    public IReadOnlyList<string> BlockedApps { get; private set; } = [];

    /// <summary>Bundle ids installed through MDM (managed), reported by ManagedApplicationList.</summary>
    public HashSet<string> ManagedApps { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Planned outcomes of the next install of an app (bundle id to Apple's transient status, such as Failed or
    /// UserRejected): the install is acknowledged but never arrives, and the next ManagedApplicationList reports
    /// the status once. Used once, so the install after it goes through.
    /// </summary>
    public Dictionary<string, string> InstallOutcomes { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<string, string> _transient = new(StringComparer.Ordinal);

    /// <summary>Charge, 0 to 1, reported in DeviceInformation answers.</summary>
    public double BatteryLevel { get; set; } = 0.8;

    /// <summary>Storage in base-10 gigabytes (total, available), reported in DeviceInformation answers.</summary>
    public (double Total, double Available) Capacity { get; set; } = (64, 21.5);

    /// <summary>Installed apps (bundle id, name, version), reported in InstalledApplicationList answers.</summary>
    public List<(string Identifier, string Name, string Version)> InstalledApps { get; } =
    [
        ("com.apple.mobilesafari", "Safari", "18.1"),
        ("org.khanacademy.Khan-kids", "Khan Kids", "4.2.1"),
        ("com.google.chrome.ios", "Chrome", "131.0"),
        ("com.google.Classroom", "Google Classroom", "8.0.451"),
    ];

    /// <summary>The App Store as this device sees it: App Store id (iTunesStoreID) to bundle id and name.</summary>
    public Dictionary<long, (string Identifier, string Name)> AppStore { get; } = new()
    {
        [1156311547] = ("org.khanacademy.Khan-kids", "Khan Kids"),
        [1108187098] = ("com.google.Classroom", "Google Classroom"),
        [361309726] = ("com.apple.Pages", "Pages"),
    };

    /// <summary>
    /// The packages this Mac can download, as a web server would serve them: https URL to the package's SHA-256 and the app
    /// bundle it installs (bundle id, name, version). InstallEnterpriseApplication installs one whose manifest names its URL
    /// and SHA-256; the app shows in InstalledApplicationList once <c>installDelay</c> has passed, replacing an older version.
    /// </summary>
    public Dictionary<string, (string Sha256, string Identifier, string Name, string Version)> Packages { get; } = new(StringComparer.Ordinal);

    /// <summary>Installs refused so far (InstallApplication answered with Error).</summary>
    public int InstallsRefused { get; private set; }

    /// <summary>
    /// When set, the device is behind a TLS-terminating proxy that passes its client certificate in
    /// this header (base64 DER) instead of the device signing each request.
    /// </summary>
    public string? ProxyCertificateHeader { get; set; }

    /// <summary>Commands received, in order: (CommandUUID, RequestType, the command dictionary).</summary>
    public List<(Guid Id, string RequestType, Dictionary<string, object> Command)> Received { get; } = [];

    /// <summary>The check-in address from the enrollment profile (with its token), once one is installed.</summary>
    public Uri? CheckInUrl { get; private set; }

    /// <summary>
    /// Downloads and "installs" the enrollment profile for a token, as a person opening it on the
    /// device would: takes the identity from its PKCS#12 payload and the check-in address from its MDM payload.
    /// </summary>
    public async Task InstallEnrollmentProfileAsync(string enrollToken, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri(_server, "/mdm/enroll?token=" + Uri.EscapeDataString(enrollToken)), cancellationToken);
        response.EnsureSuccessStatusCode();
        var profile = PropertyList.ReadDictionary(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        var payloads = ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>().ToList();
        var pkcs12 = payloads.Single(p => (string)p["PayloadType"] == "com.apple.security.pkcs12");
        var mdm = payloads.Single(p => (string)p["PayloadType"] == "com.apple.mdm");
        Identity.Dispose();
        Identity = X509CertificateLoader.LoadPkcs12((byte[])pkcs12["PayloadContent"], (string)pkcs12["Password"], X509KeyStorageFlags.Exportable);
        CheckInUrl = new Uri((string)mdm["CheckInURL"]);
    }

    /// <summary>Authenticates through the installed profile's check-in address.</summary>
    public Task<HttpResponseMessage> AuthenticateAsync() => AuthenticateAsync(null, CheckInUrl?.PathAndQuery);

    public Task<HttpResponseMessage> AuthenticateAsync(string? enrollToken, string? path = null) => SendAsync(
        path ?? "/mdm/checkin" + (enrollToken is null ? "" : "?enroll=" + Uri.EscapeDataString(enrollToken)),
        new Dictionary<string, object>
        {
            ["MessageType"] = "Authenticate", ["UDID"] = Udid, ["Topic"] = "com.apple.mgmt.External.homeroom", ["SerialNumber"] = Serial,
            ["ProductName"] = ProductName, ["Model"] = ProductName.StartsWith("Mac", StringComparison.Ordinal) ? "Mac14,2" : "iPad (10th generation)",
            ["OSVersion"] = OsVersion, ["BuildVersion"] = "22B83",
        });

    public Task<HttpResponseMessage> TokenUpdateAsync() => SendAsync("/mdm/checkin", new Dictionary<string, object>
    {
        ["MessageType"] = "TokenUpdate", ["UDID"] = Udid, ["Topic"] = "com.apple.mgmt.External.homeroom", ["Token"] = PushToken,
        ["PushMagic"] = "PM-" + Udid, ["AwaitingConfiguration"] = false,
    });

    public Task<HttpResponseMessage> CheckOutAsync() => SendAsync("/mdm/checkin", new Dictionary<string, object>
    {
        ["MessageType"] = "CheckOut", ["UDID"] = Udid, ["Topic"] = "com.apple.mgmt.External.homeroom",
    });

    /// <summary>Polls until the server has nothing more, answering each command; returns how many commands came.</summary>
    public async Task<int> PollAsync(MdmAnswer? answer = null, CancellationToken cancellationToken = default)
    {
        AdvanceOs();
        if (Silent)
        {
            return 0;
        }

        var reply = new Dictionary<string, object> { ["UDID"] = Udid, ["Status"] = "Idle" };
        var count = 0;
        while (true)
        {
            using var response = await SendAsync("/mdm/connect", reply, cancellationToken);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (body.Length == 0)
            {
                return count;
            }

            var envelope = PropertyList.ReadDictionary(body);
            var id = Guid.Parse((string)envelope["CommandUUID"]);
            var command = (Dictionary<string, object>)envelope["Command"];
            var type = (string)command["RequestType"];
            Received.Add((id, type, command));
            count++;
            var refusal = answer is null ? Refusal(type, command) : null;
            var status = refusal is null ? answer?.Invoke(type, command) ?? "Acknowledged" : "Error";
            reply = new Dictionary<string, object> { ["UDID"] = Udid, ["Status"] = status, ["CommandUUID"] = id.ToString().ToUpperInvariant() };
            if (status == "Acknowledged")
            {
                Carry(type, command, reply);
            }
            else if (status is "Error" or "CommandFormatError")
            {
                reply["ErrorChain"] = new List<object>
                {
                    refusal ?? new Dictionary<string, object> { ["ErrorCode"] = 12021L, ["ErrorDomain"] = "MCMDMErrorDomain", ["LocalizedDescription"] = "The device is busy." },
                };
            }
        }
    }

    // The device's own refusals of app commands (the error an iPad gives), or null to carry the command out.
    private Dictionary<string, object>? Refusal(string requestType, Dictionary<string, object> command)
    {
        static Dictionary<string, object> Error(long code, string text) =>
            new() { ["ErrorCode"] = code, ["ErrorDomain"] = "MCMDMErrorDomain", ["LocalizedDescription"] = text };

        switch (requestType)
        {
            case "InstallApplication":
                if (command.GetValueOrDefault("iTunesStoreID") is not long storeId || !AppStore.ContainsKey(storeId))
                {
                    return Error(12064, "The app could not be found in the App Store.");
                }

                _installsAsked++;
                if (_refuseInstallEvery > 0 && (_installsAsked - 1) % _refuseInstallEvery == 0)
                {
                    InstallsRefused++;
                    return Error(12064, "The app could not be installed: the App Store could not be reached.");
                }

                return null;
            case "InstallEnterpriseApplication":
                // What the manifest names, checked as a Mac checks it before installing: an https package it can download
                // whose SHA-256 is the manifest's (a real Mac also checks the package's signature, which is not simulated).
                if (!ProductName.StartsWith("Mac", StringComparison.Ordinal))
                {
                    return Error(12021, "InstallEnterpriseApplication is not supported on this device.");
                }

                if (EnterpriseAsset(command) is not { } asset)
                {
                    return Error(12003, "The manifest has no software-package asset with an https URL and its SHA-256.");
                }

                if (!Packages.TryGetValue(asset.Url, out var package))
                {
                    return Error(12006, $"The package at {asset.Url} could not be downloaded.");
                }

                return string.Equals(package.Sha256, asset.Sha256, StringComparison.OrdinalIgnoreCase)
                    ? null
                    : Error(12007, $"The package at {asset.Url} does not match the hash in its manifest.");
            case "ScheduleOSUpdate" when _osPlan.Outcome == OsUpdateOutcome.Fails:
                return Error(12050, "The software update could not be installed: there is not enough storage space.");
            case "RemoveApplication":
                var identifier = command.GetValueOrDefault("Identifier") as string;
                if (!InstalledApps.Any(a => a.Identifier == identifier) && !_downloading.Any(a => a.Identifier == identifier))
                {
                    return Error(12029, $"The app \"{identifier}\" is not installed.");
                }

                // Like Apple: MDM removes only the apps it manages, except on a supervised iPad or iPhone from iOS 26.
                return ManagedApps.Contains(identifier!) || (!IsMac && AppStatusPlans.MdmRemovesUnmanagedApps(Supervised, OsVersion))
                    ? null
                    : Error(12030, $"The app \"{identifier}\" is not managed.");
            default:
                return null;
        }
    }

    private void Carry(string requestType, Dictionary<string, object> command, Dictionary<string, object> reply)
    {
        switch (requestType)
        {
            case "InstallApplication":
                var (bundleId, name) = AppStore[(long)command["iTunesStoreID"]];
                if (InstallOutcomes.Remove(bundleId, out var outcome))
                {
                    _transient[bundleId] = outcome;
                    break;
                }

                ManagedApps.Add(bundleId);
                if (!InstalledApps.Any(a => a.Identifier == bundleId) && !_downloading.Any(a => a.Identifier == bundleId))
                {
                    _downloading.Add((bundleId, name, "1.0", _clock.GetUtcNow() + _installDelay));
                }

                break;
            case "InstallEnterpriseApplication":
                var (_, packageBundle, packageName, packageVersion) = Packages[EnterpriseAsset(command)!.Value.Url];
                if (command.GetValueOrDefault("InstallAsManaged") is true)
                {
                    ManagedApps.Add(packageBundle);
                }

                // The version installed before stays until the new one has arrived (Arrive replaces it).
                _downloading.RemoveAll(d => d.Identifier == packageBundle);
                _downloading.Add((packageBundle, packageName, packageVersion, _clock.GetUtcNow() + _installDelay));
                break;
            case "RemoveApplication":
                var removed = (string)command["Identifier"];
                InstalledApps.RemoveAll(a => a.Identifier == removed);
                _downloading.RemoveAll(a => a.Identifier == removed);
                ManagedApps.Remove(removed);
                break;
            case "InstallProfile":
                var profile = PropertyList.ReadDictionary((byte[])command["Payload"]);
                var restrictions = ((List<object>)profile["PayloadContent"]).Cast<Dictionary<string, object>>()
                    .FirstOrDefault(p => (string)p["PayloadType"] == "com.apple.applicationaccess");
                BlockedApps = Supervised && restrictions?.GetValueOrDefault("blockedAppBundleIDs") is List<object> blocked ? blocked.Cast<string>().ToList() : [];
                break;
            case "ManagedApplicationList":
                Arrive();
                var managed = new Dictionary<string, object>(StringComparer.Ordinal);
                foreach (var id in ManagedApps)
                {
                    managed[id] = ManagedItem(_downloading.Any(d => d.Identifier == id) ? "Installing" : InstalledApps.Any(a => a.Identifier == id) ? "Managed" : "ManagedButUninstalled");
                }

                foreach (var (id, status) in _transient)
                {
                    managed[id] = ManagedItem(status);
                }

                _transient.Clear(); // reported once, as Apple's transient statuses are
                reply["ManagedApplicationList"] = managed;
                break;
            case "DeviceLock":
                Locked = true;
                break;
            case "ScheduleOSUpdate":
                var updates = (command.GetValueOrDefault("Updates") as List<object>)?.OfType<Dictionary<string, object>>() ?? [];
                if (updates.Select(u => u.GetValueOrDefault("ProductVersion") as string).FirstOrDefault(v => v is not null) is { } version)
                {
                    OfferOsUpdate(version);
                }

                reply["UpdateResults"] = new List<object>();
                break;
            case "DeviceInformation":
                var isMac = IsMac;
                reply["QueryResponses"] = new Dictionary<string, object>
                {
                    ["DeviceName"] = (isMac ? "Mac " : "iPad ") + Serial, ["OSVersion"] = OsVersion, ["BuildVersion"] = "22B83", ["SerialNumber"] = Serial,
                    ["ModelName"] = isMac ? "MacBook Air" : "iPad", ["ProductName"] = ProductName, ["Model"] = isMac ? "Z15S" : "MPQ03LL/A",
                    ["DeviceCapacity"] = Capacity.Total, ["AvailableDeviceCapacity"] = Capacity.Available, ["BatteryLevel"] = BatteryLevel, ["IsSupervised"] = Supervised,
                };
                break;
            case "InstalledApplicationList":
                Arrive();

                reply["InstalledApplicationList"] = InstalledApps
                    .Select(a => (object)new Dictionary<string, object> { ["Identifier"] = a.Identifier, ["Name"] = a.Name, ["ShortVersion"] = a.Version, ["Version"] = a.Version })
                    .ToList();
                break;
        }
    }

    // Downloads whose time has come are installed.
    private void Arrive()
    {
        var now = _clock.GetUtcNow();
        foreach (var done in _downloading.Where(d => d.ReadyAt <= now).ToList())
        {
            _downloading.Remove(done);
            InstalledApps.RemoveAll(a => a.Identifier == done.Identifier);
            InstalledApps.Add((done.Identifier, done.Name, done.Version));
        }
    }

    // The software-package asset of an InstallEnterpriseApplication manifest: its https URL and its one SHA-256.
    private static (string Url, string Sha256)? EnterpriseAsset(Dictionary<string, object> command) =>
        (command.GetValueOrDefault("Manifest") as Dictionary<string, object>)?.GetValueOrDefault("items") is List<object> items
        && items.OfType<Dictionary<string, object>>().SelectMany(i => i.GetValueOrDefault("assets") as List<object> ?? []).OfType<Dictionary<string, object>>()
            .FirstOrDefault(a => a.GetValueOrDefault("kind") as string == "software-package") is { } asset
        && asset.GetValueOrDefault("url") is string url && url.StartsWith("https://", StringComparison.Ordinal)
        && asset.GetValueOrDefault("sha256s") is List<object> hashes && hashes.Count == 1 && hashes[0] is string sha256
            ? (url, sha256)
            : null;

    private static Dictionary<string, object> ManagedItem(string status) => new(StringComparer.Ordinal)
    {
        ["Status"] = status, ["ManagementFlags"] = 1L, ["HasConfiguration"] = false, ["HasFeedback"] = false, ["IsValidated"] = true, ["ExternalVersionIdentifier"] = 0L,
    };

    /// <summary>Sends a property list signed with this device's identity (exposed for tests of bad input).</summary>
    public async Task<HttpResponseMessage> SendAsync(string path, Dictionary<string, object> message, CancellationToken cancellationToken = default)
    {
        var body = PropertyList.WriteXml(message);
        return await SendRawAsync(path, body, ProxyCertificateHeader is null ? Sign(body) : null, cancellationToken);
    }

    public async Task<HttpResponseMessage> SendRawAsync(string path, byte[] body, string? signature, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_server, path)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-apple-aspen-mdm");
        request.Headers.ExpectContinue = body.Length > 64 * 1024; // a server refusing a large body answers before it is sent
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("Mdm-Signature", signature);
        }

        if (ProxyCertificateHeader is not null)
        {
            request.Headers.TryAddWithoutValidation(ProxyCertificateHeader, Convert.ToBase64String(Identity.RawData));
        }

        return await _http.SendAsync(request, cancellationToken);
    }

    public string Sign(byte[] body)
    {
        var cms = new SignedCms(new ContentInfo(body), detached: true);
        cms.ComputeSignature(new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, Identity) { IncludeOption = X509IncludeOption.EndCertOnly });
        return Convert.ToBase64String(cms.Encode());
    }

    public void Dispose() => Identity.Dispose();

    /// <summary>True when a response means the server accepted the request.</summary>
    public static bool Accepted(HttpResponseMessage response) => response.StatusCode == HttpStatusCode.OK;
}
