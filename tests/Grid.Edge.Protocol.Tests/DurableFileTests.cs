using System.Text;
using System.Text.Json;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Protocol.Tests;

public sealed class DurableFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void An_owner_only_file_is_0600_from_its_first_byte_and_replaces_the_old_one()
    {
        if (OperatingSystem.IsWindows())
            return; // no Unix modes there
        var path = Path.Combine(_dir.Path, "credentials.json");
        File.WriteAllText(path, "old");
        UnixFileMode? whileWriting = null;
        DurableFile.Write(
            path,
            stream =>
            {
                // Nothing is in the file yet: this is the mode it was created with.
                whileWriting = OperatingSystem.IsWindows() ? null : File.GetUnixFileMode(((FileStream)stream).SafeFileHandle);
                stream.Write("secret"u8);
            },
            ownerOnly: true);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, whileWriting);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal("secret", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task Concurrent_writers_never_leave_a_torn_file_or_a_temporary_one()
    {
        var path = Path.Combine(_dir.Path, "state.json");
        DurableFile.WriteAllText(path, Document(0, 0));
        using var stop = new CancellationTokenSource();
        var torn = new List<string>();
        var reads = 0;
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var text = File.ReadAllText(path);
                if (Interlocked.Increment(ref reads) == 1)
                    reading.TrySetResult();
                try
                {
                    using var json = JsonDocument.Parse(text);
                    if (json.RootElement.GetProperty("pad").GetString()!.Length != json.RootElement.GetProperty("length").GetInt32())
                        torn.Add(text);
                }
                catch (JsonException)
                {
                    torn.Add(text);
                }
            }
        });

        // Writers of different sizes, so that a mixed-up file shows, while the reader reads.
        await reading.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(() =>
        {
            for (var n = 0; n < 40; n++)
                DurableFile.WriteAllText(path, Document(w, n));
        })).ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await reader;

        Assert.Empty(torn);
        Assert.True(reads > 0);
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    private static string Document(int writer, int n)
    {
        var length = 1000 + (writer * 20_000) + n;
        return JsonSerializer.Serialize(new { writer, n, length, pad = new string((char)('a' + (n % 26)), length) });
    }

    [Fact]
    public void A_file_set_aside_keeps_its_content_beside_the_old_name()
    {
        var path = Path.Combine(_dir.Path, "vehicles.json");
        File.WriteAllText(path, "{\"torn\":");
        var aside = DurableFile.SetAside(path);
        Assert.False(File.Exists(path));
        Assert.StartsWith(path + ".damaged-", aside, StringComparison.Ordinal);
        Assert.Equal("{\"torn\":", File.ReadAllText(aside, Encoding.UTF8));
    }
}
