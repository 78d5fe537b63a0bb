using System.Globalization;
using System.Device.Gpio;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using Grid.Edge.Devices.Bme280;
using Grid.Edge.Devices.Ds18b20;
using Grid.Edge.Devices.Gps;
using Grid.Edge.Devices.PulseCounting;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Simulation.Devices;
using Grid.Edge.Devices.WindVane;
using Microsoft.Extensions.Time.Testing;

namespace Grid.Edge.Devices.Tests;

public sealed class Bme280SensorTests
{
    [Fact]
    public void The_reference_burst_reads_as_the_Bosch_values()
    {
        using var sensor = new Bme280Sensor(new SimulatedBme280());
        var readings = sensor.Read().ToDictionary(r => r.Metric);
        Assert.True(sensor.HasHumidity);
        Assert.Equal(new SensorReading("temperature", 25.08, "degC"), readings["temperature"]);
        Assert.Equal(new SensorReading("pressure", 1006.53, "hPa"), readings["pressure"]);
        Assert.Equal(new SensorReading("humidity", 41.25, "%"), readings["humidity"]);
        Assert.Equal("BME280 on I2C bus 1 at 0x76", sensor.Description);
    }

    [Fact]
    public void The_simulated_sensor_reports_the_conditions_it_is_set_to()
    {
        var device = new SimulatedBme280();
        using var sensor = new Bme280Sensor(device);
        Gen.Select(Gen.Double[-30, 45], Gen.Double[900, 1080], Gen.Double[5, 99]).Sample((t, p, h) =>
        {
            device.SetConditions(t, p, h);
            var readings = sensor.Read().ToDictionary(r => r.Metric, r => r.Value);
            Assert.InRange(readings["temperature"] - t, -0.011, 0.011);
            Assert.InRange(readings["pressure"] - p, -0.02, 0.02);
            Assert.InRange(readings["humidity"] - h, -0.02, 0.02);
        }, iter: 200, threads: 1);
    }

    [Fact]
    public void An_absent_sensor_says_what_to_check()
    {
        using var sensor = new Bme280Sensor(new SimulatedBme280 { Absent = true });
        var error = Assert.Throws<SensorException>(() => sensor.Read());
        Assert.Contains("no answer on the bus", error.Message, StringComparison.Ordinal);
    }
}

public sealed class Ds18b20SensorTests
{
    private static void Probe(string root, string id, string content)
    {
        Directory.CreateDirectory(Path.Combine(root, id));
        File.WriteAllText(Path.Combine(root, id, "w1_slave"), content);
    }

