namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>Why a BME280 operation did or did not give a value.</summary>
public enum Bme280Status
{
    Ok = 0,

    /// <summary>The bus transfer failed: nothing at the address, or wiring.</summary>
    BusError,

    /// <summary>Something answered with a chip id that is not a BMP280 or BME280.</summary>
    UnknownChip,

    /// <summary>The calibration block is blank or implausible.</summary>
    BadCalibration,

    /// <summary>The conversion did not finish in time.</summary>
    Timeout,

    /// <summary>The chip reported the "skipped" pattern: no fresh value.</summary>
    NoValue,

    /// <summary><see cref="Bme280.Initialize"/> has not succeeded yet.</summary>
    NotInitialized,
}
