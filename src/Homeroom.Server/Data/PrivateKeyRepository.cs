using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Homeroom.Server.Data;

/// <summary>
/// Stores the data-protection keys (which sign session cookies and anti-forgery tokens) as XML files
/// in an owner-only directory, each file owner-only from the moment it is created (written to a
/// temporary name, then moved into place, so a reader never sees half a key).
/// </summary>
public sealed class PrivateKeyRepository(string directory) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        return Directory.EnumerateFiles(directory, "*.xml").Order(StringComparer.Ordinal).Select(path => XElement.Load(path)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        DataFiles.CreatePrivateDirectory(directory);
        var name = IsSafeName(friendlyName) ? friendlyName : Guid.NewGuid().ToString("N");
        var temporary = Path.Combine(directory, Guid.NewGuid().ToString("N") + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = DataFiles.PrivateFile;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                element.Save(stream);
            }

            File.Move(temporary, Path.Combine(directory, name + ".xml"), overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 100 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
