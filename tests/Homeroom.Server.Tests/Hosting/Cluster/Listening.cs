using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>For tests of several nodes in one process: waits until each node's backplane listener is connected.</summary>
internal static class Listening
{
    public static async Task WaitAsync(params HomeroomHost[] nodes)
    {
        foreach (var node in nodes)
        {
            var listener = node.GetService<BackplaneListener>();
            await Poll.UntilAsync(() => Task.FromResult(listener.IsListening), TimeSpan.FromSeconds(15));
        }
    }
}
