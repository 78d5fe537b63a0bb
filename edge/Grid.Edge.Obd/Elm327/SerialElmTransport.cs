using System.IO.Ports;

namespace Grid.Edge.Obd.Elm327;

/// <summary>A USB-serial adapter (/dev/ttyUSB0) or a paired Bluetooth one bound to /dev/rfcomm0: 8N1, no flow control.</summary>
public sealed class SerialElmTransport : IElmTransport
{
    private readonly SerialPort _port;
    private readonly Stream _stream;

    private SerialElmTransport(SerialPort port)
    {
        _port = port;
        _stream = port.BaseStream;
        Description = $"{port.PortName} at {port.BaudRate} baud";
    }

    public string Description { get; }

    public static SerialElmTransport Open(string path, int baudRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        if (!File.Exists(path))
            throw new ElmException(ElmFailure.AdapterUnreachable, $"{path} does not exist; is the adapter plugged in (USB) or bound (Bluetooth: rfcomm bind 0 <address>)?");
        var port = new SerialPort(path, baudRate, Parity.None, 8, StopBits.One) { Handshake = Handshake.None, ReadTimeout = SerialPort.InfiniteTimeout };
        try
        {
            port.Open();
            // What arrived before anything was said belongs to someone else: a previous session, or this one at another speed.
            port.DiscardInBuffer();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            port.Dispose();
            throw new ElmException(ElmFailure.AdapterUnreachable, $"cannot open {path}: {e.Message} (is the user in the 'dialout' group, and no other program using it?)");
        }

        return new SerialElmTransport(port);
    }

    public Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken).AsTask();

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _stream.ReadAsync(buffer, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _port.Dispose();
        return ValueTask.CompletedTask;
    }
}
