namespace Grid.Edge.Hub.Storage.Aggregation;

/// <summary>Count, sum, min and max of a bucket being aggregated; a default value is empty.</summary>
internal struct Accumulator
{
    public long Count;
    public double Sum;
    public double Min;
    public double Max;

    public void Add(double value) => Add(1, value, value, value);

    public void Add(long count, double sum, double min, double max)
    {
        if (Count == 0)
        {
            Min = min;
            Max = max;
        }
        else
        {
            Min = Math.Min(Min, min);
            Max = Math.Max(Max, max);
        }

        Count += count;
        Sum += sum;
    }
}
