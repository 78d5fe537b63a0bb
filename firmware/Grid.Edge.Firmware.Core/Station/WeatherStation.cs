using System;
using Grid.Edge.Firmware.Core.Buffering;
using Grid.Edge.Firmware.Core.Wire;
using Grid.Edge.Firmware.Core.Platform;
using Grid.Edge.Firmware.Core.Sensors;

namespace Grid.Edge.Firmware.Core.Station;

/// <summary>
/// One wake of a battery weather station: sample when due, keep every reading in the persistent ring, publish
/// batches when enough have gathered, then say how long to sleep. On the ESP32 each wake is a fresh start of the
/// program (deep sleep resets the CPU), so all state that matters lives in the ring's header. On a board that
/// stays powered the same instance runs again and again; a sample cycle then allocates nothing.
/// </summary>
public sealed class WeatherStation
{
    // Station state kept in the ring header (see ReadingRing.StationState).
    private const int AtRainTips = 0;
    private const int AtRainTipsAtLastSample = 4;
    private const int AtSamplesSincePublish = 8;
    private const int AtFailedPublishes = 10;
    private const int AtNextSampleAt = 12;
    private const int AtNextPublishAttemptAt = 20;
    private const int AtScheduled = 28;

    private readonly StationOptions _options;
    private readonly IClock _clock;
    private readonly IPower _power;
    private readonly INetwork _network;
    private readonly IMqttLink _mqtt;
    private readonly IPulseSource _anemometerPulses;
    private readonly IAnalogInput _supply;
    private readonly ReadingRing _ring;
    private readonly RingEntry _entry = new RingEntry();
    private readonly StationMetrics _metrics = new StationMetrics();
    private readonly BatchWriter _batch;
    private readonly Bme280 _bme280;
    private readonly RainGauge _rainGauge;
    private readonly WindMeter _windMeter;
    private readonly string _batchTopic;
    private bool _started;
    private bool _bmeReady;

    public WeatherStation(
        StationOptions options,
        IClock clock,
        IPower power,
        IPersistentMemory memory,
        INetwork network,
        IMqttLink mqtt,
        IRegisterBus bme280Bus,
        IPulseSource anemometerPulses,
        IAnalogInput supply)
    {
        var problem = options.Validate();
        if (problem.Length > 0)
            throw new ArgumentException(problem);
        _options = options;
        _clock = clock;
        _power = power;
        _network = network;
        _mqtt = mqtt;
        _anemometerPulses = anemometerPulses;
        _supply = supply;
        _ring = new ReadingRing(memory);
        _batch = new BatchWriter(options.BatchReadings * 160 + 64, _metrics.Table);
        _bme280 = new Bme280(bme280Bus, power);
        _rainGauge = new RainGauge(options.RainMillimetresPerTip, options.RainDebounceMilliseconds);
        _windMeter = new WindMeter(options.AnemometerMetresPerSecondPerHertz, options.WindWindowSeconds);
        _batchTopic = "grid/" + options.DeviceId + "/batch";
    }

    public ReadingRing Ring => _ring;

    public StationMetrics Metrics => _metrics;

    public string BatchTopic => _batchTopic;

    public PublishOutcome LastPublish { get; private set; }

    public Bme280Status LastBme280Status { get; private set; }

    /// <summary>True when the last <see cref="RunOnce"/> took a sample.</summary>
    public bool SampledLastRun { get; private set; }

    /// <summary>Readings the station has dropped since its memory was formatted (overwritten when full, damaged, or undatable).</summary>
    public long DroppedReadings => (long)_ring.Overwritten + _ring.Dropped;

    /// <summary>
    /// Opens the persistent ring (formatting it on first use) and starts a new epoch after a power cycle.
    /// False when the memory cannot be read or written: the station cannot keep readings and says so.
    /// </summary>
    public bool Start()
    {
        if (!_ring.Open())
            return false;
        if (_power.WasPowerCycled || _ring.WasFormatted)
        {
            // The clock restarted from zero: deadlines kept in the old clock's units mean nothing now.
            var state = _ring.StationState;
            state[AtScheduled] = 0;
            LittleEndian.WriteInt64(state, AtNextSampleAt, 0);
            LittleEndian.WriteInt64(state, AtNextPublishAttemptAt, 0);
            if (!_ring.BeginEpoch())
                return false;
        }
        _rainGauge.Restore((int)LittleEndian.ReadUInt32(_ring.StationState, AtRainTips));
        _started = true;
        return true;
    }

    /// <summary>A bucket tip: from the GPIO interrupt while awake, or the ext0 wake that started this run.</summary>
    public void OnRainTip() => _rainGauge.OnTip(_clock.NowMilliseconds);

