using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Homeroom.Bench.Load;

/// <summary>The API calls the benchmarks make on a running server: groups of devices, and commands timed to their last acknowledgement.</summary>
public static class BenchApi
{
    /// <summary>Creates a group of <paramref name="kind"/> ("class", "custom") holding the devices; returns its id.</summary>
    public static async Task<Guid> CreateGroupAsync(HttpClient api, string name, string kind, List<Guid> deviceIds)
    {
        using var created = await api.PostAsJsonAsync("/api/groups", new { name, kind });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        foreach (var chunk in deviceIds.Chunk(5000))
        {
            using var added = await api.PostAsJsonAsync($"/api/groups/{id}/members", new { deviceIds = chunk });
            added.EnsureSuccessStatusCode();
        }

        return id;
    }

    /// <summary>
    /// Issues a command of <paramref name="kind"/> to the group in <paramref name="target"/> (an object with <c>groupId</c>) and
    /// waits for <paramref name="expected"/> devices to acknowledge it: whether they did, and the milliseconds from the call to the last.
    /// </summary>
    public static async Task<(bool Ok, double Milliseconds)> IssueAndWaitAsync(HttpClient api, AckTracker acks, string kind, object target, int expected, TimeSpan timeout)
    {
        var body = JsonSerializer.SerializeToElement(target);
        var request = new Dictionary<string, object?> { ["kind"] = kind, ["groupId"] = body.GetProperty("groupId").GetGuid() };
        var start = Stopwatch.GetTimestamp();
        using var response = await api.PostAsJsonAsync("/api/commands", request);
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var last = await acks.WaitAsync(id, expected, timeout);
        return last is null ? (false, double.NaN) : (true, Stopwatch.GetElapsedTime(start, last.Value).TotalMilliseconds);
    }
}
