using Microsoft.Data.Sqlite;

namespace Grid.Edge.Hub.Storage.Chunks;

/// <summary>
/// Statements prepared once and run with new values: a checkpoint writes thousands of rows and a dashboard's read
/// covers many series, and SQLite would otherwise parse the same text for every one of them.
/// </summary>
internal sealed class SqlStatements(SqliteConnection connection, SqliteTransaction? transaction = null) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public int Execute(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteNonQuery();

    public object? Scalar(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteScalar();

    public SqliteDataReader Reader(string text, params ReadOnlySpan<(string Name, object Value)> parameters) => Bind(text, parameters).ExecuteReader();

    private SqliteCommand Bind(string text, ReadOnlySpan<(string Name, object Value)> parameters)
    {
        if (!_commands.TryGetValue(text, out var command))
        {
            command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = text;
            foreach (var (name, _) in parameters)
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            _commands[text] = command;
        }

        for (var i = 0; i < parameters.Length; i++)
            command.Parameters[i].Value = parameters[i].Value;
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
            command.Dispose();
    }
}