    /// <summary>Samples and publishes as due, commits the state, and returns the milliseconds to sleep.</summary>
    public long RunOnce()
    {
        if (!_started && !Start())
        {
            LastPublish = PublishOutcome.MemoryFailure;
            return _options.SampleIntervalSeconds * 1000L;
        }

        var state = _ring.StationState;
        var now = _clock.NowMilliseconds;
        var scheduled = state[AtScheduled] != 0;
        var nextSampleAt = LittleEndian.ReadInt64(state, AtNextSampleAt);
        var interval = _options.SampleIntervalSeconds * 1000L;
        SampledLastRun = false;
        if (!scheduled || now >= nextSampleAt || nextSampleAt - now > interval)
        {
            Sample(now);
            SampledLastRun = true;
            // Keep a steady rhythm, but never try to catch up on missed samples after a long stall.
            nextSampleAt = scheduled && now >= nextSampleAt && now - nextSampleAt < interval ? nextSampleAt + interval : now + interval;
            LittleEndian.WriteInt64(state, AtNextSampleAt, nextSampleAt);
            state[AtScheduled] = 1;
        }

        LittleEndian.WriteUInt32(state, AtRainTips, (uint)_rainGauge.Tips);
        LastPublish = PublishOutcome.NotDue;
        if (PublishDue(now))
            LastPublish = Publish();
        _ring.Commit();

        var sleep = LittleEndian.ReadInt64(state, AtNextSampleAt) - _clock.NowMilliseconds;
        return sleep < 0 ? 0 : sleep;
    }

    private void Sample(long now)
    {
        var dated = _clock.IsSynchronized;
        var state = _ring.StationState;
        if (_options.HasBme280)
            SampleBme280(now, dated);

        if (_options.HasRainGauge)
        {
            var tips = (uint)_rainGauge.Tips;
            var previous = LittleEndian.ReadUInt32(state, AtRainTipsAtLastSample);
            // Unsigned difference stays right when the counter wraps.
            var newTips = tips - previous;
            _ring.Append(now, _rainGauge.Millimetres((int)newTips), _metrics.Rain, dated);
            _ring.Append(now, _rainGauge.Millimetres((int)tips), _metrics.RainTotal, dated);
            LittleEndian.WriteUInt32(state, AtRainTipsAtLastSample, tips);
        }

        if (_options.HasAnemometer)
        {
            _windMeter.Begin();
            _anemometerPulses.StartCounting();
            for (var second = 0; second < _options.WindWindowSeconds; second++)
            {
                _power.Pause(1000);
                _windMeter.AddSecond(_anemometerPulses.TakeCount());
            }

            _anemometerPulses.StopCounting();
            if (_windMeter.TryGetResult(out var mean, out var gust))
            {
                _ring.Append(now, mean, _metrics.WindSpeed, dated);
                _ring.Append(now, gust, _metrics.WindGust, dated);
            }
        }

        if (_options.HasSupplyMonitor && _supply.TryReadVolts(out var volts))
            _ring.Append(now, volts * _options.SupplyDividerRatio, _metrics.SupplyVoltage, dated);

        var samples = LittleEndian.ReadUInt16(state, AtSamplesSincePublish);
        if (samples < 0xFFFF)
            LittleEndian.WriteUInt16(state, AtSamplesSincePublish, samples + 1);
    }

    private void SampleBme280(long now, bool dated)
    {
        if (!_bmeReady)
        {
            LastBme280Status = _bme280.Initialize();
            _bmeReady = LastBme280Status == Bme280Status.Ok;
            if (!_bmeReady)
                return;
        }

        LastBme280Status = _bme280.Read(out var temperature, out var pressure, out var humidity);
        if (LastBme280Status != Bme280Status.Ok)
        {
            // A bus error may mean the sensor was reset (brown-out of its supply): identify it again next time.
            _bmeReady = LastBme280Status == Bme280Status.NoValue || LastBme280Status == Bme280Status.Timeout;
            return;
        }

        _ring.Append(now, temperature, _metrics.Temperature, dated);
        if (!double.IsNaN(pressure))
            _ring.Append(now, pressure, _metrics.Pressure, dated);
        if (!double.IsNaN(humidity))
            _ring.Append(now, humidity, _metrics.Humidity, dated);
    }

    private bool PublishDue(long now)
    {
        var state = _ring.StationState;
        if (_ring.Count == 0)
            return false;
        var nextAttempt = LittleEndian.ReadInt64(state, AtNextPublishAttemptAt);
        var backingOff = now < nextAttempt && nextAttempt - now <= _options.MaximumBackoffSeconds * 1000L;
        if (LittleEndian.ReadUInt16(state, AtFailedPublishes) > 0 && backingOff)
            return false;
        return LittleEndian.ReadUInt16(state, AtSamplesSincePublish) >= _options.PublishEverySamples
            || _ring.Count >= _ring.Capacity / 2;
    }

