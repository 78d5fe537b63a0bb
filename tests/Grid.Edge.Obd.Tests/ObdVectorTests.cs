using Grid.Edge.Obd.Elm327;
using Grid.Edge.Obd.Frames;
using Grid.Edge.Obd.Pids;

namespace Grid.Edge.Obd.Tests;

/// <summary>Every decoding vector of shared reference obd2.md.</summary>
public sealed class ObdVectorTests
{
    private static IReadOnlyList<ObdMessage> Messages(string raw, HeaderFormat format) =>
        FrameParser.Parse(raw.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(FrameParser.IsHexLine), format);

    [Theory]
    [InlineData("41 0C 14 5F ", HeaderFormat.None, 0x0C, 1303.75)]
    [InlineData("410C145F", HeaderFormat.None, 0x0C, 1303.75)]
    [InlineData("7E8 04 41 0C 41 C2 ", HeaderFormat.Can11, 0x0C, 4208.5)]
    [InlineData("41 05 5F ", HeaderFormat.None, 0x05, 55)]
    [InlineData("7E8 03 41 05 4C ", HeaderFormat.Can11, 0x05, 36)]
    [InlineData("41 05 7B ", HeaderFormat.None, 0x05, 83)]
    [InlineData("410D0A", HeaderFormat.None, 0x0D, 10)]
    [InlineData("7E8 03 41 0B 73 ", HeaderFormat.Can11, 0x0B, 115)]
    [InlineData("7E8 03 41 0F 44 ", HeaderFormat.Can11, 0x0F, 28)]
    [InlineData("7E8 04 41 10 05 1F ", HeaderFormat.Can11, 0x10, 13.11)]
    [InlineData("7E8 04 41 1F 00 8C ", HeaderFormat.Can11, 0x1F, 140)]
    [InlineData("7E8 04 41 21 00 00 ", HeaderFormat.Can11, 0x21, 0)]
    [InlineData("7E8 04 41 31 C8 1F ", HeaderFormat.Can11, 0x31, 51231)]
    [InlineData("7E8 04 41 31 00 32 ", HeaderFormat.Can11, 0x31, 50)]
    [InlineData("7E8 03 41 33 65 ", HeaderFormat.Can11, 0x33, 101)]
    [InlineData("7E8 04 41 42 39 D6 ", HeaderFormat.Can11, 0x42, 14.806)]
    [InlineData("7E8 03 41 46 43 ", HeaderFormat.Can11, 0x46, 27)]
    [InlineData("18 DA F1 10 04 41 0C 1A F8", HeaderFormat.Can29, 0x0C, 1726)]
    [InlineData("48 6B 10 41 0C 1A F8 F0", HeaderFormat.Legacy, 0x0C, 1726)]
    public void Reference_response_strings_decode_to_the_reference_values(string raw, HeaderFormat format, int pid, double expected)
    {
        var message = Assert.Single(Messages(raw, format));
        Assert.True(PidTable.TryDecode(pid, message.Payload, out var value));
        Assert.Equal(expected, value, 6);
    }

    [Fact]
    public void Two_ECUs_answering_with_spaces_off_are_two_messages()
    {
        var messages = Messages("7E804410C0A00\r7EA04410C0A00\r", HeaderFormat.Can11);
        Assert.Equal(["7E8", "7EA"], messages.Select(m => m.Ecu));
        Assert.All(messages, m => Assert.True(PidTable.TryDecode(0x0C, m.Payload, out var rpm) && rpm == 640));
    }

    [Theory]
    [InlineData(0x0A, new byte[] { 0xFF }, 765)]
    [InlineData(0x0E, new byte[] { 0x00 }, -64)]
    [InlineData(0x0E, new byte[] { 0xFF }, 63.5)]
    [InlineData(0x06, new byte[] { 0x00 }, -100)]
    [InlineData(0x06, new byte[] { 0xFF }, 99.21875)]
    [InlineData(0x04, new byte[] { 0xFF }, 100)]
    [InlineData(0x2F, new byte[] { 0x80 }, 50.19607843)]
    [InlineData(0x0C, new byte[] { 0xFF, 0xFF }, 16383.75)]
    [InlineData(0x5E, new byte[] { 0xFF, 0xFF }, 3276.75)]
    [InlineData(0x4E, new byte[] { 0x01, 0x00 }, 256)]
    [InlineData(0x5C, new byte[] { 0xFA }, 210)]
    [InlineData(0xA6, new byte[] { 0x00, 0x00, 0xEA, 0x5C }, 5999.6)]
    [InlineData(0xA6, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, 429496729.5)]
    public void Formula_ends_of_range(int pid, byte[] data, double expected)
    {
        Assert.True(PidTable.TryDecode(pid, [0x41, (byte)pid, .. data], out var value));
        Assert.Equal(expected, value, 6);
    }

