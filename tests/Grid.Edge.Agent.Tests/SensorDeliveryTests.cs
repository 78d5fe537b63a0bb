using System.Device.Gpio;
using System.Net.Http.Json;
using Grid.Edge.Agent.Sensors;
using Grid.Edge.Devices.Bme280;
using Grid.Edge.Devices.PulseCounting;
using Grid.Edge.Devices.Sensors;
using Grid.Edge.Simulation.Devices;
using Grid.Edge.Devices.WindVane;
using Grid.Edge.Hub.Api;
using Grid.Edge.Hub.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Grid.Edge.Agent.Tests;

/// <summary>The agent's sensor loop with the real bindings on simulated buses, delivering to a real hub.</summary>
public sealed class SensorDeliveryTests
{
    private sealed class SimulatedParts(SimulatedBme280 bme, SimulatedGpioDriver gpio, SimulatedMcp3008 adc) : ISensorFactory
    {
        private readonly GpioController _controller = new(gpio);

        public ISensor Create(SensorOptions options) => options.Type switch
        {
            "bme280" => new Bme280Sensor(bme),
            "rain" => new RainGaugeSensor(_controller, options.Pin, options.MillimetresPerTip, 100, TimeProvider.System),
            "windvane" => new WindVaneSensor(new Mcp3008(adc), options.Channel),
            "ds18b20" => throw new SensorException("no DS18B20 on the 1-Wire bus"),
            _ => throw new SensorException("not simulated: " + options.Type),
        };
    }

    [Fact]
    public async Task Configured_sensors_are_read_at_their_interval_and_a_failing_one_is_reported()
    {
        await using var hub = await InProcessHub.StartAsync();
        using var data = new TempDirectory();
        var bme = new SimulatedBme280();
        bme.SetConditions(12.5, 1001.3, 64);
        var gpio = new SimulatedGpioDriver();
        var adc = new SimulatedMcp3008();
        adc.PointVane(0, 225);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agent:DeviceId"] = "garden",
            ["Agent:HubHost"] = "127.0.0.1",
            ["Agent:HubMqttPort"] = hub.Mqtt.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Agent:DataDir"] = data.Path,
            ["Agent:StatusIntervalSeconds"] = "1",
            ["Agent:Sensors:0:Type"] = "bme280",
            ["Agent:Sensors:0:IntervalSeconds"] = "0.2",
            ["Agent:Sensors:1:Type"] = "rain",
            ["Agent:Sensors:1:Pin"] = "17",
            ["Agent:Sensors:1:IntervalSeconds"] = "0.2",
            ["Agent:Sensors:2:Type"] = "windvane",
            ["Agent:Sensors:2:Channel"] = "0",
            ["Agent:Sensors:2:IntervalSeconds"] = "0.2",
            ["Agent:Sensors:3:Type"] = "ds18b20",
            ["Agent:Sensors:3:IntervalSeconds"] = "0.2",
        }).Build();
        using var agent = AgentHost.Build(
            configuration,
            l => l.ClearProviders(),
            services => services.Replace(ServiceDescriptor.Singleton<ISensorFactory>(new SimulatedParts(bme, gpio, adc))));
        await agent.StartAsync();

        async Task<double?> LatestAsync(string metric)
        {
            using var response = await hub.Http.GetAsync($"/api/series/garden/{metric}/points?from=-1h&to=now");
            if (!response.IsSuccessStatusCode)
                return null;
            var points = (await response.Content.ReadFromJsonAsync<PointsResponse>(Json.Options))!.Points;
            return points.Count == 0 ? null : points[^1][1];
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && (await LatestAsync("rain_total") is null || await LatestAsync("wind_direction") is null))
            await Task.Delay(100);
        gpio.Pulse(17); // the gauge is open now: a bucket tips
        while (DateTime.UtcNow < deadline && await LatestAsync("rain_total") is not 0.2794)
            await Task.Delay(100);

        Assert.Equal(12.5, await LatestAsync("temperature"));
        Assert.Equal(1001.3, await LatestAsync("pressure"));
        Assert.Equal(64, (await LatestAsync("humidity"))!.Value, 1); // 16-bit humidity steps are 0.01 %RH apart
        Assert.Equal(0.2794, await LatestAsync("rain_total"));
        Assert.Equal(225, await LatestAsync("wind_direction"));

        // The probe that is not there shows up in the agent's report on the hub.
        DeviceResponse? garden = null;
        while (DateTime.UtcNow < deadline && garden?.Agent?.LastError is null)
        {
            garden = (await hub.GetAsync<List<DeviceResponse>>("/api/devices"))!.FirstOrDefault(d => d.Device == "garden");
            await Task.Delay(100);
        }

        Assert.Equal("no DS18B20 on the 1-Wire bus", garden?.Agent?.LastError);
        await agent.StopAsync();
    }
}
