namespace Grid.Edge.Firmware.Core.Sensors;

/// <summary>
/// Bosch's integer compensation (data sheet 4.2.3): 32-bit temperature, 64-bit pressure, 32-bit humidity.
/// Integer math gives the same bits on the ESP32 (no double-precision FPU) and on the host.
/// </summary>
public static class Bme280Compensation
{
    /// <summary>Raw value the chip reports for a skipped or not yet converted temperature or pressure.</summary>
    public const int SkippedTemperatureOrPressure = 0x80000;

    /// <summary>Raw value the chip reports for a skipped humidity.</summary>
    public const int SkippedHumidity = 0x8000;

    /// <summary>Temperature in 0.01 degC; <paramref name="tFine"/> carries the temperature into pressure and humidity.</summary>
    public static int Temperature(int adcT, Bme280Calibration calibration, out int tFine)
    {
        var v1 = (((adcT >> 3) - (calibration.T1 << 1)) * calibration.T2) >> 11;
        var d = (adcT >> 4) - calibration.T1;
        var v2 = (((d * d) >> 12) * calibration.T3) >> 14;
        tFine = v1 + v2;
        return ((tFine * 5) + 128) >> 8;
    }

    /// <summary>Pressure in Pa as Q24.8 (divide by 256); 0 when the calibration would divide by zero.</summary>
    public static long Pressure(int adcP, int tFine, Bme280Calibration calibration)
    {
        long v1 = tFine - 128000L;
        var v2 = v1 * v1 * calibration.P6;
        v2 += (v1 * calibration.P5) << 17;
        v2 += calibration.P4 << 35;
        v1 = ((v1 * v1 * calibration.P3) >> 8) + ((v1 * calibration.P2) << 12);
        v1 = (((1L << 47) + v1) * calibration.P1) >> 33;
        if (v1 == 0)
            return 0;
        long p = 1048576 - adcP;
        p = (((p << 31) - v2) * 3125) / v1;
        v1 = (calibration.P9 * (p >> 13) * (p >> 13)) >> 25;
        v2 = (calibration.P8 * p) >> 19;
        return ((p + v1 + v2) >> 8) + (calibration.P7 << 4);
    }

    /// <summary>Relative humidity in %RH as Q22.10 (divide by 1024), clamped to 0..100 %.</summary>
    public static int Humidity(int adcH, int tFine, Bme280Calibration calibration)
    {
        var x = tFine - 76800;
        var a = ((adcH << 14) - (calibration.H4 << 20) - (calibration.H5 * x) + 16384) >> 15;
        var b = ((((((x * calibration.H6) >> 10) * (((x * calibration.H3) >> 11) + 32768)) >> 10) + 2097152) * calibration.H2 + 8192) >> 14;
        x = a * b;
        x -= ((((x >> 15) * (x >> 15)) >> 7) * calibration.H1) >> 4;
        if (x < 0)
            x = 0;
        if (x > 419430400)
            x = 419430400;
        return x >> 12;
    }
}