    [Fact]
    public void Answers_that_are_not_a_positive_service_01_answer_are_refused()
    {
        Assert.False(PidTable.TryDecode(0xA6, [0x61, 0xA6, 0x00, 0x00, 0xEA, 0x5C], out _)); // emulator answering 0x61
        Assert.False(PidTable.TryDecode(0x0C, [0x41, 0x0C, 0x1A], out _));                  // too short
        Assert.False(PidTable.TryDecode(0x0C, [0x41, 0x0D, 0x1A, 0xF8], out _));            // another PID
        Assert.False(PidTable.TryDecode(0x0C, [0x7F, 0x01, 0x12], out _));                  // negative response
        Assert.False(PidTable.TryDecode(0x99, [0x41, 0x99, 0x00], out _));                  // not a measurement we know
    }

    [Theory]
    [InlineData("41 00 BE 3F A8 13", 0x00, "01 03 04 05 06 07 0B 0C 0D 0E 0F 10 11 13 15 1C 1F 20", true)]
    [InlineData("41 20 90 15 B0 15", 0x20, "21 24 2C 2E 30 31 33 34 3C 3E 40", true)]
    [InlineData("41 40 44 DC 80 08", 0x40, "42 46 49 4A 4C 4D 4E 51 5D", false)]
    [InlineData("41 00 38 3B 80 13", 0x00, "03 04 05 0B 0C 0D 0F 10 11 1C 1F 20", true)]
    public void Supported_pid_bitmasks_decode_as_in_the_reference(string raw, int basePid, string expected, bool next)
    {
        var supported = new SortedSet<int>();
        Assert.Equal(next, SupportedPids.Decode(Convert.FromHexString(raw.Replace(" ", string.Empty, StringComparison.Ordinal)), basePid, supported));
        Assert.Equal(expected.Split(' ').Select(h => Convert.ToInt32(h, 16)), supported);
    }

    [Theory]
    [InlineData("41 01 83 07 FF 00", true, 3, false)]
    [InlineData("41 01 00 79 03 03", false, 0, true)]
    [InlineData("41 01 00 07 A1 00", false, 0, false)]
    public void Monitor_status_gives_the_MIL_the_code_count_and_ignition_type(string raw, bool mil, int codes, bool diesel)
    {
        Assert.True(MonitorStatus.TryDecode(Convert.FromHexString(raw.Replace(" ", string.Empty, StringComparison.Ordinal)), out var status));
        Assert.Equal(new MonitorStatus(mil, codes, diesel), status);
    }

    [Theory]
    [InlineData(0x0133, "P0133")]
    [InlineData(0x0171, "P0171")]
    [InlineData(0x0300, "P0300")]
    [InlineData(0x0420, "P0420")]
    [InlineData(0x4123, "C0123")]
    [InlineData(0x8003, "B0003")]
    [InlineData(0xC100, "U0100")]
    [InlineData(0xD234, "U1234")]
    [InlineData(0x1111, "P1111")]
    [InlineData(0x2ABC, "P2ABC")]
    public void Trouble_codes_follow_SAE_J2012(int raw, string text)
    {
        Assert.Equal(text, new TroubleCode(raw).ToString());
        Assert.True(TroubleCode.TryParse(text, out var parsed));
        Assert.Equal(raw, parsed.Raw);
    }

    [Theory]
    [InlineData("7E8 06 43 02 01 71 03 00", HeaderFormat.Can11, true, "P0171 P0300")]
    [InlineData("43 02 01 71 03 00", HeaderFormat.None, true, "P0171 P0300")]
    [InlineData("7E8 10 0A 43 04 01 71 03 00\r7E8 21 04 20 C1 00 00 00", HeaderFormat.Can11, true, "P0171 P0300 P0420 U0100")]
    [InlineData("43 01 71 03 00 00 00", HeaderFormat.None, false, "P0171 P0300")]
    [InlineData("48 6B 10 43 01 33 00 00 00 00 2F", HeaderFormat.Legacy, false, "P0133")]
    [InlineData("7E8 02 43 00", HeaderFormat.Can11, true, "")]
    [InlineData("43 00", HeaderFormat.None, true, "")]
    public void Trouble_code_answers_decode_with_and_without_count_byte(string raw, HeaderFormat format, bool can, string expected)
    {
        var codes = Messages(raw, format).SelectMany(m => TroubleCode.Decode(m.Payload, can)).Select(c => c.ToString());
        Assert.Equal(expected, string.Join(' ', codes));
    }

