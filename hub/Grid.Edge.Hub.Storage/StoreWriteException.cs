namespace Grid.Edge.Hub.Storage;

/// <summary>The store could not make an append durable; the readings were not acknowledged.</summary>
public sealed class StoreWriteException : Exception
{
    public StoreWriteException()
    {
    }

    public StoreWriteException(string message)
        : base(message)
    {
    }

    public StoreWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
