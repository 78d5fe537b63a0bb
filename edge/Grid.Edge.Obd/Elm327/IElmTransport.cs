namespace Grid.Edge.Obd.Elm327;

/// <summary>A byte link to an adapter: USB serial, Bluetooth RFCOMM serial, or Wi-Fi TCP.</summary>
public interface IElmTransport : IAsyncDisposable
{
    /// <summary>What it is connected to, for messages ("/dev/ttyUSB0", "tcp://192.168.0.10:35000").</summary>
    string Description { get; }

    Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>Reads what has arrived (at least one byte); 0 when the link closed.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
