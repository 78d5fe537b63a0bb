using CsCheck;
using Grid.Edge.Firmware.Core.Station;

namespace Grid.Edge.Firmware.Core.Tests;

public sealed class SettingsFileTests
{
    private const string Example = """
        # Grid.Edge weather station
        device_id = roof-station
        wifi_ssid = van-net
        wifi_password = s3cret = with equals
        hub_host = 192.168.4.1
        hub_port = 1883
        mqtt_user = roof-station
        mqtt_password = 9f2c
        sample_interval_s = 300
        bme280_address = 0x77
        rain_mm_per_tip = 0.2794
        has_anemometer = no
        """;

    [Fact]
    public void The_example_settings_are_read()
    {
        var options = new StationOptions();
        var board = new BoardSettings();
        Assert.Equal(string.Empty, SettingsFile.Load(Example, options, board));
        Assert.Equal("roof-station", options.DeviceId);
        Assert.Equal("s3cret = with equals", board.WifiPassword);
        Assert.Equal("192.168.4.1", board.HubHost);
        Assert.Equal(0x77, board.Bme280Address);
        Assert.Equal(0.2794, options.RainMillimetresPerTip);
        Assert.False(options.HasAnemometer);
        Assert.Equal(300, options.SampleIntervalSeconds);
    }

    [Theory]
    [InlineData("colour = blue", "line 6: unknown setting 'colour'")]
    [InlineData("hub_port = eighteen", "line 6: hub_port must be a whole number, not 'eighteen'")]
    [InlineData("has_bme280 = maybe", "line 6: has_bme280 must be true or false, not 'maybe'")]
    [InlineData("rain_mm_per_tip = -1", "line 6: rain_mm_per_tip must be a positive number like 0.2794, not '-1'")]
    [InlineData("just words", "line 6: expected key = value")]
    [InlineData("sample_interval_s = 5", "SampleIntervalSeconds must be 10 to 86400")]
    [InlineData("bme280_address = 0x40", "bme280_address must be 0x76 or 0x77")]
    [InlineData("device_id = roof station", "DeviceId may only use A-Z a-z 0-9 _ . -")]
    public void Problems_name_the_line_and_what_to_write(string badLine, string expected)
    {
        var text = "device_id = s1\nwifi_ssid = w\nhub_host = h\n# comment\n\n" + badLine + "\n";
        Assert.Equal(expected, SettingsFile.Load(text, new StationOptions(), new BoardSettings()));
    }

    [Fact]
    public void Missing_required_settings_are_named()
    {
        Assert.Equal("wifi_ssid is required", SettingsFile.Load("device_id = a\n", new StationOptions(), new BoardSettings()));
    }

    [Fact]
    public void Number_parsers_agree_with_the_runtime_and_never_throw()
    {
        Gen.Int.Sample(i =>
        {
            Assert.True(SettingsFile.TryParseInteger(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out var back) == (Math.Abs((long)i) <= 999_999_999));
            if (Math.Abs((long)i) <= 999_999_999)
                Assert.Equal(i, back);
        });
        Gen.Decimal[-999999, 999999].Sample(d =>
        {
            var text = Math.Round(d, 4).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(SettingsFile.TryParseDecimal(text, out var value));
            Assert.Equal((double)Math.Round(d, 4), value, 9);
        });
        Gen.String.Sample(s =>
        {
            if (!SettingsFile.TryParseInteger(s, out var i))
                Assert.Equal(0, i);
            if (!SettingsFile.TryParseDecimal(s, out var d))
                Assert.Equal(0, d);
            Assert.NotNull(SettingsFile.Load(s, new StationOptions(), new BoardSettings()));
        });
    }
}
