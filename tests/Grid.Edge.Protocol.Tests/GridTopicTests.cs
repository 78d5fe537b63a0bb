using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Tests;

public class GridTopicTests
{
    [Theory]
    [InlineData("grid/ws1/temperature", GridTopicKind.Reading, "ws1", "temperature")]
    [InlineData("grid/van-2.obd/rpm", GridTopicKind.Reading, "van-2.obd", "rpm")]
    [InlineData("grid/ws1/batch", GridTopicKind.Batch, "ws1", null)]
    [InlineData("grid/ws1/status", GridTopicKind.Status, "ws1", null)]
    public void Parses_well_formed_topics(string topic, GridTopicKind kind, string device, string? metric)
    {
        Assert.True(GridTopic.TryParse(topic, out var parsed, out var error), error);
        Assert.Equal(new GridTopic(kind, device, metric), parsed);
    }

    [Theory]
    [InlineData("grid/ws1", "expected grid/<device>/<metric>")]
    [InlineData("grid/", "expected grid/<device>/<metric>")]
    [InlineData("grid", "expected grid/<device>/<metric>")]
    [InlineData("grid/ws1/temp/extra", "too many topic levels")]
    [InlineData("grid//temperature", "device is empty")]
    [InlineData("grid/ws1/", "metric is empty")]
    [InlineData("grid/w s/temperature", "device contains ' '")]
    [InlineData("grid/ws1/tem+p", "metric contains '+'")]
    [InlineData("grid/ws1/témp", "metric contains 'é'")]
    public void Refuses_malformed_topics_with_a_reason(string topic, string expected)
    {
        Assert.False(GridTopic.TryParse(topic, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Segments_are_limited_to_64_characters()
    {
        Assert.True(GridTopic.TryParse("grid/" + new string('d', 64) + "/m", out _, out _));
        Assert.False(GridTopic.TryParse("grid/" + new string('d', 65) + "/m", out _, out var error));
        Assert.Contains("longer than 64", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("grid", true)]
    [InlineData("grid/x/y", true)]
    [InlineData("gridx/y", false)]
    [InlineData("tasmota/tele/x", false)]
    [InlineData("", false)]
    public void Knows_its_namespace(string topic, bool expected) => Assert.Equal(expected, GridTopic.IsGridTopic(topic));

    [Fact]
    public void Every_topic_the_builders_make_parses_back_to_what_it_is()
    {
        Assert.Equal(new GridTopic(GridTopicKind.Reading, "van", "rpm"), Parse(GridTopic.ReadingTopic("van", "rpm")));
        Assert.Equal(new GridTopic(GridTopicKind.Batch, "van", null), Parse(GridTopic.BatchTopic("van")));
        Assert.Equal(new GridTopic(GridTopicKind.Columns, "van", null), Parse(GridTopic.ColumnsTopic("van")));
        Assert.Equal(new GridTopic(GridTopicKind.Status, "van", null), Parse(GridTopic.StatusTopic("van")));
        Assert.Equal(new GridTopic(GridTopicKind.Agent, "van", null), Parse(GridTopic.AgentTopic("van")));
        Assert.StartsWith(GridTopic.DevicePrefix("van"), GridTopic.ReadingTopic("van", "rpm"), StringComparison.Ordinal);

        // The hub's alert messages never read as a device's readings.
        Assert.True(GridTopic.IsGridTopic(GridTopic.AlertTopic("coolant-critical", "van")));
        Assert.False(GridTopic.TryParse(GridTopic.AlertTopic("coolant-critical", "van"), out _, out _));

        static GridTopic Parse(string topic) => GridTopic.TryParse(topic, out var parsed, out var error) ? parsed : throw new InvalidOperationException(error);
    }
}
