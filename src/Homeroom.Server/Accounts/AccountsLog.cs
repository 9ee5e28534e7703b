namespace Homeroom.Server.Accounts;

internal static partial class AccountsLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Created the admin account (generated password: {Generated})")]
    public static partial void AdminCreated(ILogger logger, bool generated);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Registered the bootstrap API key for the admin account")]
    public static partial void BootstrapKeyRegistered(ILogger logger);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Failed sign-in for {Username} from {RemoteAddress}")]
    public static partial void SignInFailed(ILogger logger, string username, string? remoteAddress);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Refused a sign-in for {Username} from {RemoteAddress}: too many failures, waiting")]
    public static partial void SignInThrottled(ILogger logger, string username, string? remoteAddress);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Checking a console connection's session failed; signing the connection out")]
    public static partial void ConsoleRevalidationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Refused a single sign-on with {Provider} from {RemoteAddress}: {Reason}")]
    public static partial void SingleSignOnRefused(ILogger logger, string provider, string? remoteAddress, string reason);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Created staff account {AccountId} at its first single sign-on with {Provider}")]
    public static partial void SingleSignOnAccountCreated(ILogger logger, Guid accountId, string provider);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Refused security key {KeyId} of account {AccountId}: its signature counter did not go up, the key may have been copied")]
    public static partial void SecurityKeyCounterWentBack(ILogger logger, Guid keyId, Guid accountId);
}
