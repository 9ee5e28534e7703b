using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

public sealed record LoginRequest(string? Username, string? Password, string? Code = null);

public sealed record MeDto(Guid Id, string Username, string DisplayName, string AuthMethod);

public sealed record CreateApiKeyRequest(string? Name);

public sealed record ApiKeyDto(Guid Id, string Name, string KeyPrefix, DateTime CreatedAt, DateTime? RevokedAt);

public sealed record CreatedApiKeyDto(Guid Id, string Name, string KeyPrefix, DateTime CreatedAt, string Key);

public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);

public static class AccountEndpoints
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 1024;

    public const string SignInRateLimit = "sign-in";

    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Accounts");
        auth.MapPost("/login", LoginAsync).AllowAnonymous().RequireRateLimiting(SignInRateLimit)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        auth.MapPost("/logout", LogoutAsync).RequireStaff(Permission.OwnAccount);
        auth.MapGet("/me", MeAsync).RequireStaff(Permission.OwnAccount);
        auth.MapPost("/password", ChangePasswordAsync).RequireStaff(Permission.OwnAccount);
        auth.MapGet("/sessions", ListSessionsAsync).RequireStaff(Permission.OwnAccount);
        auth.MapDelete("/sessions/{id:guid}", EndSessionAsync).RequireStaff(Permission.OwnAccount);
        auth.MapDelete("/sessions", EndOtherSessionsAsync).RequireStaff(Permission.OwnAccount);

        // Two-step sign-in of the caller's own account (StaffTwoStep): each change needs the password or a code.
        auth.MapGet("/two-step", TwoStepStatusAsync).RequireStaff(Permission.OwnAccount);
        auth.MapPost("/two-step/setup", BeginTwoStepAsync).RequireStaff(Permission.OwnAccount)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);
        auth.MapPost("/two-step/confirm", ConfirmTwoStepAsync).RequireStaff(Permission.OwnAccount)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        auth.MapPost("/two-step/recovery-codes", NewRecoveryCodesAsync).RequireStaff(Permission.OwnAccount)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);
        auth.MapPost("/two-step/disable", DisableTwoStepAsync).RequireStaff(Permission.OwnAccount)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);

        // API keys are the caller's own (ApiKeyDirectory): each query is limited to their account.
        var keys = app.MapGroup("/api/api-keys").WithTags("Accounts");
        keys.MapGet("/", ListKeysAsync).RequireStaff(Permission.OwnAccount);
        keys.MapPost("/", CreateKeyAsync).RequireStaff(Permission.OwnAccount);
        keys.MapDelete("/{id:guid}", RevokeKeyAsync).RequireStaff(Permission.OwnAccount);
        return app;
    }

    /// <summary>
    /// Signs in with a password and sets the session cookie. 401 for a wrong name or password or a
    /// disabled account (one answer for all); 429 with Retry-After when this address has failed too
    /// often for this name and must wait (the password is not looked at).
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> LoginAsync(
        LoginRequest request, StaffSignIn signIn, HttpContext context, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("username", request.Username, 100).Required("password", request.Password, 1024)
            .Optional("code", request.Code, StaffTwoStep.MaxCodeLength);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var result = await signIn.SignInAsync(context, request.Username!, request.Password!, request.Code, cancellationToken);
        switch (result.Outcome)
        {
            case SignInOutcome.Throttled:
                context.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed sign-ins",
                    detail: $"Too many failed sign-ins for this name from your address. Try again in {result.RetryAfterSeconds} seconds.");
            case SignInOutcome.CodeRequired:
                return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Code required",
                    detail: "This account signs in in two steps: send the code from its authenticator app (or a recovery code) as 'code'.",
                    extensions: new Dictionary<string, object?> { ["codeRequired"] = true });
            case SignInOutcome.Failed:
                // The same answer whether the name exists, the password is wrong or the account is disabled.
                return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in failed", detail: "Wrong username or password.");
            default:
                return TypedResults.NoContent();
        }
    }

    /// <summary>Changes the signed-in account's password; the current one is required.</summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> ChangePasswordAsync(
        ChangePasswordRequest request, HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        var (validation, changed) = await signIn.ChangePasswordAsync(
            StaffUser.From(context.User).Id, StaffSessions.SessionOf(context.User), request.CurrentPassword, request.NewPassword, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        return changed
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Password not changed", detail: "The current password is wrong.");
    }

    /// <summary>The signed-in account's sessions that still hold; <c>current</c> marks the caller's own.</summary>
    private static async Task<Ok<List<StaffSessionDto>>> ListSessionsAsync(HttpContext context, StaffSessions sessions, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sessions.ListActiveAsync(StaffUser.From(context.User).Id, StaffSessions.SessionOf(context.User), cancellationToken));

    /// <summary>Ends one of the signed-in account's sessions (its cookie stops working at once).</summary>
    private static async Task<Results<NoContent, NotFound>> EndSessionAsync(Guid id, HttpContext context, StaffSessions sessions, CancellationToken cancellationToken) =>
        await sessions.EndAsync(StaffUser.From(context.User).Id, id, StaffSessions.SessionOf(context.User), cancellationToken) > 0
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    /// <summary>Ends every session of the signed-in account except the caller's own.</summary>
    private static async Task<NoContent> EndOtherSessionsAsync(HttpContext context, StaffSessions sessions, CancellationToken cancellationToken)
    {
        await sessions.EndAsync(StaffUser.From(context.User).Id, null, StaffSessions.SessionOf(context.User), cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> LogoutAsync(HttpContext context, StaffSignIn signIn, CancellationToken cancellationToken)
    {
        await signIn.SignOutAsync(context, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<MeDto>, NotFound>> MeAsync(HttpContext context, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var user = StaffUser.From(context.User);
        var account = await db.StaffAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == user.Id, cancellationToken);
        return account is null
            ? TypedResults.NotFound()
            : TypedResults.Ok(new MeDto(account.Id, account.Username, account.DisplayName, context.User.FindFirst(StaffUser.AuthMethodClaim)?.Value ?? "unknown"));
    }

    private static async Task<Ok<List<ApiKeyDto>>> ListKeysAsync(StaffScope scope, ApiKeyDirectory keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.ListAsync(scope, cancellationToken));

    private static async Task<Results<Created<CreatedApiKeyDto>, ValidationProblem, ProblemHttpResult>> CreateKeyAsync(
        CreateApiKeyRequest request, StaffScope scope, ApiKeyDirectory keys, CancellationToken cancellationToken)
    {
        if (scope.MustSetUpTwoStep)
        {
            // A key would sign in without the second step the district requires.
            return TwoStepFirst();
        }

        var key = await keys.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/api-keys/{key.Id}", key);
    }

    private static async Task<Results<NoContent, NotFound>> RevokeKeyAsync(Guid id, StaffScope scope, ApiKeyDirectory keys, CancellationToken cancellationToken) =>
        await keys.RevokeAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static ProblemHttpResult TwoStepFirst() => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Two-step sign-in required",
        detail: "The district requires two-step sign-in for your role: set it up on your account page first.");

    private static async Task<Results<Ok<TwoStepStatusDto>, NotFound>> TwoStepStatusAsync(StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken) =>
        await twoStep.StatusAsync(scope.AccountId, cancellationToken) is { } status ? TypedResults.Ok(status) : TypedResults.NotFound();

    private static async Task<Results<Ok<TwoStepSetupDto>, ValidationProblem, ProblemHttpResult>> BeginTwoStepAsync(
        TwoStepPasswordRequest request, StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("currentPassword", request.CurrentPassword, MaxPasswordLength);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var (outcome, setup) = await twoStep.BeginSetupAsync(scope.AccountId, request.CurrentPassword!, cancellationToken);
        return setup is not null ? TypedResults.Ok(setup) : TwoStepRefusal(outcome);
    }

    private static async Task<Results<Ok<RecoveryCodesDto>, ValidationProblem, ProblemHttpResult>> ConfirmTwoStepAsync(
        TwoStepConfirmRequest request, HttpContext context, StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("code", request.Code, StaffTwoStep.MaxCodeLength);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var (outcome, codes) = await twoStep.ConfirmAsync(scope.AccountId, StaffSessions.SessionOf(context.User), request.Code!, cancellationToken);
        return codes is not null ? TypedResults.Ok(codes) : TwoStepRefusal(outcome);
    }

    private static async Task<Results<Ok<RecoveryCodesDto>, ValidationProblem, ProblemHttpResult>> NewRecoveryCodesAsync(
        TwoStepPasswordRequest request, StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("currentPassword", request.CurrentPassword, MaxPasswordLength);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var (outcome, codes) = await twoStep.NewRecoveryCodesAsync(scope.AccountId, request.CurrentPassword!, cancellationToken);
        return codes is not null ? TypedResults.Ok(codes) : TwoStepRefusal(outcome);
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DisableTwoStepAsync(
        TwoStepDisableRequest request, HttpContext context, StaffScope scope, StaffTwoStep twoStep, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("currentPassword", request.CurrentPassword, MaxPasswordLength).Required("code", request.Code, StaffTwoStep.MaxCodeLength);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var outcome = await twoStep.DisableAsync(scope.AccountId, StaffSessions.SessionOf(context.User), request.CurrentPassword!, request.Code!, cancellationToken);
        return outcome == TwoStepOutcome.Done ? TypedResults.NoContent() : TwoStepRefusal(outcome);
    }

    private static ProblemHttpResult TwoStepRefusal(TwoStepOutcome outcome) => outcome switch
    {
        TwoStepOutcome.WrongPassword => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Wrong password", detail: "The current password is wrong."),
        TwoStepOutcome.WrongCode => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Wrong code", detail: "The code is wrong, expired or already used."),
        TwoStepOutcome.NotSetUp => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Two-step sign-in is not set up", detail: "Set it up first."),
        TwoStepOutcome.AlreadyOn => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Two-step sign-in is already on", detail: "Turn it off first to use another authenticator."),
        _ => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Two-step sign-in is required", detail: "The district requires two-step sign-in for your role."),
    };
}
