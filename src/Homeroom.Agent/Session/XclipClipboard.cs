using System.Diagnostics;
using System.Text;

namespace Homeroom.Agent.Session;

/// <summary>
/// Puts text on an X display's clipboard (the CLIPBOARD selection, as UTF8_STRING) with Debian's <c>xclip</c>, which takes
/// the selection and keeps serving it from a background process until another program takes it, as a copy would. The
/// agent reports <see cref="Contracts.Agents.CapabilityNames.RemoteClipboard"/> only where <c>xclip</c> is installed.
/// </summary>
public static class XclipClipboard
{
    /// <summary>Where Debian installs it (package <c>xclip</c>).</summary>
    public const string Program = "/usr/bin/xclip";

    /// <summary>Why the clipboard is not offered on this machine; null when it is.</summary>
    public static string? Unavailable =>
        !OperatingSystem.IsLinux() ? "the clipboard is built for Linux (X11) only in this agent build"
        : !File.Exists(Program) ? "xclip is not installed on the device (Debian package xclip)"
        : null;

    /// <summary>Sets the clipboard of <paramref name="display"/> to <paramref name="text"/>; false with why when it failed.</summary>
    public static async Task<(bool Ok, string? Error)> SetAsync(string display, string text, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Program)
        {
            // Only stdin is a pipe: the background xclip keeps the descriptors it inherited, so reading its output would wait for good.
            UseShellExecute = false, RedirectStandardInput = true, StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in (string[])["-selection", "clipboard", "-t", "UTF8_STRING", "-display", display])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("xclip did not start");
        await process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
        process.StandardInput.Close();

        // xclip forks once it holds the selection and the parent exits; a parent still running after a few seconds is stuck.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            return (false, "xclip did not finish");
        }

        return process.ExitCode == 0 ? (true, null) : (false, $"xclip exited with {process.ExitCode}");
    }
}
