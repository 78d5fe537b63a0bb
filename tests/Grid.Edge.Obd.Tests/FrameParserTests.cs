using CsCheck;
using Grid.Edge.Obd.Frames;

namespace Grid.Edge.Obd.Tests;

public sealed class FrameParserTests
{
    [Fact]
    public void An_identical_frame_sent_twice_is_one_answer()
    {
        var messages = FrameParser.Parse(["7E8 04 41 15 00 FF", "7E8 04 41 15 00 FF"], HeaderFormat.Can11);
        Assert.Single(messages);
    }

    [Fact]
    public void A_multi_frame_answer_with_a_missing_consecutive_frame_is_dropped()
    {
        var messages = FrameParser.Parse(["7E8 10 14 49 02 01 57 50 30", "7E8 22 53 33 39 30 30 30 30"], HeaderFormat.Can11);
        Assert.Empty(messages);
    }

    [Fact]
    public void Multi_frame_answers_of_two_ECUs_interleaved_are_reassembled_apart()
    {
        var messages = FrameParser.Parse(
            ["7E8 10 0A 43 04 01 71 03 00", "7E9 10 08 43 03 04 20 C1 00", "7E8 21 04 20 C1 00 00 00", "7E9 21 01 33 00 00 00 00 00"],
            HeaderFormat.Can11);
        Assert.Equal(2, messages.Count);
        Assert.Equal("7E8", messages[0].Ecu);
        Assert.Equal(10, messages[0].Payload.Length);
        Assert.Equal("7E9", messages[1].Ecu);
        Assert.Equal(8, messages[1].Payload.Length);
    }

    [Fact]
    public void Single_frames_with_impossible_lengths_are_ignored()
    {
        Assert.Empty(FrameParser.Parse(["7E8 00 41 0C", "7E8 08 41 0C 1A F8 00 00 00 00", "7E8 05 41 0C"], HeaderFormat.Can11));
    }

    [Fact]
    public void Random_adapter_output_never_throws()
    {
        var line = Gen.OneOf(
            Gen.String[Gen.Char["0123456789ABCDEF :\r<>?."], 0, 40],
            Gen.Const("7E8 10 14 49 02 01 57 50 30"),
            Gen.Const("7E8 21 5A 5A"),
            Gen.Const("014"),
            Gen.Const("0: 49 02"),
            Gen.String);
        Gen.Select(line.Array[0, 8], Gen.Enum<HeaderFormat>()).Sample((lines, format) =>
        {
            foreach (var message in FrameParser.Parse(lines, format))
                Assert.NotNull(message.Payload);
        }, iter: 20_000);
    }
}
