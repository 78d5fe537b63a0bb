using CsCheck;
using Grid.Edge.Firmware.Core.Buffering;
using Grid.Edge.Firmware.Core.Tests.Simulated;

namespace Grid.Edge.Firmware.Core.Tests;

public sealed class ReadingRingTests
{
    private static int MemoryFor(int slots) => (2 * ReadingRing.HeaderSize) + (slots * ReadingRing.SlotSize);

    private static List<(long Time, double Value, int Metric)> ReadAll(ReadingRing ring)
    {
        var entry = new RingEntry();
        var all = new List<(long, double, int)>();
        for (var i = 0; i < ring.Count; i++)
        {
            Assert.True(ring.Read(i, entry));
            Assert.True(entry.Intact, $"slot {i} failed its checksum");
            all.Add((entry.Time, entry.Value, entry.Metric));
        }

        return all;
    }

    [Fact]
    public void A_new_memory_is_formatted_and_reopens_with_what_was_appended()
    {
        var memory = new MemoryBlock(MemoryFor(16));
        var ring = new ReadingRing(memory);
        Assert.True(ring.Open());
        Assert.True(ring.WasFormatted);
        Assert.Equal(16, ring.Capacity);
        for (var i = 0; i < 5; i++)
            Assert.True(ring.Append(1000 + i, i * 1.5, i % 3, dated: true));
        ring.StationState[3] = 42;
        Assert.True(ring.Commit());

        var reopened = new ReadingRing(new MemoryBlock(memory.Bytes));
        Assert.True(reopened.Open());
        Assert.False(reopened.WasFormatted);
        Assert.Equal(42, reopened.StationState[3]);
        Assert.Equal(ReadAll(ring), ReadAll(reopened));
        Assert.Equal([(1000L, 0.0, 0), (1001L, 1.5, 1), (1002L, 3.0, 2), (1003L, 4.5, 0), (1004L, 6.0, 1)], ReadAll(reopened));
    }

    [Fact]
    public void When_full_the_oldest_is_overwritten_and_counted()
    {
        var ring = new ReadingRing(new MemoryBlock(MemoryFor(8)));
        Assert.True(ring.Open());
        for (var i = 0; i < 20; i++)
            Assert.True(ring.Append(i, i, 0, dated: true));
        Assert.Equal(8, ring.Count);
        Assert.Equal(12u, ring.Overwritten);
        Assert.Equal(Enumerable.Range(12, 8).Select(i => (long)i), ReadAll(ring).Select(e => e.Time));

        Assert.True(ring.Release(3, dropped: 1));
        Assert.Equal(5, ring.Count);
        Assert.Equal(1u, ring.Dropped);
        Assert.Equal(Enumerable.Range(15, 5).Select(i => (long)i), ReadAll(ring).Select(e => e.Time));
        Assert.False(ring.Release(6, 0));
    }

