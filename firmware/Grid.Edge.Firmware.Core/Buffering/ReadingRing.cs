using System;
using Grid.Edge.Firmware.Core.Platform;

namespace Grid.Edge.Firmware.Core.Buffering;

/// <summary>
/// A fixed-size ring of timestamped readings in persistent memory that survives deep sleep, outages and power
/// loss. Layout: two 96-byte header copies, then 24-byte slots. A header is committed by writing the copy that
/// is not current, with a sequence number and CRC; on start the valid copy with the newer sequence wins, so a
/// power cut during any write leaves the previous committed state. Slots carry their own CRC.
/// The oldest reading is overwritten only when the ring is full, and every overwrite is counted.
/// The header also holds a small block of station state (rain tips, schedule) committed atomically with it.
/// </summary>
public sealed class ReadingRing
{
    public const int HeaderSize = 96;
    public const int SlotSize = 24;
    public const int StationStateSize = 40;
    private const int SlotsStart = 2 * HeaderSize;
    private const uint Magic = 0x42524547; // "GERB": Grid.Edge reading buffer
    private const int Version = 1;
    private const byte FlagDated = 0x01;

    // Header field offsets.
    private const int AtMagic = 0;
    private const int AtVersion = 4;
    private const int AtEpoch = 6;
    private const int AtSequence = 8;
    private const int AtCapacity = 12;
    private const int AtHead = 16;
    private const int AtCount = 20;
    private const int AtOverwritten = 24;
    private const int AtDropped = 28;
    private const int AtCorrection = 32;
    private const int AtCorrectionKnown = 40;
    private const int AtStationState = 44;
    private const int AtCrc = HeaderSize - 4;

    private readonly IPersistentMemory _memory;
    private readonly int _capacity;
    private readonly byte[] _header = new byte[HeaderSize];
    private readonly byte[] _slot = new byte[SlotSize];
    private readonly byte[] _stationState = new byte[StationStateSize];
    private uint _sequence;
    private int _head;
    private int _count;
    private uint _overwritten;
    private uint _dropped;
    private int _epoch;
    private long _correction;
    private bool _correctionKnown;

    public ReadingRing(IPersistentMemory memory)
    {
        _memory = memory;
        _capacity = (memory.Size - SlotsStart) / SlotSize;
    }

    /// <summary>Readings the memory can hold.</summary>
    public int Capacity => _capacity;

    /// <summary>Readings waiting to be sent.</summary>
    public int Count => _count;

    /// <summary>Readings overwritten because the ring was full (cumulative since the memory was formatted).</summary>
    public uint Overwritten => _overwritten;

    /// <summary>Readings dropped for other reasons: damaged slots, or undated readings whose power-on epoch ended before the clock was set.</summary>
    public uint Dropped => _dropped;

    /// <summary>Power-on count, advanced by <see cref="BeginEpoch"/>.</summary>
    public int Epoch => _epoch;

    /// <summary>Clock step that dates this epoch's undated readings, once known.</summary>
    public bool CorrectionKnown => _correctionKnown;

    public long Correction => _correction;

    /// <summary>Station state committed with the header (see <see cref="Commit"/>). Callers edit it in place.</summary>
    public byte[] StationState => _stationState;

    /// <summary>True when <see cref="Open"/> found no valid header and started empty.</summary>
    public bool WasFormatted { get; private set; }

    /// <summary>Loads the newest valid header; formats the memory when there is none (first start, or a different layout).</summary>
    public bool Open()
    {
        WasFormatted = false;
        if (_capacity < 1)
            return false;
        var haveA = TryLoadHeader(0, out var sequenceA);
        var haveB = TryLoadHeader(HeaderSize, out var sequenceB);
        if (haveA || haveB)
        {
            // Sequence numbers compared by signed difference so wrap-around after 2^32 commits still works.
            var useA = haveA && (!haveB || (int)(sequenceA - sequenceB) > 0);
            return TryLoadHeader(useA ? 0 : HeaderSize, out _);
        }

        WasFormatted = true;
        _sequence = 0;
        _head = 0;
        _count = 0;
        _overwritten = 0;
        _dropped = 0;
        _epoch = 0;
        _correction = 0;
        _correctionKnown = false;
        Array.Clear(_stationState, 0, StationStateSize);
        return Commit();
    }

    /// <summary>Starts a new power-on epoch: undated readings of earlier epochs can no longer be dated.</summary>
    public bool BeginEpoch()
    {
        _epoch = (_epoch + 1) & 0xFFFF;
        _correctionKnown = false;
        _correction = 0;
        return Commit();
    }

    /// <summary>Records the clock step found when the clock was first set in this epoch.</summary>
    public bool SetCorrection(long stepMilliseconds)
    {
        if (_correctionKnown)
            return true;
        _correction = stepMilliseconds;
        _correctionKnown = true;
        return Commit();
    }

