using Homeroom.Server.Apple;
using Homeroom.Server.Data;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A device certificate authority made once per test process, copied into the data directory of hosts
/// started with <see cref="HomeroomHost.StartWithDeviceCaAsync"/>. The server makes its CA (an RSA 3072 key)
/// at the first MDM request: 0.7 to 1.9 s of CPU each time on the 2-core test machine, several seconds of
/// waiting under load, paid again by every MDM test's fresh server. A copy is what a restarted server finds
/// on disk; tests of how the CA file is first written (EnrollmentProfileTests) keep starting without one.
/// </summary>
public static class DeviceCaTemplate
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // What the CA needs from a data directory: the CA file and the data-protection keys it is encrypted with.
    private static readonly string[] Folders = ["keys", "apple"];

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _template;

    public static async Task CopyToAsync(string dataDirectory)
    {
        var template = await TemplateAsync();
        foreach (var folder in Folders)
        {
            CopyFolder(Path.Combine(template, folder), Path.Combine(dataDirectory, folder));
        }
    }

    // Owner-only, as the server writes them.
    private static void CopyFolder(string from, string to)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(to);
        }
        else
        {
            Directory.CreateDirectory(to, PrivateDirectory);
        }

        foreach (var file in Directory.GetFiles(from))
        {
            var copy = Path.Combine(to, Path.GetFileName(file));
            File.Copy(file, copy);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(copy, PrivateFile);
            }
        }
    }

    private static async Task<string> TemplateAsync()
    {
        if (_template is { } made)
        {
            return made;
        }

        await Gate.WaitAsync();
        try
        {
            if (_template is null)
            {
                var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", "device-ca-" + Guid.NewGuid().ToString("N"));
                await using (var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite))
                {
                    // The server's own code makes the CA (and, to encrypt it, the data-protection key).
                    host.GetService<DeviceCertificateAuthority>().Certificate.HasPrivateKey.ShouldBeTrue();
                    foreach (var folder in Folders)
                    {
                        CopyFolder(Path.Combine(host.Database.DataDirectory, folder), Path.Combine(directory, folder));
                    }
                }

                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    try
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    catch (IOException)
                    {
                        // The temp folder is cleaned by the OS later.
                    }
                };
                _template = directory;
            }

            return _template;
        }
        finally
        {
            Gate.Release();
        }
    }
}
