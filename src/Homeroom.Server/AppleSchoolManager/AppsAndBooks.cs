using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Apps;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>An asset (app or book) the organization owns, with its licence counts.</summary>
public sealed record AppleAsset(
    [property: JsonPropertyName("adamId")] string? AdamId,
    [property: JsonPropertyName("pricingParam")] string? PricingParam,
    [property: JsonPropertyName("assignedCount")] int AssignedCount,
    [property: JsonPropertyName("availableCount")] int AvailableCount,
    [property: JsonPropertyName("totalCount")] int TotalCount,
    [property: JsonPropertyName("deviceAssignable")] bool DeviceAssignable,
    [property: JsonPropertyName("productType")] string? ProductType);

/// <summary>One serial number's failure in an Apps and Books event.</summary>
public sealed record AppleEventFailure(
    [property: JsonPropertyName("adamId")] string? AdamId,
    [property: JsonPropertyName("serialNumber")] string? SerialNumber,
    [property: JsonPropertyName("errorNumber")] int? ErrorNumber,
    [property: JsonPropertyName("errorMessage")] string? ErrorMessage);

/// <summary>
/// Apple's Apps and Books for Organizations API with the content token (sToken) as bearer:
/// <c>GET /assets</c> page by page, <c>POST /assets/associate</c> and <c>/assets/disassociate</c> for
/// serial numbers (each answers an event id), and <c>GET /status/{eventId}</c> until the event is
/// COMPLETE or FAILED. Refusals carry Apple's errorNumber.
/// </summary>
public sealed class AppsAndBooksClient(AppleHttp http, IOptions<AppleSchoolManagerOptions> options, TimeProvider time)
{
    /// <summary>Apple's error numbers that mean no licence is left to assign (taken as such wherever they appear).</summary>
    public static readonly IReadOnlySet<int> NoLicenceErrors = new HashSet<int> { 9709 };

    private Uri Url(string path) => new(options.Value.AppsAndBooksUrl.TrimEnd('/') + path);

