using System.Text;
using CsCheck;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Exports;
using Grid.Edge.Protocol.Readings;
using Microsoft.Extensions.Configuration;

namespace Grid.Edge.Hub.Tests.Exports;

/// <summary>The exports' pure decisions: line protocol, series selection, backoff, when the cursor moves, settings.</summary>
public sealed class ExportDecisionTests
{
    private static readonly Gen<string> Names = Gen.String[Gen.Char["abcXYZ019_-., =\\\n\r"], 1, 12];

    [Fact]
    public void A_reading_is_one_line_with_device_and_unit_tags_a_float_value_and_its_time_in_ms()
    {
        var line = LineProtocol.Format([new Reading(new SeriesKey("roof", "temperature"), 1795330000123, 21.5, "°C")]);
        Assert.Equal("temperature,device=roof,unit=°C value=21.5 1795330000123\n", line);
        Assert.Equal("power,device=van value=3 5\n", LineProtocol.Format([new Reading(new SeriesKey("van", "power"), 5, 3, "")]));
    }

    [Fact]
    public void Escaped_names_parse_back_to_what_was_written()
    {
        Gen.Select(Names, Names, Names, Gen.Double[-1e12, 1e12], Gen.Long[0, 4_000_000_000_000]).Sample((metric, device, unit, value, time) =>
        {
            var line = LineProtocol.Format([new Reading(new SeriesKey(device, metric), time, value, unit)]);
            var parsed = ParsedLine.Parse(line);
            Assert.Equal(Unrepresentable(metric), parsed.Measurement);
            Assert.Equal(Unrepresentable(device), parsed.Tags["device"]);
            Assert.Equal(Unrepresentable(unit), parsed.Tags["unit"]);
            Assert.Equal(value, parsed.Value);
            Assert.Equal(time, parsed.Time);
        });
    }

    [Theory]
    [InlineData("*", "roof/temperature", true)]
    [InlineData("roof/*", "roof/temperature", true)]
    [InlineData("roof/*", "roofs/temperature", false)]
    [InlineData("*/temperature", "yard/temperature", true)]
    [InlineData("*/temperature", "yard/temperature_max", false)]
    [InlineData("van/speed", "van/speed", true)]
    [InlineData("van.1/*", "vanx1/speed", false)]
    public void Series_are_chosen_by_pattern(string pattern, string series, bool chosen) =>
        Assert.Equal(chosen, SeriesPattern.Matches(pattern, series));

