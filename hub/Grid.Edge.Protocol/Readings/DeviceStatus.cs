namespace Grid.Edge.Protocol.Readings;

/// <summary>What a device says about itself on its retained <c>grid/&lt;device&gt;/status</c> topic.</summary>
public enum DeviceStatus
{
    Online,
    Offline,
}
