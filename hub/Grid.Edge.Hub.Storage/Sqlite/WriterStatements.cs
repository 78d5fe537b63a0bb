using Grid.Edge.Protocol.Readings;
using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Sqlite;

internal enum UpsertOutcome
{
    Inserted,
    Updated,
    Duplicate,
}

/// <summary>The writer's prepared statements, reused across commits.</summary>
internal sealed class WriterStatements : IDisposable
{
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _update;
    private readonly SqliteCommand _createSeries;
    private readonly SqliteCommand _saveSeries;

    public WriterStatements(SqliteConnection connection)
    {
        _insert = Prepare(connection, "INSERT OR IGNORE INTO points(series_id, t, v) VALUES($s, $t, $v)", "$s", "$t", "$v");
        _update = Prepare(connection, "UPDATE points SET v=$v WHERE series_id=$s AND t=$t AND v IS NOT $v", "$s", "$t", "$v");
        _createSeries = Prepare(
            connection,
            "INSERT INTO series(device, metric, unit, point_count, first_t, last_t, last_v) VALUES($d, $m, $u, 0, $t, $t, $v) RETURNING id",
            "$d", "$m", "$u", "$t", "$v");
        _saveSeries = Prepare(connection, "UPDATE series SET point_count=$c, first_t=$f, last_t=$l, last_v=$v WHERE id=$id", "$c", "$f", "$l", "$v", "$id");
    }

    public void Bind(SqliteTransaction transaction)
    {
        _insert.Transaction = transaction;
        _update.Transaction = transaction;
        _createSeries.Transaction = transaction;
        _saveSeries.Transaction = transaction;
    }

    public long CreateSeries(Reading reading)
    {
        _createSeries.Parameters[0].Value = reading.Series.Device;
        _createSeries.Parameters[1].Value = reading.Series.Metric;
        _createSeries.Parameters[2].Value = reading.Unit;
        _createSeries.Parameters[3].Value = reading.TimestampMs;
        _createSeries.Parameters[4].Value = reading.Value;
        return (long)_createSeries.ExecuteScalar()!;
    }

    public UpsertOutcome Upsert(long seriesId, long timestampMs, double value)
    {
        _insert.Parameters[0].Value = seriesId;
        _insert.Parameters[1].Value = timestampMs;
        _insert.Parameters[2].Value = value;
        if (_insert.ExecuteNonQuery() == 1)
            return UpsertOutcome.Inserted;
        _update.Parameters[0].Value = seriesId;
        _update.Parameters[1].Value = timestampMs;
        _update.Parameters[2].Value = value;
        return _update.ExecuteNonQuery() == 1 ? UpsertOutcome.Updated : UpsertOutcome.Duplicate;
    }

    public void SaveSeries(SeriesInfoRow row)
    {
        _saveSeries.Parameters[0].Value = row.PointCount;
        _saveSeries.Parameters[1].Value = row.FirstMs;
        _saveSeries.Parameters[2].Value = row.LatestMs;
        _saveSeries.Parameters[3].Value = row.LatestValue;
        _saveSeries.Parameters[4].Value = row.Id;
        _saveSeries.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert.Dispose();
        _update.Dispose();
        _createSeries.Dispose();
        _saveSeries.Dispose();
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        return command;
    }
}

internal readonly record struct SeriesInfoRow(long Id, long PointCount, long FirstMs, long LatestMs, double LatestValue);
