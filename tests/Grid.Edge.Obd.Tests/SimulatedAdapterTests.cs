using CsCheck;
using Grid.Edge.Simulation.Obd;

namespace Grid.Edge.Obd.Tests;

/// <summary>The simulated adapter's own behaviour, so that the client's tests against it stand on what it claims to be.</summary>
public sealed class SimulatedAdapterTests
{
    private static readonly int[] Rates = [9600, 38400, 57600, 115200, 230400, 500000];

    [Fact]
    public void An_adapter_with_no_prompt_for_an_empty_line_echoes_the_wake_up_line_and_says_nothing_more()
    {
        var adapter = new SimulatedElm327(new SimulatedVehicle()) { NoPromptForEmptyLine = true };
        Assert.Equal("\u007F\u007F\r", adapter.Respond("\u007F\u007F"));
        Assert.Equal("\r", adapter.Respond(string.Empty)); // not a repeat of the last command either
        Assert.Equal("ATZ\r\rELM327 v1.5\r\r>", adapter.Respond("ATZ"));
        Assert.Equal("ATE0\rOK\r\r>", adapter.Respond("ATE0"));
        Assert.Equal(string.Empty, adapter.Respond("\u007F\u007F")); // echo off: nothing at all
        Assert.EndsWith("\r41 0D 00\r\r>", adapter.Respond("010D"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_genuine_adapter_answers_the_wake_up_line_with_a_question_mark_and_a_prompt()
    {
        var adapter = new SimulatedElm327(new SimulatedVehicle());
        Assert.Equal("\r?\r\r>", adapter.Respond("\u007F\u007F"));
        Assert.Equal("ATI\rELM327 v1.5\r\r>", adapter.Respond("ATI"));
        Assert.Equal("\rELM327 v1.5\r\r>", adapter.Respond(string.Empty)); // a bare CR repeats the last command
    }

    [Fact]
    public void An_adapter_with_no_prompt_after_the_banner_prompts_after_everything_else()
    {
        var adapter = new SimulatedElm327(new SimulatedVehicle()) { NoPromptAfterBanner = true };
        Assert.Equal("ATZ\r\rELM327 v1.5\r\r", adapter.Respond("ATZ"));
        Assert.Equal("ATI\rELM327 v1.5\r\r>", adapter.Respond("ATI"));
    }

    [Fact]
    public void Line_noise_comes_before_the_banner_when_asked_for()
    {
        var adapter = new SimulatedElm327(new SimulatedVehicle()) { NoiseBeforeBanner = true };
        Assert.Equal("ATZ\r\u00FC\u0080\u00F8\u0000\u00FE\rELM327 v1.5\r\r>", adapter.Respond("ATZ"));
    }

    [Fact]
    public void A_line_at_its_own_speed_carries_the_bytes_unchanged() =>
        Gen.Select(Gen.Byte.Array[0, 64], Gen.Int[0, Rates.Length - 1]).Sample((bytes, rate) =>
            Assert.Equal(bytes, UartLine.Resample(bytes, Rates[rate], Rates[rate])));

    [Fact]
    public void A_receiver_at_twice_the_speed_reads_the_start_bit_as_data()
    {
        // 0xFF at R: the start bit lasts two bits at 2R, so bit 0 is read low, the rest high; the stop bit is high.
        Assert.Equal([0xFE], UartLine.Resample([0xFF], 9600, 19200));
        // At half the speed the nine low bits last four and a half: three data bits read low, then the stop bit high.
        Assert.Equal([0xF8], UartLine.Resample([0x00], 19200, 9600));
    }

    [Fact]
    public void A_command_sent_at_another_standard_speed_never_arrives_as_a_command()
    {
        foreach (var sent in Rates)
        {
            foreach (var read in Rates.Where(r => r != sent))
            {
                foreach (var command in new[] { "ATZ\r", "ATI\r", "ATZ\rATZ\r", "0100\r" })
                {
                    var heard = UartLine.Resample(System.Text.Encoding.ASCII.GetBytes(command), sent, read);
                    Assert.DoesNotContain((byte)'\r', heard);
                    Assert.NotEqual(System.Text.Encoding.ASCII.GetBytes(command.TrimEnd('\r')), heard);
                }
            }
        }
    }
}
