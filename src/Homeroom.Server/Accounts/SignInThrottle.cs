using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Slows password guessing per (account name, client address) instead of locking accounts: after
/// <see cref="AccountOptions.SignInFreeAttempts"/> failures, each further attempt from that address for
/// that name must wait <see cref="AccountOptions.SignInBaseDelay"/>, doubling with every failure up to
/// <see cref="AccountOptions.SignInMaxDelay"/>. A stranger's guesses slow only the stranger: the real
/// staff member, from another address, signs in as usual. Names that do not exist are throttled
/// exactly like names that do, so the answer never says which names exist.
/// </summary>
/// <remarks>
/// An attempt counts as a failure from the moment it starts until it succeeds, so parallel guesses
/// cannot all slip through before the first one fails. State is kept in memory, bounded by
/// <see cref="AccountOptions.SignInMaxTrackedPairs"/>; a restart forgets it (the per-address rate limit
/// still applies).
/// </remarks>
public sealed class SignInThrottle(IOptions<AccountOptions> options, TimeProvider time)
{
    private readonly Dictionary<(string Name, string Address), Entry> _entries = [];
    private readonly Lock _lock = new();
    private DateTimeOffset _nextSweep;

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset LastAttempt;
        public DateTimeOffset NotBefore;
    }

    /// <summary>
    /// Starts an attempt. Returns how long the caller must still wait (the attempt is refused without
    /// looking at the password), or null when it may go ahead; then it counts as failed until
    /// <see cref="Succeeded"/>.
    /// </summary>
    public TimeSpan? Begin(string name, IPAddress? address)
    {
        var key = (name, AddressKey(address));
        var now = time.GetUtcNow();
        var settings = options.Value;
        lock (_lock)
        {
            SweepIfDue(now, settings);
            if (_entries.TryGetValue(key, out var entry) && now - entry.LastAttempt > settings.SignInFailureMemory)
            {
                _entries.Remove(key);
                entry = null;
            }

            if (entry is not null && entry.NotBefore > now)
            {
                return entry.NotBefore - now;
            }

            if (entry is null)
            {
                if (_entries.Count >= settings.SignInMaxTrackedPairs)
                {
                    MakeRoom(settings.SignInMaxTrackedPairs);
                }

                entry = new Entry();
                _entries[key] = entry;
            }

            entry.Failures++;
            entry.LastAttempt = now;
            if (entry.Failures >= settings.SignInFreeAttempts)
            {
                entry.NotBefore = now + DelayAfter(entry.Failures, settings);
            }

            return null;
        }
    }

    /// <summary>Whether an attempt for this name and address would have to wait now (nothing is counted).</summary>
    public bool MustWait(string name, IPAddress? address)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            return _entries.TryGetValue((name, AddressKey(address)), out var entry)
                && now - entry.LastAttempt <= options.Value.SignInFailureMemory && entry.NotBefore > now;
        }
    }

    /// <summary>The attempt begun for this name and address had the right password: forget its failures.</summary>
    public void Succeeded(string name, IPAddress? address)
    {
        lock (_lock)
        {
            _entries.Remove((name, AddressKey(address)));
        }
    }

    /// <summary>The wait after <paramref name="failures"/> failures: none before the free attempts are used, then 1, 2, 4 ... times the base delay, capped.</summary>
    public static TimeSpan DelayAfter(int failures, AccountOptions settings)
    {
        var doublings = failures - settings.SignInFreeAttempts;
        if (doublings < 0)
        {
            return TimeSpan.Zero;
        }

        // 2^30 base delays is far beyond any allowed maximum; stop doubling before the arithmetic overflows.
        var delay = settings.SignInBaseDelay * Math.Pow(2, Math.Min(doublings, 30));
        return delay < settings.SignInMaxDelay ? delay : settings.SignInMaxDelay;
    }

    /// <summary>
    /// The address a client is known by: IPv4 as is, IPv6 by its /64 network, since one subscriber
    /// usually holds a whole /64 and could otherwise rotate through addresses for free.
    /// </summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }

        return address.ToString();
    }

    private void SweepIfDue(DateTimeOffset now, AccountOptions settings)
    {
        if (now < _nextSweep)
        {
            return;
        }

        _nextSweep = now + TimeSpan.FromMinutes(1);
        foreach (var (key, entry) in _entries)
        {
            if (now - entry.LastAttempt > settings.SignInFailureMemory)
            {
                _entries.Remove(key);
            }
        }
    }

    // Forgets the least recently tried quarter at once, so a flood of new pairs costs one sort per
    // quarter of the table rather than a scan per attempt.
    private void MakeRoom(int capacity)
    {
        foreach (var key in _entries.OrderBy(e => e.Value.LastAttempt).Take(Math.Max(1, capacity / 4)).Select(e => e.Key).ToList())
        {
            _entries.Remove(key);
        }
    }
}
