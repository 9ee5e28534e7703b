using System.Diagnostics;
using System.Text;

namespace Homeroom.Agent.Session;

/// <summary>
/// Puts text on an X display's clipboard (the CLIPBOARD selection, as UTF8_STRING) with Debian's <c>xclip</c>, which takes
/// the selection and keeps serving it from a background process until another program takes it, as a copy would, and reads
/// the text there for the technician. The agent reports <see cref="Contracts.Agents.CapabilityNames.RemoteClipboard"/> and
/// <see cref="Contracts.Agents.CapabilityNames.RemoteClipboardRead"/> only where <c>xclip</c> is installed.
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

    /// <summary>
    /// Reads the text on the CLIPBOARD selection of <paramref name="display"/> (as UTF8_STRING, what a paste would give): the
    /// text, or why none is given: nothing there as text (empty, or only a picture or other data), more than
    /// <see cref="Contracts.Agents.RemoteLimits.MaxClipboardBytes"/> bytes (read no further than that), not UTF-8, or control
    /// characters other than tab and line breaks.
    /// </summary>
    public static async Task<(string? Text, string? Refusal)> GetAsync(string display, CancellationToken cancellationToken)
    {
        const string noText = "the clipboard holds no text (it is empty, or holds something else such as a picture)";

        // Text only: what the clipboard's owner offers must include UTF8_STRING (xclip itself would hand over a picture's
        // bytes under any name asked for).
        var (targetsOk, targets, _) = await ReadAsync(display, "TARGETS", 4096, cancellationToken);
        if (targetsOk is null)
        {
            return (null, "xclip did not finish reading the clipboard");
        }

        if (targetsOk != true || !System.Text.Encoding.UTF8.GetString(targets).Split('\n').Any(t => t.Trim() == "UTF8_STRING"))
        {
            return (null, noText);
        }

        var limit = Contracts.Agents.RemoteLimits.MaxClipboardBytes;
        var (ok, buffer, tooLarge) = await ReadAsync(display, "UTF8_STRING", limit, cancellationToken);
        if (tooLarge)
        {
            return (null, $"the clipboard holds more than {limit / 1024} KiB of text; nothing was sent");
        }

        if (ok is null)
        {
            return (null, "xclip did not finish reading the clipboard");
        }

        if (ok != true || buffer.Length == 0)
        {
            return (null, noText);
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer);
        }
        catch (DecoderFallbackException)
        {
            return (null, "the clipboard's content is not text (not UTF-8); nothing was sent");
        }

        // Only control characters are left to refuse here (the length was checked while reading).
        return Contracts.Agents.RemoteLimits.ValidateClipboard(text) is { } bad ? (null, $"{bad}; nothing was sent") : (text, null);
    }

    // Runs xclip -o for one target: whether it succeeded (null: it did not finish in 5 s), what it wrote, and whether it wrote
    // more than the limit (read no further than one byte past it).
    private static async Task<(bool? Ok, byte[] Output, bool TooLarge)> ReadAsync(string display, string target, int limit, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["-o", "-selection", "clipboard", "-t", target, "-display", display])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("xclip did not start");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        var buffer = new byte[limit + 1];
        var length = 0;
        try
        {
            // One byte past the limit is enough to know it is too much: the rest is never read.
            int read;
            while (length < buffer.Length && (read = await process.StandardOutput.BaseStream.ReadAsync(buffer.AsMemory(length), timeout.Token)) > 0)
            {
                length += read;
            }

            if (length > limit)
            {
                process.Kill();
                return (true, [], true);
            }

            await process.WaitForExitAsync(timeout.Token);
            await errors;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill();
            return (null, [], false);
        }

        return (process.ExitCode == 0, buffer[..length], false);
    }

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
