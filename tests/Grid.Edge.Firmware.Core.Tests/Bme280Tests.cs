using CsCheck;
using Grid.Edge.Firmware.Core.Sensors;
using Grid.Edge.Firmware.Core.Tests.Simulated;
using Grid.Edge.Simulation.Devices;

namespace Grid.Edge.Firmware.Core.Tests;

/// <summary>The BME280 binding against the Bosch vectors (reference bme280.md) and a simulated register file.</summary>
public sealed class Bme280Tests
{
    private static Bme280Calibration BoschCalibration()
    {
        var bus = new SimulatedBme280Bus();
        var bme = new Bme280(bus, new SimulatedPower(new SimulatedClock(0, true)));
        Assert.Equal(Bme280Status.Ok, bme.Initialize());
        return bme.Calibration;
    }

    [Fact]
    public void Calibration_words_are_read_as_in_the_worked_example()
    {
        var c = BoschCalibration();
        Assert.Equal(
            new long[] { 27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000 },
            new long[] { c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9 });
        Assert.Equal(new[] { 75, 362, 0, 333, 0, 30 }, new[] { c.H1, c.H2, c.H3, c.H4, c.H5, c.H6 });
    }

    [Fact]
    public void Integer_compensation_reproduces_the_Bosch_worked_example_exactly()
    {
        var c = BoschCalibration();
        var centi = Bme280Compensation.Temperature(519888, c, out var tFine);
        Assert.Equal(128422, tFine);
        Assert.Equal(2508, centi);
        Assert.Equal(25767233, Bme280Compensation.Pressure(415148, tFine, c));
        Assert.Equal(100653.27, 25767233 / 256.0, 0.02);
    }

    [Theory]
    [InlineData(28656, 42245)]
    [InlineData(25000, 21277)]
    [InlineData(30000, 49922)]
    public void Humidity_reproduces_the_reference_vectors(int adcH, int expectedQ2210)
    {
        Assert.Equal(expectedQ2210, Bme280Compensation.Humidity(adcH, 128422, BoschCalibration()));
    }

    [Fact]
    public void A_forced_read_of_the_reference_burst_gives_the_reference_values()
    {
        var bus = new SimulatedBme280Bus { ConversionPolls = 2 };
        var bme = new Bme280(bus, new SimulatedPower(new SimulatedClock(0, true)));
        Assert.Equal(Bme280Status.Ok, bme.Initialize());
        Assert.True(bme.HasHumidity);
        Assert.Equal(0x01, bus.ControlHumidity);
        Assert.Equal(0x00, bus.Config);

        Assert.Equal(Bme280Status.Ok, bme.Read(out var t, out var p, out var h));
        Assert.Equal(1, bus.Conversions);
        Assert.Equal(25.08, t);
        Assert.Equal(25767233 / 25600.0, p);
        Assert.Equal(1006.53, Math.Round(p, 2));
        Assert.Equal(42245 / 1024.0, h);
    }

    [Fact]
    public void A_BMP280_is_detected_by_chip_id_and_reports_no_humidity()
    {
        var bus = new SimulatedBme280Bus(chipId: 0x58);
        var bme = new Bme280(bus, new SimulatedPower(new SimulatedClock(0, true)));
        Assert.Equal(Bme280Status.Ok, bme.Initialize());
        Assert.False(bme.HasHumidity);
        Assert.Equal(Bme280Status.Ok, bme.Read(out var t, out var p, out var h));
        Assert.Equal(25.08, t);
        Assert.False(double.IsNaN(p));
        Assert.True(double.IsNaN(h));
    }

    [Fact]
    public void Faults_are_reported_with_their_reason()
    {
        var power = new SimulatedPower(new SimulatedClock(0, true));
        Assert.Equal(Bme280Status.BusError, new Bme280(new SimulatedBme280Bus { Absent = true }, power).Initialize());
        Assert.Equal(Bme280Status.UnknownChip, new Bme280(new SimulatedBme280Bus(chipId: 0x61), power).Initialize());
        foreach (var fill in new byte[] { 0x00, 0xFF })
        {
            var blank = new SimulatedBme280Bus();
            blank.Blank(fill);
            Assert.Equal(Bme280Status.BadCalibration, new Bme280(blank, power).Initialize());
        }

        var stuck = new SimulatedBme280Bus { ConversionPolls = 1000 };
        var slow = new Bme280(stuck, power);
        Assert.Equal(Bme280Status.Ok, slow.Initialize());
        Assert.Equal(Bme280Status.Timeout, slow.Read(out _, out _, out _));

        var skipped = new SimulatedBme280Bus();
        skipped.SetRaw(0x80000, 0x80000, 0x8000);
        var idle = new Bme280(skipped, power);
        Assert.Equal(Bme280Status.Ok, idle.Initialize());
        Assert.Equal(Bme280Status.NoValue, idle.Read(out var t, out _, out _));
        Assert.True(double.IsNaN(t));

        Assert.Equal(Bme280Status.NotInitialized, new Bme280(new SimulatedBme280Bus(), power).Read(out _, out _, out _));
    }