    [Fact]
    public void Values_come_back_bit_for_bit()
    {
        Gen.Select(Gen.Long, Gen.Double, Gen.Int[0, 31]).Array[1, 64].Sample(items =>
        {
            var memory = new MemoryBlock(MemoryFor(64));
            var ring = new ReadingRing(memory);
            Assert.True(ring.Open());
            foreach (var (t, v, m) in items)
                Assert.True(ring.Append(t, v, m, dated: true));
            var reopened = new ReadingRing(new MemoryBlock(memory.Bytes));
            Assert.True(reopened.Open());
            var back = ReadAll(reopened);
            var expected = items.Skip(Math.Max(0, items.Length - 64)).ToList();
            Assert.Equal(expected.Count, back.Count);
            for (var i = 0; i < back.Count; i++)
            {
                Assert.Equal(expected[i].Item1, back[i].Time);
                Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i].Item2), BitConverter.DoubleToInt64Bits(back[i].Value));
                Assert.Equal(expected[i].Item3, back[i].Metric);
            }
        }, iter: 200);
    }

    /// <summary>
    /// Cuts the power at every write of a workload (appends that wrap, releases, epoch changes), with the cut write
    /// landing partly, then powers on again: the ring must open, hold an intact prefix-consistent state, lose at
    /// most the operation in flight, and account for every reading it no longer has.
    /// </summary>
    [Fact]
    public void A_power_cut_during_any_write_loses_at_most_the_operation_in_flight()
    {
        const int Slots = 6;
        var random = new Random(7);
        var totalWrites = RunWorkload(new MemoryBlock(MemoryFor(Slots)), out _);
        Assert.True(totalWrites > 40);

        for (var cut = 0; cut < totalWrites; cut++)
        {
            foreach (var partial in new[] { 0, 1, random.Next(2, ReadingRing.SlotSize), ReadingRing.HeaderSize - 1 })
            {
                var memory = new MemoryBlock(MemoryFor(Slots)) { WritesUntilCut = cut, BytesOfCutWrite = partial };
                RunWorkload(memory, out var log);
                Assert.True(memory.PowerIsOff);

                var ring = new ReadingRing(new MemoryBlock(memory.Bytes));
                Assert.True(ring.Open(), $"cut at write {cut}+{partial}: ring did not open");
                var times = ReadAll(ring).Select(e => e.Time).ToList();

                // What is left is a run of consecutive appends, ending at the last or the one before (in flight).
                Assert.True(times.Zip(times.Skip(1)).All(p => p.Second == p.First + 1), $"cut at {cut}+{partial}: not consecutive: {string.Join(",", times)}");
                if (times.Count > 0)
                    Assert.True(times[^1] >= log.Appended - 2 && times[^1] <= log.Appended, $"cut at {cut}+{partial}: newest {times[^1]} of {log.Appended}");

                // Every reading appended and committed is either still there, released (sent), overwritten or dropped (counted).
                var accounted = times.Count + log.ReleasedCommitted + ring.Overwritten + ring.Dropped;
                Assert.InRange(accounted, log.Appended - 1, log.Appended);
            }
        }
    }

    private sealed class WorkloadLog
    {
        public long Appended { get; set; }

        public long ReleasedCommitted { get; set; }
    }

    private static int RunWorkload(MemoryBlock memory, out WorkloadLog log)
    {
        log = new WorkloadLog();
        var ring = new ReadingRing(memory);
        if (!ring.Open())
            return memory.Writes;
        for (var i = 0; i < 20; i++)
        {
            log.Appended = i + 1;
            if (!ring.Append(i, i * 0.1, 1, dated: true))
                return memory.Writes;
            if (i % 7 == 6)
            {
                if (!ring.Release(2, 0))
                    return memory.Writes;
                log.ReleasedCommitted += 2;
            }

            if (i == 10 && !ring.BeginEpoch())
                return memory.Writes;
        }

        return memory.Writes;
    }

    [Fact]
    public void A_damaged_slot_is_reported_not_trusted()
    {
        var memory = new MemoryBlock(MemoryFor(8));
        var ring = new ReadingRing(memory);
        Assert.True(ring.Open());
        for (var i = 0; i < 3; i++)
            Assert.True(ring.Append(i, i, 0, dated: true));
        memory.Bytes[(2 * ReadingRing.HeaderSize) + ReadingRing.SlotSize + 9] ^= 0x10;

        var entry = new RingEntry();
        Assert.True(ring.Read(0, entry));
        Assert.True(entry.Intact);
        Assert.True(ring.Read(1, entry));
        Assert.False(entry.Intact);
    }

    [Fact]
    public void Both_headers_damaged_means_a_fresh_format_and_a_memory_of_another_size_is_not_misread()
    {
        var memory = new MemoryBlock(MemoryFor(8));
        var ring = new ReadingRing(memory);
        Assert.True(ring.Open());
        Assert.True(ring.Append(1, 1, 0, true));

        var bigger = new byte[MemoryFor(9)];
        memory.Bytes.CopyTo(bigger, 0);
        var other = new ReadingRing(new MemoryBlock(bigger));
        Assert.True(other.Open());
        Assert.True(other.WasFormatted);
        Assert.Equal(0, other.Count);

        memory.Bytes[5] ^= 0xFF;
        memory.Bytes[ReadingRing.HeaderSize + 5] ^= 0xFF;
        var damaged = new ReadingRing(new MemoryBlock(memory.Bytes));
        Assert.True(damaged.Open());
        Assert.True(damaged.WasFormatted);
    }
}