    [Fact]
    public void Probes_are_found_and_read_from_sysfs()
    {
        using var dir = new TempDirectory();
        Probe(dir.Path, "28-0316a279d1ff", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
        Probe(dir.Path, "28-0000075f0e1c", "f8 fe 4b 46 7f ff 08 10 2c : crc=2c YES\nf8 fe 4b 46 7f ff 08 10 2c t=-16500\n");
        Directory.CreateDirectory(Path.Combine(dir.Path, "w1_bus_master1"));
        Assert.Equal(["28-0000075f0e1c", "28-0316a279d1ff"], Ds18b20Sensor.Discover(dir.Path));
        using var water = new Ds18b20Sensor("28-0316a279d1ff", "water_temp", dir.Path);
        Assert.Equal(new SensorReading("water_temp", 23.125, "degC"), Assert.Single(water.Read()));
        using var outside = new Ds18b20Sensor("28-0000075f0e1c", "temperature", dir.Path);
        Assert.Equal(-16.5, Assert.Single(outside.Read()).Value);
    }

    [Theory]
    [InlineData("72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n", "CRC check failed")]
    [InlineData("50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n", "power-on value")]
    [InlineData("ff ff ff ff ff ff ff ff ff : crc=c9 YES\nff ff ff ff ff ff ff ff ff t=-127000\n", "outside the sensor's range")]
    [InlineData("garbage", "unexpected w1_slave content")]
    public void Bad_readings_are_refused_with_the_reason(string content, string reason)
    {
        Assert.Contains(reason, Assert.Throws<SensorException>(() => Ds18b20Sensor.Parse(content)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_probe_names_the_overlay_and_pull_up()
    {
        using var dir = new TempDirectory();
        using var sensor = new Ds18b20Sensor("28-000000000000", devicesRoot: dir.Path);
        Assert.Contains("dtoverlay=w1-gpio", Assert.Throws<SensorException>(() => sensor.Read()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_content_is_read_only_when_the_CRC_passed_and_the_value_is_real_and_refused_with_a_reason_otherwise()
    {
        // w1_slave files as the kernel writes them, with the CRC verdict, the value and the lines varied, and noise.
        var file = Gen.Select(Gen.Bool, Gen.OneOf(Gen.Int[-130_000, 130_000], Gen.Const(85_000), Gen.Const(-127_000), Gen.Const(125_000)), Gen.Int[0, 3], Gen.String)
            .Select((crcPassed, milli, damage, noise) =>
            {
                var first = $"72 01 4b 46 7f ff 0e 10 57 : crc=57 {(crcPassed ? "YES" : "NO")}";
                var second = string.Create(CultureInfo.InvariantCulture, $"72 01 4b 46 7f ff 0e 10 57 t={milli}");
                var text = damage switch
                {
                    0 => $"{first}\n{second}\n",
                    1 => $"{first}\n72 01 4b t=x{noise}\n", // a damaged value
                    2 => $"{second}\n", // the CRC line missing
                    _ => noise,
                };
                return (Text: text, Noise: damage == 3, Readable: damage == 0 && crcPassed && milli != 85_000 && milli > -127_000 && milli <= 125_000, Milli: milli);
            });
        var read = 0;
        file.Sample(f =>
        {
            try
            {
                var value = Ds18b20Sensor.Parse(f.Text);
                Assert.True(f.Readable || (f.Noise && f.Text.Contains("crc=", StringComparison.Ordinal) && f.Text.Contains("YES", StringComparison.Ordinal) && f.Text.Contains("t=", StringComparison.Ordinal)), $"read {value} from '{f.Text}'");
                if (f.Readable)
                {
                    Assert.Equal(f.Milli / 1000.0, value);
                    read++;
                }
            }
            catch (SensorException e)
            {
                Assert.False(f.Readable, $"refused a good reading '{f.Text}': {e.Message}");
                Assert.StartsWith("DS18B20: ", e.Message, StringComparison.Ordinal);
            }
        }, iter: 5_000, threads: 1);
        Assert.True(read > 100, $"only {read} good readings were generated");
    }
}

public sealed class PulseSensorTests
{
    [Fact]
    public void Rain_tips_are_debounced_counted_and_reported_as_increment_and_total()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        var driver = new SimulatedGpioDriver();
        using var controller = new GpioController(driver);
        using (var gauge = new RainGaugeSensor(controller, 17, 0.2794, 100, time))
        {
            Assert.Equal(PinMode.InputPullUp, driver.ModeOf(17));
            for (var i = 0; i < 5; i++)
            {
                driver.Pulse(17);
                time.Advance(TimeSpan.FromMilliseconds(4));
                driver.Pulse(17); // bounce
                time.Advance(TimeSpan.FromSeconds(2));
            }

            var first = gauge.Read().ToDictionary(r => r.Metric, r => r.Value);
            Assert.Equal(1.397, first["rain"]);
            Assert.Equal(1.397, first["rain_total"]);
            Assert.Equal(5, gauge.Bounces);
            driver.Pulse(17);
            var second = gauge.Read().ToDictionary(r => r.Metric, r => r.Value);
            Assert.Equal(0.2794, second["rain"]);
            Assert.Equal(1.6764, second["rain_total"]);
        }

        Assert.False(driver.IsOpen(17));
    }

    [Fact]
    public void The_anemometer_gives_the_mean_and_the_highest_three_second_gust()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        var driver = new SimulatedGpioDriver();
        using var controller = new GpioController(driver);
        using var anemometer = new AnemometerSensor(controller, 27, 0.667, 5, time);
        // 10 seconds: 3 Hz, except 9 Hz in seconds 4-6 (a gust).
        for (var second = 0; second < 10; second++)
        {
            var hz = second is >= 4 and <= 6 ? 9 : 3;
            for (var p = 0; p < hz; p++)
            {
                driver.Pulse(27);
                time.Advance(TimeSpan.FromMilliseconds(1000.0 / hz));
            }
        }

        time.Advance(TimeSpan.FromMilliseconds(1));
        var readings = anemometer.Read().ToDictionary(r => r.Metric, r => r.Value);
        Assert.Equal(Math.Round(((7 * 3) + (3 * 9)) / 10.0 * 0.667, 2), readings["wind_speed"]);
        Assert.Equal(Math.Round(9 * 0.667, 2), readings["wind_gust"]);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(anemometer.Read()); // under 3 s since the last read: no gust can be computed yet
    }
}

public sealed class WindVaneTests
{
    [Fact]
    public void Each_ladder_position_reads_as_its_direction_through_the_MCP3008()
    {
        var spi = new SimulatedMcp3008();
        using var vane = new WindVaneSensor(new Mcp3008(spi), channel: 2, pullUpOhms: 10_000);
        foreach (var (degrees, ohms) in WindVaneSensor.Ladder)
        {
            spi.Channels[2] = (int)Math.Round(1023 * ohms / (ohms + 10_000));
            Assert.Equal(degrees, Assert.Single(vane.Read()).Value);
        }

        Assert.All(spi.Requests, r => Assert.Equal(new byte[] { 0x01, 0xA0, 0x00 }, r));
    }

    [Fact]
    public void A_mounting_offset_is_applied_and_a_reading_no_position_gives_is_refused()
    {
        var spi = new SimulatedMcp3008();
        using var vane = new WindVaneSensor(new Mcp3008(spi), 0, 10_000, offsetDegrees: 90);
        spi.Channels[0] = (int)Math.Round(1023 * 120_000.0 / 130_000); // 270 degrees
        Assert.Equal(0, Assert.Single(vane.Read()).Value);
        Assert.False(WindVaneSensor.TryDirection(1.0, 10_000, out _)); // open: the pull-up alone
        Assert.False(WindVaneSensor.TryDirection(0.0, 10_000, out _)); // shorted
        spi.Channels[0] = 1023;
        Assert.Contains("no vane position gives", Assert.Throws<SensorException>(() => vane.Read()).Message, StringComparison.Ordinal);
    }
}

public sealed class GpsdSensorTests
{
    [Fact]
    public async Task Positions_come_from_gpsd_TPV_reports_and_a_lost_fix_is_reported()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var sendNoFix = new TaskCompletionSource();
        var finished = new TaskCompletionSource();
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            await using var stream = client.GetStream();
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer);
            Assert.StartsWith("?WATCH={\"enable\":true,\"json\":true}", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
            var lines = """
                {"class":"VERSION","release":"3.22","proto_major":3,"proto_minor":14}
                {"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyACM0","driver":"u-blox"}]}
                {"class":"TPV","device":"/dev/ttyACM0","mode":3,"time":"2026-11-22T10:00:00.000Z","lat":48.858370,"lon":2.294481,"altMSL":35.2,"speed":0.1}
                not json at all
                """;
            await stream.WriteAsync(Encoding.ASCII.GetBytes(lines.Replace("\r", string.Empty, StringComparison.Ordinal) + "\n"));
            await sendNoFix.Task;
            await stream.WriteAsync("{\"class\":\"TPV\",\"mode\":1}\n"u8.ToArray());
            await finished.Task; // keep gpsd's connection open until the client has seen the fix go
        });

        using var gps = new GpsdSensor("127.0.0.1", port, TimeProvider.System);
        IReadOnlyList<SensorReading>? readings = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (readings is null && DateTime.UtcNow < deadline)
        {
            try
            {
                readings = gps.Read();
            }
            catch (SensorException)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal([new("latitude", 48.858370, "deg"), new("longitude", 2.294481, "deg"), new SensorReading("altitude", 35.2, "m")], readings);
        sendNoFix.SetResult();
        var lost = false;
        while (!lost && DateTime.UtcNow < deadline)
        {
            try
            {
                gps.Read();
                await Task.Delay(50);
            }
            catch (SensorException e)
            {
                lost = e.Message.Contains("no fix", StringComparison.Ordinal);
            }
        }

        Assert.True(lost);
        finished.SetResult();
        await server.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
    }
}
