using Grid.Edge.Obd.Elm327;

namespace Grid.Edge.Obd.Tests;

/// <summary>The remembered baud rates: one per device path, only a hint, never a reason to fail.</summary>
public sealed class BaudRateMemoryTests
{
    [Fact]
    public void Each_device_keeps_its_own_rate_across_instances()
    {
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, "sub", BaudRateMemory.FileName);
        var memory = new BaudRateMemory(file);
        Assert.Null(memory.Recall("/dev/ttyUSB0"));
        Assert.Null(memory.Remember("/dev/ttyUSB0", 115200));
        Assert.Null(memory.Remember("/dev/rfcomm0", 38400));
        Assert.Null(memory.Remember("/dev/ttyUSB0", 9600));

        var later = new BaudRateMemory(file);
        Assert.Equal(9600, later.Recall("/dev/ttyUSB0"));
        Assert.Equal(38400, later.Recall("/dev/rfcomm0"));
        Assert.Null(later.Recall("/dev/ttyUSB1"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp"));
    }

    [Fact]
    public void The_same_rate_again_is_not_written_again()
    {
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, BaudRateMemory.FileName);
        const string byHand = "{ \"/dev/ttyUSB0\" : 38400 }";
        File.WriteAllText(file, byHand);
        Assert.Null(new BaudRateMemory(file).Remember("/dev/ttyUSB0", 38400));
        Assert.Equal(byHand, File.ReadAllText(file)); // the SD card is spared a write each time the adapter connects
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"/dev/ttyUSB0\": \"fast\"}")]
    [InlineData("[38400]")]
    [InlineData("{\"/dev/ttyUSB0\": 12}")]
    [InlineData("{\"/dev/ttyUSB0\": 99999999}")]
    public void A_damaged_or_implausible_file_means_probing_from_the_start_and_is_replaced(string content)
    {
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, BaudRateMemory.FileName);
        File.WriteAllText(file, content);
        var memory = new BaudRateMemory(file);
        Assert.Null(memory.Recall("/dev/ttyUSB0"));
        Assert.Null(memory.Remember("/dev/ttyUSB0", 38400));
        Assert.Equal(38400, new BaudRateMemory(file).Recall("/dev/ttyUSB0"));
    }

    [Fact]
    public void A_folder_that_cannot_be_written_is_reported_not_thrown()
    {
        using var data = new TempDirectory();
        var blocker = Path.Combine(data.Path, "a-file");
        File.WriteAllText(blocker, string.Empty);
        var memory = new BaudRateMemory(Path.Combine(blocker, BaudRateMemory.FileName)); // its folder is a file
        Assert.Null(memory.Recall("/dev/ttyUSB0"));
        Assert.NotNull(memory.Remember("/dev/ttyUSB0", 38400));
    }
}
