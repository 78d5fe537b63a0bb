namespace Grid.Edge.Hub.Readings;

/// <summary>Where stored readings came from: each consumer of <see cref="ReadingWriter.Stored"/> decides by it what it reacts to.</summary>
internal enum ReadingOrigin
{
    /// <summary>Measured by a device and received over MQTT.</summary>
    Device,

    /// <summary>
    /// Worked out by this hub from other readings or from what a person entered (derived weather, vehicle
    /// bookkeeping): never derived from again, so no derivation can feed itself.
    /// </summary>
    Derived,

    /// <summary>Written by another hub and merged here with its write stamp; that hub derived what it derives.</summary>
    Remote,
}
