using System.IO;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Device;

/// <summary>
/// The reading ring as a fixed-size file on the ESP32's internal flash (I:\), which survives power loss.
/// The file system levels wear; at one sample every 5 minutes a 4 MB board's storage partition lasts decades.
/// </summary>
internal sealed class FlashMemory : IPersistentMemory
{
    private readonly FileStream _file;

    public FlashMemory(string path, int size)
    {
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        if (_file.Length != size)
            _file.SetLength(size);
        Size = size;
    }

    public int Size { get; }

    public bool Read(int address, byte[] buffer, int offset, int count)
    {
        try
        {
            _file.Seek(address, SeekOrigin.Begin);
            var done = 0;
            while (done < count)
            {
                var read = _file.Read(buffer, offset + done, count - done);
                if (read <= 0)
                    return false;
                done += read;
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public bool Write(int address, byte[] buffer, int offset, int count)
    {
        try
        {
            _file.Seek(address, SeekOrigin.Begin);
            _file.Write(buffer, offset, count);
            _file.Flush();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
