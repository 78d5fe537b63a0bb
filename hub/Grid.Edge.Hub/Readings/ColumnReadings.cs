using System.Collections;
using Grid.Edge.Protocol.Readings;

namespace Grid.Edge.Hub.Readings;

/// <summary>Stored columns seen as readings, one after another, without copying them into reading objects.</summary>
internal sealed class ColumnReadings : IReadOnlyList<Reading>
{
    private readonly IReadOnlyList<SeriesColumns> _columns;
    private readonly int[] _starts;

    public ColumnReadings(IReadOnlyList<SeriesColumns> columns)
    {
        _columns = columns;
        _starts = new int[columns.Count + 1];
        for (var c = 0; c < columns.Count; c++)
            _starts[c + 1] = _starts[c] + columns[c].Count;
    }

    public int Count => _starts[^1];

    public Reading this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index));
            var c = Array.BinarySearch(_starts, index);
            c = c >= 0 ? c : ~c - 1;

            // Equal starts belong to empty columns; the point is in the last column starting there.
            while (_starts[c + 1] == index)
                c++;
            var series = _columns[c];
            var i = index - _starts[c];
            return new Reading(series.Series, series.Times[i], series.Values[i], series.Unit);
        }
    }

    public IEnumerator<Reading> GetEnumerator()
    {
        foreach (var series in _columns)
        {
            for (var i = 0; i < series.Count; i++)
                yield return new Reading(series.Series, series.Times[i], series.Values[i], series.Unit);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
