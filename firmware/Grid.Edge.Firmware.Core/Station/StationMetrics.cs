using Grid.Edge.Firmware.Core.Wire;

namespace Grid.Edge.Firmware.Core.Station;

/// <summary>The hub's metric names (its catalogue fixes their units) and the decimals the station sends.</summary>
public sealed class StationMetrics
{
    public StationMetrics()
    {
        Table = new MetricTable();
        Temperature = Table.Add("temperature", 2);
        Humidity = Table.Add("humidity", 2);
        Pressure = Table.Add("pressure", 2);
        Rain = Table.Add("rain", 4);
        RainTotal = Table.Add("rain_total", 4);
        WindSpeed = Table.Add("wind_speed", 2);
        WindGust = Table.Add("wind_gust", 2);
        SupplyVoltage = Table.Add("supply_voltage", 3);
        SignalStrength = Table.Add("rssi", 0);
        DroppedReadings = Table.Add("dropped_readings", 0);
    }

    public MetricTable Table { get; }

    public int Temperature { get; }

    public int Humidity { get; }

    public int Pressure { get; }

    public int Rain { get; }

    public int RainTotal { get; }

    public int WindSpeed { get; }

    public int WindGust { get; }

    public int SupplyVoltage { get; }

    public int SignalStrength { get; }

    public int DroppedReadings { get; }
}
