using QRCoder;

namespace Homeroom.Server.WebConsole;

/// <summary>QR codes drawn on the server as PNG data URLs, so a page shows them without scripts or a second request.</summary>
public static class QrCodes
{
    /// <summary>A <c>data:image/png;base64,…</c> URL of the text's QR code (error correction M, 4 pixels a module, with the quiet zone).</summary>
    public static string PngDataUrl(string text)
    {
        var png = PngByteQRCodeHelper.GetQRCode(text, QRCodeGenerator.ECCLevel.M, 4);
        return "data:image/png;base64," + Convert.ToBase64String(png);
    }
}
