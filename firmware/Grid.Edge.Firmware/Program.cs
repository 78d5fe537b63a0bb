using System;
using System.Device.Gpio;
using System.Diagnostics;
using System.IO;
using System.Text;
using Grid.Edge.Firmware.Core.Platform;
using Grid.Edge.Firmware.Core.Station;
using Grid.Edge.Firmware.Device;
using nanoFramework.Hardware.Esp32;

namespace Grid.Edge.Firmware;

/// <summary>
/// One wake of the station: read the settings, run the portable core once, deep sleep. Deep sleep resets the
/// CPU, so this runs from the top at every wake; everything that must last is in the flash ring.
/// </summary>
public static class Program
{
    private const string SettingsPath = "I:\\grid-station.ini";
    private const string RingPath = "I:\\grid-readings.bin";

    // 8192 readings: a week of 5-minute samples from every sensor, in 196 KB of flash.
    private const int RingBytes = (2 * 96) + (8192 * 24);

    public static void Main()
    {
        var options = new StationOptions();
        var board = new BoardSettings();
        var problem = LoadSettings(options, board);
        if (problem.Length > 0)
        {
            // Nothing sensible to do without settings: say why on the console and look again in a minute.
            Debug.WriteLine("grid-station: " + problem);
            Sleep.EnableWakeupByTimer(TimeSpan.FromTicks(60 * TimeSpan.TicksPerSecond));
            Sleep.StartDeepSleep();
            return;
        }

        Configuration.SetPinFunction(board.I2cDataPin, DeviceFunction.I2C1_DATA);
        Configuration.SetPinFunction(board.I2cClockPin, DeviceFunction.I2C1_CLOCK);
        var gpio = new GpioController();
        var power = new Esp32Power(gpio, board.RainPin);
        IRegisterBus bme = options.HasBme280 ? new I2cRegisterBus(board.I2cBus, board.Bme280Address) : (IRegisterBus)AbsentHardware.Instance;
        IPulseSource anemometer = options.HasAnemometer ? new PcntPulseSource(board.AnemometerPin) : (IPulseSource)AbsentHardware.Instance;
        IAnalogInput supply = options.HasSupplyMonitor ? new AdcSupplyInput(board.SupplyPin) : (IAnalogInput)AbsentHardware.Instance;
        var station = new WeatherStation(
            options,
            new Esp32Clock(board.SntpServer),
            power,
            new FlashMemory(RingPath, RingBytes),
            new WifiNetwork(board.WifiSsid, board.WifiPassword),
            new M2MqttLink(board.HubHost, board.HubPort, ClientId(board.MqttUser, options.DeviceId), board.MqttUser, board.MqttPassword),
            bme,
            anemometer,
            supply);

        if (!station.Start())
            Debug.WriteLine("grid-station: the flash ring cannot be opened; readings cannot be kept");
        if (power.WokeByRainGauge)
            station.OnRainTip();
        if (options.HasRainGauge)
        {
            // Tips while awake (the wind window is 10 s) arrive as falling edges; the core debounces them.
            power.RainPin.ValueChanged += (sender, e) =>
            {
                if (e.ChangeType == PinEventTypes.Falling)
                    station.OnRainTip();
            };
        }

        var sleep = station.RunOnce();
        Debug.WriteLine("grid-station: buffered " + station.Ring.Count + ", dropped " + station.DroppedReadings
            + ", publish " + station.LastPublish.ToString() + ", BME280 " + station.LastBme280Status.ToString()
            + ", sleeping " + (sleep / 1000) + " s");
        power.DeepSleep(sleep);
    }

    /// <summary>The hub takes a user's client ids as its user name or "user:anything"; a paired station's user is its id.</summary>
    private static string ClientId(string user, string deviceId) =>
        user == null || user.Length == 0 || user == deviceId ? deviceId : user + ":" + deviceId;

    private static string LoadSettings(StationOptions options, BoardSettings board)
    {
        if (!File.Exists(SettingsPath))
            return SettingsPath + " is missing: deploy grid-station.ini (see firmware/README.md)";
        var bytes = File.ReadAllBytes(SettingsPath);
        return SettingsFile.Load(Encoding.UTF8.GetString(bytes, 0, bytes.Length), options, board);
    }
}