    [Fact]
    public void Negative_H4_and_H5_take_their_sign_from_the_whole_byte()
    {
        var bus = new SimulatedBme280Bus();
        bus.Poke(0xE4, 0xF0); // H4 = -16 * 16 + (0xE5 & 0x0F)
        bus.Poke(0xE5, 0x3A);
        bus.Poke(0xE6, 0xFE); // H5 = -2 * 16 + (0xE5 >> 4)
        var bme = new Bme280(bus, new SimulatedPower(new SimulatedClock(0, true)));
        Assert.Equal(Bme280Status.Ok, bme.Initialize());
        Assert.Equal((-16 * 16) + 0xA, bme.Calibration.H4);
        Assert.Equal((-2 * 16) + 0x3, bme.Calibration.H5);
    }

    [Fact]
    public void Integer_results_track_the_floating_point_formulas_across_the_sensor_range()
    {
        var c = BoschCalibration();
        // adc_T from about -40 degC to +85 degC, any pressure and humidity reading.
        Gen.Select(Gen.Int[380_000, 640_000], Gen.Int[250_000, 600_000], Gen.Int[10_000, 50_000]).Sample((adcT, adcP, adcH) =>
        {
            var centi = Bme280Compensation.Temperature(adcT, c, out var tFine);
            var (tDouble, tFineDouble) = TemperatureDouble(adcT, c);
            Assert.True(Math.Abs(centi / 100.0 - tDouble) <= 0.011, $"T {centi} vs {tDouble}");
            // The integer shifts truncate; below 0 degC that moves t_fine by up to ~15 units (0.003 degC).
            Assert.True(Math.Abs(tFine - tFineDouble) <= 32, $"t_fine {tFine} vs {tFineDouble}");

            var pressure = Bme280Compensation.Pressure(adcP, tFine, c) / 256.0;
            var pressureDouble = PressureDouble(adcP, tFine, c);
            Assert.True(Math.Abs(pressure - pressureDouble) <= 1.0, $"P {pressure} vs {pressureDouble}");

            var humidity = Bme280Compensation.Humidity(adcH, tFine, c) / 1024.0;
            var humidityDouble = HumidityDouble(adcH, tFine, c);
            Assert.True(Math.Abs(humidity - humidityDouble) <= 0.05, $"H {humidity} vs {humidityDouble} at T {tDouble}");
        }, iter: 20_000);
    }

    [Fact]
    public void Compensation_never_throws_and_stays_in_range_for_any_raw_bytes()
    {
        var c = BoschCalibration();
        Gen.Byte.Array[8].Sample(burst =>
        {
            var status = Bme280.Compensate(burst, true, c, out var t, out var p, out var h);
            if (status != Bme280Status.Ok)
                return;
            Assert.True(double.IsFinite(t));
            Assert.True(double.IsNaN(p) || (p > 0 && double.IsFinite(p)));
            Assert.True(double.IsNaN(h) || h is >= 0 and <= 100);
        }, iter: 20_000);
    }

    // Data sheet appendix 8.1, as the oracle.
    private static (double Celsius, int TFine) TemperatureDouble(int adcT, Bme280Calibration c)
    {
        var v1 = (adcT / 16384.0 - c.T1 / 1024.0) * c.T2;
        var v2 = (adcT / 131072.0 - c.T1 / 8192.0) * (adcT / 131072.0 - c.T1 / 8192.0) * c.T3;
        return ((v1 + v2) / 5120.0, (int)(v1 + v2));
    }

    private static double PressureDouble(int adcP, int tFine, Bme280Calibration c)
    {
        var v1 = tFine / 2.0 - 64000.0;
        var v2 = v1 * v1 * c.P6 / 32768.0;
        v2 += v1 * c.P5 * 2.0;
        v2 = v2 / 4.0 + c.P4 * 65536.0;
        v1 = (c.P3 * v1 * v1 / 524288.0 + c.P2 * v1) / 524288.0;
        v1 = (1.0 + v1 / 32768.0) * c.P1;
        if (v1 == 0)
            return 0;
        var p = 1048576.0 - adcP;
        p = (p - v2 / 4096.0) * 6250.0 / v1;
        v1 = c.P9 * p * p / 2147483648.0;
        v2 = p * c.P8 / 32768.0;
        return p + (v1 + v2 + c.P7) / 16.0;
    }

    private static double HumidityDouble(int adcH, int tFine, Bme280Calibration c)
    {
        var h = tFine - 76800.0;
        h = (adcH - (c.H4 * 64.0 + c.H5 / 16384.0 * h)) * (c.H2 / 65536.0 * (1.0 + c.H6 / 67108864.0 * h * (1.0 + c.H3 / 67108864.0 * h)));
        h *= 1.0 - c.H1 * h / 524288.0;
        return Math.Clamp(h, 0, 100);
    }
}