    private PublishOutcome Publish()
    {
        if (!_network.Connect(_options.NetworkTimeoutMilliseconds))
            return Failed(PublishOutcome.NetworkUnavailable);

        var outcome = PublishConnected();
        _network.Disconnect();
        if (outcome == PublishOutcome.Sent)
        {
            var state = _ring.StationState;
            LittleEndian.WriteUInt16(state, AtFailedPublishes, 0);
            LittleEndian.WriteUInt16(state, AtSamplesSincePublish, 0);
            return outcome;
        }

        return Failed(outcome);
    }

    private PublishOutcome PublishConnected()
    {
        SynchronizeClock();
        var dated = _clock.IsSynchronized;
        var signal = _network.SignalStrength;
        if (signal != 0)
            _ring.Append(_clock.NowMilliseconds, signal, _metrics.SignalStrength, dated);

        if (!_mqtt.Connect())
            return PublishOutcome.BrokerUnavailable;

        var budget = _options.MaximumBatchesPerWake;
        var outcome = SendBacklog(ref budget);
        if (outcome == PublishOutcome.Sent && budget > 0)
        {
            // Reported after the backlog, so it includes readings found undatable or damaged while sending it.
            _ring.Append(_clock.NowMilliseconds, DroppedReadings, _metrics.DroppedReadings, dated);
            outcome = SendBacklog(ref budget);
        }

        _mqtt.Disconnect();
        return outcome;
    }

    private PublishOutcome SendBacklog(ref int budget)
    {
        for (; budget > 0 && _ring.Count > 0; budget--)
        {
            var consumed = FillBatch(out var dropped, out var blocked);
            if (consumed == 0)
                return blocked ? PublishOutcome.WaitingForClock : PublishOutcome.Sent;

            if (_batch.Readings > 0 && !_mqtt.PublishAcknowledged(_batchTopic, _batch.Buffer, _batch.Length, false))
                return PublishOutcome.NotAcknowledged;

            // Acknowledged means stored durably by the hub: only now may the readings go.
            if (!_ring.Release(consumed, dropped))
                return PublishOutcome.MemoryFailure;
        }

        return PublishOutcome.Sent;
    }

    /// <summary>Fills the batch from the oldest readings; returns how many ring entries it covers.</summary>
    private int FillBatch(out int dropped, out bool blockedOnClock)
    {
        dropped = 0;
        blockedOnClock = false;
        _batch.Reset();
        var covered = 0;
        while (covered < _ring.Count && _batch.Readings < _options.BatchReadings && _batch.HasRoom)
        {
            if (!_ring.Read(covered, _entry))
                break;
            long time;
            if (!_entry.Intact || !_metrics.Table.Contains(_entry.Metric))
            {
                dropped++;
                covered++;
                continue;
            }

            if (_entry.Dated)
                time = _entry.Time;
            else if (_entry.Epoch != _ring.Epoch)
            {
                // Taken before a power cycle that came before the clock was ever set: its time is unknowable.
                dropped++;
                covered++;
                continue;
            }
            else if (_ring.CorrectionKnown)
                time = _entry.Time + _ring.Correction;
            else
            {
                blockedOnClock = covered == 0;
                break;
            }

            if (!_batch.Add(_entry.Metric, _entry.Value, time))
                dropped++;
            covered++;
        }

        _batch.Finish();
        return covered;
    }

    private void SynchronizeClock()
    {
        var wasSynchronized = _clock.IsSynchronized;
        if (!_clock.TrySynchronize(out var step))
            return;
        if (!_ring.CorrectionKnown)
            _ring.SetCorrection(wasSynchronized ? 0 : step);

        // Deadlines are in clock units; move them with the clock.
        var state = _ring.StationState;
        LittleEndian.WriteInt64(state, AtNextSampleAt, LittleEndian.ReadInt64(state, AtNextSampleAt) + step);
        LittleEndian.WriteInt64(state, AtNextPublishAttemptAt, LittleEndian.ReadInt64(state, AtNextPublishAttemptAt) + step);
    }

    private PublishOutcome Failed(PublishOutcome outcome)
    {
        var state = _ring.StationState;
        var failures = LittleEndian.ReadUInt16(state, AtFailedPublishes);
        if (failures < 0xFFFF)
            failures++;
        LittleEndian.WriteUInt16(state, AtFailedPublishes, failures);
        var backoff = _options.SampleIntervalSeconds * 1000L;
        for (var i = 1; i < failures && backoff < _options.MaximumBackoffSeconds * 1000L; i++)
            backoff *= 2;
        if (backoff > _options.MaximumBackoffSeconds * 1000L)
            backoff = _options.MaximumBackoffSeconds * 1000L;
        LittleEndian.WriteInt64(state, AtNextPublishAttemptAt, _clock.NowMilliseconds + backoff);
        return outcome;
    }
}
