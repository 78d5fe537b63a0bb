namespace Grid.Edge.Hub.Exports;

/// <summary>
/// When an export's durable cursor may move. The cursor is a change number of the store (buckets are numbered by
/// the checkpoint that wrote them): after a restart every bucket changed after the cursor is sent again, whole.
/// While readings flow live (from the readings-stored hook), the cursor moves to the newest change seen at one
/// tick once everything queued by the next tick has been sent: by then the hook has long handed over every point of
/// those buckets (it runs right after the write it reports), so no point behind the cursor is unsent. Pure: the
/// worker tells it the head change and the sequence numbers of what it queued and sent.
/// </summary>
internal sealed class CursorAdvance(long durable)
{
    private readonly Queue<(long Change, long Seq)> _pending = new();
    private long? _mark;

    /// <summary>Every point of every bucket changed up to here has reached the target.</summary>
    public long Durable { get; private set; } = durable;

    /// <summary>
    /// A tick: the head seen at the previous tick waits for everything queued so far (<paramref name="queuedSeq"/>);
    /// <paramref name="head"/> is kept for the next tick.
    /// </summary>
    public void Tick(long head, long queuedSeq)
    {
        if (_mark is { } mark && mark > Durable)
            _pending.Enqueue((mark, queuedSeq));
        _mark = head;
    }

    /// <summary>Everything queued up to <paramref name="sentSeq"/> was sent; true when the cursor moved.</summary>
    public bool Sent(long sentSeq)
    {
        var moved = false;
        while (_pending.TryPeek(out var pending) && pending.Seq <= sentSeq)
        {
            _pending.Dequeue();
            if (pending.Change > Durable)
            {
                Durable = pending.Change;
                moved = true;
            }
        }

        return moved;
    }

    /// <summary>A catch-up sent every bucket changed up to <paramref name="cursor"/> as the store holds it now.</summary>
    public void CaughtUp(long cursor)
    {
        if (cursor > Durable)
            Durable = cursor;
    }

    /// <summary>The live queue was dropped (too long while the target was away): only a catch-up moves the cursor now.</summary>
    public void Forget()
    {
        _pending.Clear();
        _mark = null;
    }
}