    [Fact]
    public void Waits_double_up_to_the_longest_and_jitter_only_shortens_them()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60], Enumerable.Range(1, 8).Select(n => backoff.Delay(n, 0).TotalSeconds));
        Assert.Equal(TimeSpan.FromMinutes(2), Backoff.Default.Delay(int.MaxValue, 0));
        Gen.Select(Gen.Int[1, 1000], Gen.Double[0, 0.999999]).Sample((failures, jitter) =>
        {
            var full = backoff.Delay(failures, 0);
            var delay = backoff.Delay(failures, jitter);
            Assert.InRange(delay, full * 0.8, full);
        });
    }

    [Fact]
    public void The_cursor_moves_to_a_head_once_everything_queued_by_the_next_tick_was_sent()
    {
        var advance = new CursorAdvance(10);
        advance.Tick(head: 20, queuedSeq: 5);
        Assert.False(advance.Sent(5)); // nothing waits yet: 20 is only marked
        advance.Tick(head: 30, queuedSeq: 9); // 20 waits for everything queued up to 9
        Assert.False(advance.Sent(8));
        Assert.Equal(10, advance.Durable);
        Assert.True(advance.Sent(9));
        Assert.Equal(20, advance.Durable);
        advance.Tick(head: 30, queuedSeq: 12);
        advance.Forget(); // the queue was dropped: only a catch-up may move it now
        advance.Tick(head: 40, queuedSeq: 12);
        Assert.False(advance.Sent(100));
        Assert.Equal(20, advance.Durable);
        advance.CaughtUp(35);
        Assert.Equal(35, advance.Durable);
        advance.CaughtUp(30);
        Assert.Equal(35, advance.Durable);
    }

    [Fact]
    public void Exports_are_read_from_the_hub_section_and_never_show_their_credentials()
    {
        var exports = ExportSettings.Read(Config(
            ("0:Name", "lake"), ("0:Kind", "influx1"), ("0:Url", "http://nas:8086/"), ("0:Database", "grid"), ("0:Username", "hub"), ("0:Password", "s3cret"), ("0:Series:0", "roof/*"), ("0:Series:1", "van/*"),
            ("1:Name", "vm"), ("1:Kind", "influx2"), ("1:Url", "http://vm:8428"), ("1:Org", "home"), ("1:Bucket", "grid"), ("1:Token", "t0ken")));
        Assert.Equal(["lake", "vm"], exports.Select(e => e.Name));
        Assert.Equal(["roof/*", "van/*"], exports[0].Series);
        Assert.Equal(["*"], exports[1].Series);
        Assert.Equal("http://nas:8086 db=grid", exports[0].Target);
        Assert.Equal("http://vm:8428 org=home bucket=grid", exports[1].Target);
        Assert.DoesNotContain("s3cret", exports[0].ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken", exports[1].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Kind", "influx9", "use influx1")]
    [InlineData("Url", "nas:8086", "http:// or https://")]
    [InlineData("Url", "http://hub:pw@nas:8086", "not in the Url")]
    [InlineData("Database", "", "Database is missing")]
    [InlineData("Name", "a b", "Name must be")]
    [InlineData("BatchPoints", "0", "BatchPoints must be a whole number from 1")]
    public void A_bad_export_stops_the_start_with_what_to_change(string key, string value, string message)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["Name"] = "lake", ["Kind"] = "influx1", ["Url"] = "http://nas:8086", ["Database"] = "grid" };
        settings[key] = value;
        var error = Assert.Throws<HubConfigurationException>(() => ExportSettings.Read(Config([.. settings.Select(s => ("0:" + s.Key, s.Value))])));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_exports_cannot_share_a_name()
    {
        var error = Assert.Throws<HubConfigurationException>(() => ExportSettings.Read(Config(
            ("0:Name", "lake"), ("0:Kind", "influx1"), ("0:Url", "http://a:8086"), ("0:Database", "grid"),
            ("1:Name", "Lake"), ("1:Kind", "influx1"), ("1:Url", "http://b:8086"), ("1:Database", "grid"))));
        Assert.Contains("Two exports are named", error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create("Hub:Exports:" + v.Key, (string?)v.Value))).Build();

    private static string Unrepresentable(string text) => text.Replace('\n', '_').Replace('\r', '_').Replace('\\', '_');

    /// <summary>The oracle: a line parsed as InfluxDB 1.x parses it (escapes: backslash before comma, equals sign or space).</summary>
    private sealed record ParsedLine(string Measurement, Dictionary<string, string> Tags, double Value, long Time)
    {
        public static ParsedLine Parse(string line)
        {
            Assert.EndsWith("\n", line, StringComparison.Ordinal);
            Assert.Single(line.Split('\n'), l => l.Length > 0);
            var position = 0;
            var measurement = Read(line, ref position, [',', ' ']);
            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            while (line[position] == ',')
            {
                position++;
                var key = Read(line, ref position, ['=']);
                position++;
                tags[key] = Read(line, ref position, [',', ' ']);
            }

            position++;
            var field = Read(line, ref position, ['=']);
            Assert.Equal("value", field);
            position++;
            var rest = line[position..^1].Split(' ');
            Assert.Equal(2, rest.Length);
            return new ParsedLine(measurement, tags, double.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture));
        }

        private static string Read(string line, ref int position, char[] stops)
        {
            var text = new StringBuilder();
            while (!stops.Contains(line[position]))
            {
                if (line[position] == '\\' && position + 1 < line.Length && line[position + 1] is ',' or '=' or ' ')
                    position++;
                Assert.NotEqual('\n', line[position]);
                text.Append(line[position++]);
            }

            Assert.NotEqual(0, text.Length);
            return text.ToString();
        }
    }
}