    /// <summary>Adds a reading. When full, the oldest is released first (and counted) in its own commit, so a power cut never leaves a torn slot inside the committed range.</summary>
    public bool Append(long time, double value, int metric, bool dated)
    {
        if (_count == _capacity)
        {
            _head = (_head + 1) % _capacity;
            _count--;
            _overwritten++;
            if (!Commit())
                return false;
        }

        var index = (_head + _count) % _capacity;
        LittleEndian.WriteInt64(_slot, 0, time);
        LittleEndian.WriteDouble(_slot, 8, value);
        _slot[16] = (byte)metric;
        _slot[17] = dated ? FlagDated : (byte)0;
        LittleEndian.WriteUInt16(_slot, 18, _epoch);
        LittleEndian.WriteUInt32(_slot, 20, Crc32.Compute(_slot, 0, 20));
        if (!_memory.Write(SlotsStart + (index * SlotSize), _slot, 0, SlotSize))
            return false;
        _count++;
        return Commit();
    }

    /// <summary>Reads the reading <paramref name="position"/> places after the oldest into <paramref name="entry"/>.</summary>
    public bool Read(int position, RingEntry entry)
    {
        if (position < 0 || position >= _count)
            return false;
        var index = (_head + position) % _capacity;
        if (!_memory.Read(SlotsStart + (index * SlotSize), _slot, 0, SlotSize))
            return false;
        entry.Intact = LittleEndian.ReadUInt32(_slot, 20) == Crc32.Compute(_slot, 0, 20);
        entry.Time = LittleEndian.ReadInt64(_slot, 0);
        entry.Value = LittleEndian.ReadDouble(_slot, 8);
        entry.Metric = _slot[16];
        entry.Dated = (_slot[17] & FlagDated) != 0;
        entry.Epoch = LittleEndian.ReadUInt16(_slot, 18);
        return true;
    }

    /// <summary>Forgets the oldest <paramref name="readings"/> (sent and acknowledged), adding <paramref name="dropped"/> of them to the drop count, in one commit.</summary>
    public bool Release(int readings, int dropped)
    {
        if (readings < 0 || readings > _count)
            return false;
        _head = (_head + readings) % _capacity;
        _count -= readings;
        _dropped += (uint)dropped;
        return Commit();
    }

    /// <summary>Writes the header (with the current station state) to the copy that is not current.</summary>
    public bool Commit()
    {
        var sequence = _sequence + 1;
        Array.Clear(_header, 0, HeaderSize);
        LittleEndian.WriteUInt32(_header, AtMagic, Magic);
        LittleEndian.WriteUInt16(_header, AtVersion, Version);
        LittleEndian.WriteUInt16(_header, AtEpoch, _epoch);
        LittleEndian.WriteUInt32(_header, AtSequence, sequence);
        LittleEndian.WriteUInt32(_header, AtCapacity, (uint)_capacity);
        LittleEndian.WriteUInt32(_header, AtHead, (uint)_head);
        LittleEndian.WriteUInt32(_header, AtCount, (uint)_count);
        LittleEndian.WriteUInt32(_header, AtOverwritten, _overwritten);
        LittleEndian.WriteUInt32(_header, AtDropped, _dropped);
        LittleEndian.WriteInt64(_header, AtCorrection, _correction);
        _header[AtCorrectionKnown] = _correctionKnown ? (byte)1 : (byte)0;
        Array.Copy(_stationState, 0, _header, AtStationState, StationStateSize);
        LittleEndian.WriteUInt32(_header, AtCrc, Crc32.Compute(_header, 0, AtCrc));
        if (!_memory.Write((int)(sequence & 1) * HeaderSize, _header, 0, HeaderSize))
            return false;
        _sequence = sequence;
        return true;
    }

    private bool TryLoadHeader(int address, out uint sequence)
    {
        sequence = 0;
        if (!_memory.Read(address, _header, 0, HeaderSize))
            return false;
        if (LittleEndian.ReadUInt32(_header, AtMagic) != Magic
            || LittleEndian.ReadUInt16(_header, AtVersion) != Version
            || LittleEndian.ReadUInt32(_header, AtCrc) != Crc32.Compute(_header, 0, AtCrc)
            || LittleEndian.ReadUInt32(_header, AtCapacity) != (uint)_capacity)
            return false;
        var head = LittleEndian.ReadUInt32(_header, AtHead);
        var count = LittleEndian.ReadUInt32(_header, AtCount);
        if (head >= (uint)_capacity || count > (uint)_capacity)
            return false;

        sequence = LittleEndian.ReadUInt32(_header, AtSequence);
        _sequence = sequence;
        _head = (int)head;
        _count = (int)count;
        _overwritten = LittleEndian.ReadUInt32(_header, AtOverwritten);
        _dropped = LittleEndian.ReadUInt32(_header, AtDropped);
        _epoch = LittleEndian.ReadUInt16(_header, AtEpoch);
        _correction = LittleEndian.ReadInt64(_header, AtCorrection);
        _correctionKnown = _header[AtCorrectionKnown] != 0;
        Array.Copy(_header, AtStationState, _stationState, 0, StationStateSize);
        return true;
    }
}