    public async Task<List<AppleAsset>> AssetsAsync(string contentToken, CancellationToken cancellationToken)
    {
        var all = new List<AppleAsset>();
        for (var page = 0; page < 1000; page++)
        {
            var answer = await SendAsync<AssetsPage>(contentToken, HttpMethod.Get, $"/assets?pageIndex={page.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);
            all.AddRange(answer.Assets ?? []);
            var next = answer.NextPageIndex ?? (answer.CurrentPageIndex + 1 < answer.TotalPages ? answer.CurrentPageIndex + 1 : null);
            if (next is null)
            {
                break;
            }
        }

        return all;
    }

    /// <summary>Associates (or disassociates) one asset with serial numbers and waits for Apple's event to end; its failures.</summary>
    public async Task<IReadOnlyList<AppleEventFailure>> ChangeAsync(string contentToken, bool associate, string adamId, string pricingParam, IReadOnlyList<string> serials, CancellationToken cancellationToken)
    {
        var body = new { assets = new[] { new { adamId, pricingParam } }, serialNumbers = serials };
        var started = await SendAsync<EventAnswer>(contentToken, HttpMethod.Post, associate ? "/assets/associate" : "/assets/disassociate", body, cancellationToken);
        if (started.EventId is not { Length: > 0 and <= 200 } eventId)
        {
            throw new AppleServiceException(AppleFailure.Malformed, "Apple's answer has no eventId.");
        }

        for (var attempt = 0; attempt < options.Value.EventPollAttempts; attempt++)
        {
            var status = await SendAsync<EventStatusAnswer>(contentToken, HttpMethod.Get, "/status/" + Uri.EscapeDataString(eventId), null, cancellationToken);
            switch (status.EventStatus)
            {
                case "COMPLETE":
                case "FAILED":
                    return status.Failures ?? (status.EventStatus == "FAILED"
                        ? serials.Select(s => new AppleEventFailure(adamId, s, null, "Apple reports the event failed.")).ToList()
                        : []);
                case "PENDING":
                    await Task.Delay(options.Value.EventPollInterval, time, cancellationToken);
                    break;
                default:
                    throw new AppleServiceException(AppleFailure.Malformed, "Apple's event status is not PENDING, COMPLETE or FAILED.");
            }
        }

        throw new AppleServiceException(AppleFailure.RetryLater, $"Apple's event {eventId} did not finish in time.");
    }

    private async Task<T> SendAsync<T>(string contentToken, HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var answer = await http.SendAsync(() =>
        {
            var request = new HttpRequestMessage(method, Url(path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", contentToken);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, options: AppleJson.Options);
            }

            return request;
        }, cancellationToken);
        if (answer.Status == HttpStatusCode.Unauthorized)
        {
            throw new AppleServiceException(AppleFailure.Unauthorized, "Apple refused the content token: it may have expired or been replaced; upload a new one.");
        }

        if (!answer.Ok)
        {
            var error = TryError(answer.Body);
            throw new AppleServiceException(AppleFailure.Refused,
                $"Apple refused {method} {path.Split('?')[0]}: {error?.ErrorMessage ?? ((int)answer.Status).ToString(CultureInfo.InvariantCulture)}",
                error?.ErrorNumber?.ToString(CultureInfo.InvariantCulture));
        }

        return answer.Json<T>($"{method} {path.Split('?')[0]}");
    }

    private static ErrorAnswer? TryError(byte[] body)
    {
        try
        {
            return JsonSerializer.Deserialize<ErrorAnswer>(body, AppleJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record AssetsPage(
        [property: JsonPropertyName("assets")] List<AppleAsset>? Assets,
        [property: JsonPropertyName("currentPageIndex")] int CurrentPageIndex,
        [property: JsonPropertyName("totalPages")] int TotalPages,
        [property: JsonPropertyName("nextPageIndex")] int? NextPageIndex);

    private sealed record EventAnswer([property: JsonPropertyName("eventId")] string? EventId);

    private sealed record EventStatusAnswer(
        [property: JsonPropertyName("eventStatus")] string? EventStatus,
        [property: JsonPropertyName("failures")] List<AppleEventFailure>? Failures);

    private sealed record ErrorAnswer(
        [property: JsonPropertyName("errorNumber")] int? ErrorNumber,
        [property: JsonPropertyName("errorMessage")] string? ErrorMessage);
}

/// <summary>The content token in use, decrypted once and kept in memory (set on upload, read from the database at start).</summary>
public sealed class AsmContentTokenCache(IDbContextFactory<HomeroomDbContext> dbFactory, AsmTokenVault vault)
{
    private volatile ContentToken? _token;
    private volatile bool _loaded;

    public ContentToken? Current => _token;

    public bool Loaded => _loaded;

    public void Set(ContentToken? token)
    {
        _token = token;
        _loaded = true;
    }

    public async Task<ContentToken?> GetAsync(CancellationToken cancellationToken)
    {
        if (!_loaded)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var stored = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).Select(s => s.ContentToken).FirstOrDefaultAsync(cancellationToken);
            Set(stored is null ? null : vault.Unprotect<ContentToken>(stored));
        }

        return _token;
    }
}

/// <summary>
/// Volume-purchase licences through Apple's Apps and Books when a content token is uploaded; until
/// then (or after it is removed) licences are only counted locally, as <see cref="LocalVolumePurchaseLicences"/> does.
/// Apple's "no licences available" is <see cref="VolumeLicenceOutcome.NoLicence"/>; rate limits, outages,
/// a refused token and events that do not finish are <see cref="VolumeLicenceOutcome.RetryLater"/>; an
/// unknown serial number or asset, and anything else Apple refuses, <see cref="VolumeLicenceOutcome.Failed"/>.
/// </summary>
public sealed class AppleVolumePurchaseLicences(AppsAndBooksClient client, AsmContentTokenCache tokens, TimeProvider time, ILogger<AppleVolumePurchaseLicences> logger) : IVolumePurchaseLicences
{
    private readonly ConcurrentDictionary<string, string> _pricing = new(StringComparer.Ordinal);

    public bool AssignedByApple => tokens.Current is not null && tokens.Current.ExpiresAt > time.GetUtcNow().UtcDateTime;

    /// <summary>Remembers each asset's pricing parameter (STDQ or PLUS) from the last asset list.</summary>
    public void Remember(IEnumerable<AppleAsset> assets)
    {
        foreach (var asset in assets.Where(a => a.AdamId is not null && a.PricingParam is { Length: > 0 and <= 10 }))
        {
            _pricing[asset.AdamId!] = asset.PricingParam!;
        }
    }

    public Task<VolumeLicenceResult> AssignAsync(string adamId, string serialNumber, CancellationToken cancellationToken) =>
        ChangeAsync(associate: true, adamId, serialNumber, cancellationToken);

    public Task<VolumeLicenceResult> ReleaseAsync(string adamId, string serialNumber, CancellationToken cancellationToken) =>
        ChangeAsync(associate: false, adamId, serialNumber, cancellationToken);

    private async Task<VolumeLicenceResult> ChangeAsync(bool associate, string adamId, string serialNumber, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken);
        if (token is null)
        {
            return new VolumeLicenceResult(VolumeLicenceOutcome.Done);
        }

        try
        {
            var failures = await client.ChangeAsync(token.Value, associate, adamId, _pricing.GetValueOrDefault(adamId, "STDQ"), [serialNumber], cancellationToken);
            var failure = failures.FirstOrDefault(f => f.SerialNumber is null || f.SerialNumber == serialNumber);
            return failure is null ? new VolumeLicenceResult(VolumeLicenceOutcome.Done) : Map(failure.ErrorNumber, failure.ErrorMessage);
        }
        catch (AppleServiceException e)
        {
            AppleSchoolManagerLog.LicenceRequestFailed(logger, adamId, e.Failure, e.Message);
            return e.Failure switch
            {
                AppleFailure.Refused => Map(int.TryParse(e.Code, CultureInfo.InvariantCulture, out var number) ? number : null, e.Message),
                _ => new VolumeLicenceResult(VolumeLicenceOutcome.RetryLater, e.Message),
            };
        }
    }

    private static VolumeLicenceResult Map(int? errorNumber, string? message)
    {
        var text = message ?? "Apple refused the licence.";
        if ((errorNumber is { } n && AppsAndBooksClient.NoLicenceErrors.Contains(n))
            || text.Contains("insufficient", StringComparison.OrdinalIgnoreCase) || text.Contains("no licenses available", StringComparison.OrdinalIgnoreCase))
        {
            return new VolumeLicenceResult(VolumeLicenceOutcome.NoLicence, $"No licence left in Apple School Manager ({text}).");
        }

        return new VolumeLicenceResult(VolumeLicenceOutcome.Failed, errorNumber is null ? text : $"{text} (Apple error {errorNumber})");
    }
}

/// <summary>
/// Reads the organization's assets from Apps and Books and writes each one's total licence count into
/// the catalog entries with that App Store id, through <see cref="AppCatalog"/> (so each change is an
/// audited <c>app.update</c> by the system).
/// </summary>
public sealed class AppsAndBooksLicenceSync(
    IDbContextFactory<HomeroomDbContext> dbFactory, AsmContentTokenCache tokens, AppsAndBooksClient client, IVolumePurchaseLicences licences, AppCatalog catalog,
    TimeProvider time, ILogger<AppsAndBooksLicenceSync> logger)
{
    /// <summary>Catalog entries changed, or null without a content token; an Apple failure is stored and returned as the error.</summary>
    public async Task<(int? Updated, string? Error)> RunAsync(CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken);
        if (token is null)
        {
            return (null, null);
        }

        List<AppleAsset> assets;
        try
        {
            assets = await client.AssetsAsync(token.Value, cancellationToken);
        }
        catch (AppleServiceException e)
        {
            AppleSchoolManagerLog.LicenceRequestFailed(logger, "assets", e.Failure, e.Message);
            return (0, e.Message);
        }

        (licences as AppleVolumePurchaseLicences)?.Remember(assets);
        var totals = assets.Where(a => a.AdamId is not null && a.TotalCount >= 0).GroupBy(a => a.AdamId!).ToDictionary(g => g.Key, g => Math.Min(g.Sum(a => a.TotalCount), AppCatalog.MaxLicenses));
        var updated = 0;
        using (AuditTrail.ActAs(new AuditActor(null, "Apple School Manager", null)))
        {
            foreach (var app in await catalog.ListAsync(StaffScope.System, null, null, cancellationToken))
            {
                if (app.AppleAdamId is { } adamId && totals.TryGetValue(adamId, out var total) && app.LicensesPurchased != total)
                {
                    await catalog.UpdateAsync(StaffScope.System, app.Id, new AppRequest(app.Name, app.Category, app.IconUrl, app.ChromeExtensionId, app.WebAppUrl,
                        app.AppleAdamId, app.AppleBundleId, app.WindowsPackageId, app.AndroidPackage, total, app.LinuxPackage, [.. app.WindowsExecutables], app.MacPackage), cancellationToken);
                    updated++;
                }
            }
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await db.Set<AsmSettings>().ExecuteUpdateAsync(s => s.SetProperty(x => x.LicencesSyncedAt, time.GetUtcNow().UtcDateTime), cancellationToken);
        return (updated, null);
    }
}
