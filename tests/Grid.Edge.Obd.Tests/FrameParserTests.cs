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
    public void Random_adapter_output_yields_only_messages_that_a_frame_in_it_declares()
    {
        // Well-formed single frames among the noise, so that messages do come out and the oracle is exercised.
        var frame = Gen.Select(Gen.OneOf(Gen.Const("7E8"), Gen.Const("7E9"), Gen.Const("18DAF110")), Gen.Byte.Array[1, 7])
            .Select((ecu, data) => $"{ecu} {data.Length:X2} {Convert.ToHexString(data)}");
        var line = Gen.OneOf(
            Gen.String[Gen.Char["0123456789ABCDEF :\r<>?."], 0, 40],
            Gen.Const("7E8 10 14 49 02 01 57 50 30"),
            Gen.Const("7E8 21 5A 5A"),
            Gen.Const("014"),
            Gen.Const("0: 49 02"),
            frame,
            Gen.String);
        var produced = 0;
        Gen.Select(line.Array[0, 8], Gen.Enum<HeaderFormat>()).Sample((lines, format) =>
        {
            var compact = lines.Select(l => l.Replace(" ", string.Empty, StringComparison.Ordinal).Trim().ToUpperInvariant()).ToList();
            foreach (var message in FrameParser.Parse(lines, format))
            {
                Interlocked.Increment(ref produced);
                Assert.NotEmpty(message.Payload);
                var hex = Convert.ToHexString(message.Payload);
                Assert.True(Declared(message, hex, compact, format), $"{format} message {message.Ecu}:{hex} is declared by no frame of [{string.Join(" | ", lines)}]");
            }
        }, iter: 20_000);
        Assert.True(produced > 1000, $"only {produced} messages came out of the samples");
    }

    /// <summary>
    /// The oracle: a message must come from a frame in the input that declares it. A single frame carries its ECU, its
    /// length and exactly its bytes; a multi-frame message has a first frame (or headerless length line) declaring its
    /// length, and its bytes appear, in order, among the input's hex digits.
    /// </summary>
    private static bool Declared(ObdMessage message, string hex, List<string> compact, HeaderFormat format)
    {
        var length = message.Payload.Length;
        var digits = string.Concat(compact.SelectMany(l => l.Where(char.IsAsciiHexDigit)));
        return format switch
        {
            HeaderFormat.None =>
                compact.Contains(hex)
                || (compact.Any(l => l.Length == 3 && l == length.ToString("X3", System.Globalization.CultureInfo.InvariantCulture)) && IsSubsequence(hex, digits)),
            // Three header bytes, the ECU's address third, the data, then a checksum byte.
            HeaderFormat.Legacy => compact.Any(l => l.Length == (length + 4) * 2 && l.Substring(4, 2) == message.Ecu && l.Substring(6, length * 2) == hex),
            _ => (length <= 7 && compact.Any(l => l.StartsWith(message.Ecu + length.ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + hex, StringComparison.Ordinal)))
                || (compact.Any(l => l.StartsWith(message.Ecu + "1" + length.ToString("X3", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)) && IsSubsequence(hex, digits)),
        };
    }

    private static bool IsSubsequence(string part, string whole)
    {
        var at = 0;
        foreach (var c in whole)
        {
            if (at < part.Length && part[at] == c)
                at++;
        }

        return at == part.Length;
    }
}
