using System.Text;

namespace Grid.Edge.Hub.Persistence;

/// <summary>
/// Replaces a small state file so that a power cut leaves either the old or the new content, never a torn one:
/// the new content goes to a temporary file that is flushed to the card before it is renamed over the old one.
/// </summary>
public static class DurableFile
{
    public static void WriteAllText(string path, string text, bool ownerOnly = false) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text), ownerOnly);

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, bool ownerOnly = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Moves a file that could not be read out of the way (kept beside it for a person to look at) and says where.
    /// </summary>
    public static string SetAside(string path)
    {
        var aside = $"{path}.damaged-{DateTime.UtcNow:yyyyMMddHHmmss}";
        File.Move(path, aside, overwrite: true);
        return aside;
    }
}
