namespace Grid.Edge.Obd.Elm327;

/// <summary>What initialisation found out about the adapter and the vehicle's protocol.</summary>
public sealed record ElmAdapterInfo(string Version, string ProtocolNumber, string ProtocolName, bool HeadersOn, double? BatteryVoltage);
