using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <summary>
/// Profiles and assignments loaded once and shared by the per-device policy gates (location and
/// safety consent), so resolving one device's policy does not read every profile again. Reloaded
/// after the distributor's next full pass or after <see cref="MaxAge"/>, whichever comes first;
/// concurrent callers share one load.
/// </summary>
public sealed class SharedPolicyModel
{
    /// <summary>Longest the model is used without reloading.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private readonly IDbContextFactory<HomeroomDbContext> _dbFactory;
    private volatile Task<(PolicyModel Model, DateTimeOffset Until)>? _model;

    public SharedPolicyModel(IDbContextFactory<HomeroomDbContext> dbFactory, PolicyDistributor distributor)
    {
        _dbFactory = dbFactory;
        distributor.PassCompleted += pass =>
        {
            if (pass.Full)
            {
                _model = null;
            }
        };
    }

    /// <summary>The current model, loading it when there is none or it is older than <see cref="MaxAge"/>.</summary>
    public async Task<PolicyModel> GetAsync(DateTimeOffset now)
    {
        var current = _model;
        if (current is not null && (!current.IsCompleted || (current.IsCompletedSuccessfully && current.Result.Until > now)))
        {
            return (await current).Model;
        }

        var loading = LoadAsync(now); // shared by every caller, so not cancelled with the first
        _model = loading;
        try
        {
            return (await loading).Model;
        }
        catch
        {
            _model = null;
            throw;
        }
    }

    private async Task<(PolicyModel Model, DateTimeOffset Until)> LoadAsync(DateTimeOffset now)
    {
        await using var db = await _dbFactory.CreateDbContextAsync();
        return (await PolicyModel.LoadAsync(db, CancellationToken.None), now + MaxAge);
    }
}
