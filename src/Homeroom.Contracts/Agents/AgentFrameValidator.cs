namespace Homeroom.Contracts.Agents;

/// <summary>Checks an agent frame against the limits of <see cref="ProtocolLimits"/>.</summary>
public static class AgentFrameValidator
{
    /// <summary>Returns null when the frame is valid, otherwise a short reason fit for a close message.</summary>
    public static string? Validate(AgentFrame frame) => frame switch
    {
        AuthFrame f => f.Credential is null or { Length: 0 or > ProtocolLimits.MaxShortText } ? "credential missing or too long"
            : TooLong(f.AgentVersion, ProtocolLimits.MaxShortText, "agentVersion"),
        HeartbeatFrame f => ValidateHeartbeat(f),
        InventoryFrame f => ValidateInventory(f),
        ActivityFrame f => ValidateActivity(f),
        SignalsFrame f => ValidateSignals(f),
        HelpRequestFrame f => HelpRequestLimits.Validate(f),
        DiagnosticsFrame f => DiagnosticsLimits.Validate(f),
        ScriptResultFrame f => ScriptLimits.Validate(f),
        RemoteSessionStatusFrame f => RemoteLimits.Validate(f),
        RemoteFileStatusFrame f => RemoteFileLimits.Validate(f),
        RemoteClipboardContentFrame f => RemoteLimits.Validate(f),
        RemoteFileRequestStatusFrame f => RemoteFileLimits.Validate(f),
        RemoteFileUploadFrame f => RemoteFileLimits.Validate(f),
        CommandStatusFrame f => ValidateCommandStatus(f),
        PolicyStatusFrame f => f.Version < 0 ? "policy version is negative"
            : f.Failures is { Count: > 64 } ? "too many policy failures"
            : f.Failures?.Any(x => x is null || x.Length > ProtocolLimits.MaxShortText) == true ? "policy failure text too long" : null,
        _ => "frame type is not sent by agents",
    };

    private static string? ValidateHeartbeat(HeartbeatFrame f)
    {
        if (f.Battery is { Level: < 0 or > 100 })
        {
            return "battery level must be 0 to 100";
        }

        if (f.Network is { } n && (n.Kind is null || n.Kind.Length > 32 || n.Ssid?.Length > 64 || n.IpAddress?.Length > 64))
        {
            return "network fields invalid";
        }

        if (f.Location is { } l && (!double.IsFinite(l.Latitude) || !double.IsFinite(l.Longitude) || l.Latitude is < -90 or > 90
            || l.Longitude is < -180 or > 180 || !double.IsFinite(l.AccuracyMeters) || l.AccuracyMeters < 0))
        {
            return "location out of range";
        }

        return null;
    }

    private static string? ValidateInventory(InventoryFrame f)
    {
        var reason = TooLong(f.OsName, ProtocolLimits.MaxShortText, "osName")
            ?? TooLong(f.OsVersion, ProtocolLimits.MaxShortText, "osVersion")
            ?? TooLong(f.Model, ProtocolLimits.MaxShortText, "model")
            ?? TooLong(f.Manufacturer, ProtocolLimits.MaxShortText, "manufacturer");
        if (reason is not null)
        {
            return reason;
        }

        if (f.StorageTotalBytes < 0 || f.StorageFreeBytes < 0)
        {
            return "storage must not be negative";
        }

        if (f.Capabilities is { } capabilities
            && (capabilities.Count > ProtocolLimits.MaxCapabilities
                || capabilities.Any(c => c is null || string.IsNullOrEmpty(c.Name) || c.Name.Length > 64 || c.Reason?.Length > ProtocolLimits.MaxShortText)))
        {
            return "capabilities invalid";
        }

        if (f.OsUpdates is { } updates && ValidateOsUpdates(updates) is { } updatesReason)
        {
            return updatesReason;
        }

        if (f.SignedInUser is { } user && ValidateSignedInUser(user) is { } userReason)
        {
            return userReason;
        }

        if (f.Apps is null)
        {
            return null;
        }

        if (f.Apps.Count > ProtocolLimits.MaxInventoryApps)
        {
            return "too many apps";
        }

        foreach (var app in f.Apps)
        {
            if (app is null || string.IsNullOrEmpty(app.Id) || app.Id.Length > ProtocolLimits.MaxShortText
                || app.Name?.Length > ProtocolLimits.MaxShortText || app.Version?.Length > ProtocolLimits.MaxShortText)
            {
                return "app entry invalid";
            }
        }

        return null;
    }

