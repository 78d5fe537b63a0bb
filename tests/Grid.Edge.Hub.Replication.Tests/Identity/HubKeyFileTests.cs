using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Tests.Identity;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class HubKeyFileTests
{
    [Fact]
    public void The_key_is_made_once_owner_only_and_the_same_hub_id_comes_back_after_a_restart()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "grid", "hub.key");
        Id128 first;
        using (var keys = HubKeyFile.LoadOrCreate(path))
            first = keys.HubId;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        using (var again = HubKeyFile.LoadOrCreate(path))
        {
            Assert.Equal(first, again.HubId);
            Assert.Equal(HubKeys.HubIdOf(again.PublicKey.Span), again.HubId);
            Assert.NotEqual(again.HubId, again.KeyId);
        }

        Assert.True(Id128.TryParse(first.ToString(), out var parsed));
        Assert.Equal(first, parsed);
        Assert.Equal(26, first.ToString().Length);
    }

    [Fact]
    public void A_key_file_others_can_read_is_refused_with_the_command_that_fixes_it()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "hub.key");
        HubKeyFile.Create(path).Dispose();
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var error = Assert.Throws<InvalidDataException>(() => HubKeyFile.LoadOrCreate(path));
        Assert.Contains($"chmod 600 {path}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_key_file_is_refused_and_not_replaced()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "hub.key");
        HubKeyFile.Create(path).Dispose();
        var good = File.ReadAllText(path);
        File.WriteAllText(path, good[..20]);
        var error = Assert.Throws<InvalidDataException>(() => HubKeyFile.LoadOrCreate(path));
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        Assert.Equal(good[..20], File.ReadAllText(path));
    }
}