    [Fact]
    public void A_refused_clear_is_a_negative_response_with_its_code()
    {
        var message = Assert.Single(Messages("7E8 03 7F 04 22", HeaderFormat.Can11));
        Assert.True(message.IsNegative);
        Assert.Equal(0x22, message.NegativeResponseCode);
    }

    [Theory]
    [InlineData("014\r0: 49 02 01 57 50 30 \r1: 5A 5A 5A 39 39 5A 54 \r2: 53 33 39 30 30 30 30 ", HeaderFormat.None, "WP0ZZZ99ZTS390000")]
    [InlineData("7E8 10 14 49 02 01 57 50 30 \r7E8 21 5A 5A 5A 39 39 5A 54 \r7E8 22 53 33 39 30 30 30 30 ", HeaderFormat.Can11, "WP0ZZZ99ZTS390000")]
    [InlineData("7E810144902014D4154\r7E82134303330393642\r7E8224E4C3030303030", HeaderFormat.Can11, "MAT403096BNL00000")]
    [InlineData("7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r7E8 22 42 31 32 33 34 35 36", HeaderFormat.Can11, "1D4GP00R55B123456")]
    public void The_VIN_is_reassembled_from_multi_frame_answers(string raw, HeaderFormat format, string vin)
    {
        var messages = Messages(raw, format);
        Assert.Equal(vin, VehicleIdentification.Decode(messages.Select(m => m.Payload).ToList()));
    }

    [Fact]
    public void A_legacy_VIN_in_five_numbered_lines_is_put_in_order()
    {
        var vin = "1D4GP00R55B123456"u8.ToArray();
        var data = new byte[] { 0, 0, 0 }.Concat(vin).ToArray();
        var lines = Enumerable.Range(0, 5).Select(n => (byte[])[0x49, 0x02, (byte)(n + 1), .. data.Skip(n * 4).Take(4)]).Reverse().ToList();
        Assert.Equal("1D4GP00R55B123456", VehicleIdentification.Decode(lines));
    }

    [Theory]
    [InlineData("41 03 02 00", 0x03, "closed loop (oxygen sensor feedback)")]
    [InlineData("41 03 01 04", 0x03, "open loop (engine cold); bank 2: open loop (load or deceleration fuel cut)")]
    [InlineData("41 1C 06", 0x1C, "EOBD (Europe)")]
    [InlineData("41 1C 01", 0x1C, "OBD-II (CARB)")]
    [InlineData("41 51 04", 0x51, "diesel")]
    [InlineData("41 51 01", 0x51, "gasoline")]
    [InlineData("41 02 01 33", 0x02, "freeze frame of P0133")]
    [InlineData("41 02 00 00", 0x02, "no freeze frame")]
    public void State_pids_are_described(string raw, int pid, string expected)
    {
        Assert.Equal(expected, EnumeratedPids.Describe(pid, Convert.FromHexString(raw.Replace(" ", string.Empty, StringComparison.Ordinal))));
    }

    [Fact]
    public void Adapter_text_is_classified()
    {
        Assert.Equal(ElmStatus.Ok, ElmResponse.Classify(["SEARCHING...", "7E8 06 41 00 BE 1F A8 13"]));
        Assert.Equal(ElmStatus.Ok, ElmResponse.Classify(["BUS INIT: ...OK", "41 00 BE 1F A8 13"]));
        Assert.Equal(ElmStatus.NoData, ElmResponse.Classify(["NO DATA"]));
        Assert.Equal(ElmStatus.UnableToConnect, ElmResponse.Classify(["SEARCHING...", "UNABLE TO CONNECT"]));
        Assert.Equal(ElmStatus.UnableToConnect, ElmResponse.Classify(["BUS INIT: ...ERROR"]));
        Assert.Equal(ElmStatus.UnableToConnect, ElmResponse.Classify(["BUS INIT: STOPPED"]));
        Assert.Equal(ElmStatus.UnableToConnect, ElmResponse.Classify(["NOT CONNECTED"]));
        Assert.Equal(ElmStatus.BusError, ElmResponse.Classify(["CAN ERROR"]));
        Assert.Equal(ElmStatus.DataError, ElmResponse.Classify(["<DATA ERROR"]));
        Assert.Equal(ElmStatus.DataError, ElmResponse.Classify(["BUFFER FULL"]));
        Assert.Equal(ElmStatus.Stopped, ElmResponse.Classify(["STOPPED"]));
        Assert.Equal(ElmStatus.Unknown, ElmResponse.Classify(["?"]));
        Assert.Equal(ElmStatus.AdapterReset, ElmResponse.Classify(["LV RESET"]));
        Assert.Equal(ElmStatus.AdapterReset, ElmResponse.Classify(["ERR94"]));
        Assert.Equal(ElmStatus.Ok, ElmResponse.Classify(["VENDOR MODE"]));
    }
}