    private static string? ValidateSignedInUser(SignedInUser user)
    {
        if ((TooLong(user.Email, ProtocolLimits.MaxSignedInEmailLength, "signedInUser.email") ?? TooLong(user.Id, ProtocolLimits.MaxShortText, "signedInUser.id")) is { } reason)
        {
            return reason;
        }

        if (!string.IsNullOrEmpty(user.Email) && !IsEmailShaped(user.Email))
        {
            return "signedInUser.email is not an e-mail address";
        }

        return user.Id is not null && user.Id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) ? "signedInUser.id has spaces or control characters" : null;
    }

    /// <summary>
    /// One <c>@</c> with something on both sides, a dot in the domain not at its ends, and no spaces or
    /// control characters: the shape of an address, not proof that it exists.
    /// </summary>
    public static bool IsEmailShaped(string value)
    {
        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != value.LastIndexOf('@') || at == value.Length - 1)
        {
            return false;
        }

        var domain = value.AsSpan(at + 1);
        return domain.Contains('.') && domain[0] != '.' && domain[^1] != '.'
            && !value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c));
    }

    internal static string? ValidateOsUpdates(OsUpdateStatus u)
    {
        if (u.Pending is < 0 or > ProtocolLimits.MaxOsUpdates || u.Security < 0 || u.Security > u.Pending)
        {
            return "osUpdates counts invalid";
        }

        if (u.LastInstallOk is null != u.LastInstallAt is null)
        {
            return "osUpdates install outcome incomplete";
        }

        return TooLong(u.LastInstallResult, ProtocolLimits.MaxShortText, "osUpdates.lastInstallResult")
            ?? TooLong(u.Error, ProtocolLimits.MaxShortText, "osUpdates.error");
    }

    private static string? ValidateActivity(ActivityFrame f)
    {
        if (f.Events is null || f.Events.Count == 0)
        {
            return "activity frame has no events";
        }

        if (f.Events.Count > ProtocolLimits.MaxActivityEventsPerFrame)
        {
            return "too many activity events";
        }

        long previous = 0;
        foreach (var e in f.Events)
        {
            if (e is null || e.Seq <= previous)
            {
                return "activity seq must be positive and increasing";
            }

            previous = e.Seq;
            if (e.Kind is null || !ActivityKinds.All.Contains(e.Kind))
            {
                return "unknown activity kind";
            }

            var reason = TooLong(e.Url, ProtocolLimits.MaxUrlLength, "url")
                ?? TooLong(e.Title, ProtocolLimits.MaxShortText, "title")
                ?? TooLong(e.AppId, ProtocolLimits.MaxShortText, "appId")
                ?? TooLong(e.Detail, ProtocolLimits.MaxShortText, "detail");
            if (reason is not null)
            {
                return reason;
            }

            if (e.DurationSeconds is < 0 or > 86_400)
            {
                return "durationSeconds out of range";
            }

            reason = e.Kind switch
            {
                ActivityKinds.WebUsage => ValidateWebUsage(e),
                ActivityKinds.AppInventory => string.IsNullOrEmpty(e.AppId) ? "app.inventory needs an appId" : null,
                _ => null,
            };
            if (reason is not null)
            {
                return reason;
            }
        }

        return null;
    }

    // Time on a site is reported per origin only: a path or query could say what the student read.
    private static string? ValidateWebUsage(ActivityEvent e)
    {
        if (e.DurationSeconds is not (>= 1 and <= ProtocolLimits.MaxWebUsageSeconds))
        {
            return "web.usage durationSeconds must be 1 to 3600";
        }

        if (e.Detail is not (ActivityKinds.WebUsageFocused or ActivityKinds.WebUsageUnfocused))
        {
            return "web.usage detail must be focused or unfocused";
        }

        return IsOrigin(e.Url) ? null : "web.usage url must be an origin (https://host/) without path or query";
    }

    /// <summary>True for <c>http(s)://host[:port]/</c> and nothing more: no user, path, query or fragment.</summary>
    public static bool IsOrigin(string? url) =>
        url is not null
        && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && uri.UserInfo.Length == 0
        && string.Equals(url, uri.GetLeftPart(UriPartial.Authority) + "/", StringComparison.OrdinalIgnoreCase);

    private static string? ValidateSignals(SignalsFrame f)
    {
        if (f.Batch is < 1 or > ProtocolLimits.MaxSignalBatch)
        {
            return "signals batch out of range";
        }

        if (f.Signals is null || f.Signals.Count == 0)
        {
            return "signals frame has no signals";
        }

        if (f.Signals.Count > ProtocolLimits.MaxSignalsPerFrame)
        {
            return "too many signals";
        }

        foreach (var signal in f.Signals)
        {
            if (signal is null || signal.OccurredAt == default)
            {
                return "signal occurredAt missing";
            }

            if (signal.Source is null || !SignalSources.All.Contains(signal.Source))
            {
                return "unknown signal source";
            }

            if (string.IsNullOrEmpty(signal.Text))
            {
                return "signal text missing";
            }

            if (TooLong(signal.Text, ProtocolLimits.MaxSignalTextLength, "signal text") is { } text)
            {
                return text;
            }

            if (TooLong(signal.Url, ProtocolLimits.MaxUrlLength, "url") is { } url)
            {
                return url;
            }
        }

        return null;
    }

    private static string? ValidateCommandStatus(CommandStatusFrame f)
    {
        if (f.Status is not (CommandStatusValues.Acknowledged or CommandStatusValues.Succeeded or CommandStatusValues.Failed))
        {
            return "unknown command status";
        }

        return TooLong(f.Error, ProtocolLimits.MaxLongText, "error") ?? TooLong(f.Result, ProtocolLimits.MaxLongText, "result");
    }

    private static string? TooLong(string? value, int max, string name) =>
        value is not null && value.Length > max ? $"{name} too long" : null;
}
