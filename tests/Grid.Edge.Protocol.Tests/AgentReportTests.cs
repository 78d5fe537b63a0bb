using System.Text;
using CsCheck;
using Grid.Edge.Protocol.Payloads;
using Grid.Edge.Protocol.Readings;
using Grid.Edge.Protocol.Topics;

namespace Grid.Edge.Protocol.Tests;

public sealed class AgentReportTests
{
    private static readonly ReadingDecoder Decoder = new();

    private static DecodedMessage Decode(string payload) =>
        Decoder.Decode("grid/van/agent", Encoding.UTF8.GetBytes(payload), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    [Fact]
    public void An_agent_report_is_decoded_and_never_taken_for_a_metric()
    {
        var decoded = Decode("""{"link":"connected","outboxReadings":12,"oldestUnsentMs":1763800000000,"droppedReadings":3,"lastError":null,"vehicle":"Running","version":"1.0","future":[1,2]}""");
        Assert.Equal(GridTopicKind.Agent, decoded.Kind);
        Assert.Empty(decoded.Rejections);
        Assert.Empty(decoded.Readings);
        Assert.Equal(new AgentReport("connected", 12, 1763800000000, 3, null, "Running", "1.0"), decoded.Agent);
    }

    [Theory]
    [InlineData("online", "is not valid")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("""{"outboxReadings":1}""", "has no \"link\"")]
    [InlineData("""{"link":"connected","outboxReadings":-1}""", "at least 0")]
    [InlineData("""{"link":5}""", "expected a string")]
    [InlineData("""{"link":"x",""", "is not valid")]
    public void A_bad_report_is_refused_with_a_reason(string payload, string reason)
    {
        var decoded = Decode(payload);
        Assert.Null(decoded.Agent);
        var rejection = Assert.Single(decoded.Rejections);
        Assert.Equal(RejectReason.BadStatus, rejection.Reason);
        Assert.Contains(reason, rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_metric_called_agent_is_refused_in_a_batch()
    {
        var decoded = Decoder.Decode("grid/van/batch", """{"readings":[{"m":"agent","v":1}]}"""u8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(RejectReason.BadMetric, Assert.Single(decoded.Rejections).Reason);
    }

    [Fact]
    public void Random_reports_never_throw()
    {
        Gen.OneOf(Gen.String, Gen.Const("""{"link":"a","outboxReadings":1e99}"""), Gen.Const("{\"link\":\"")).Sample(text =>
        {
            var decoded = Decode(text);
            Assert.True(decoded.Agent is not null || decoded.Rejections.Count == 1);
        });
    }
}
