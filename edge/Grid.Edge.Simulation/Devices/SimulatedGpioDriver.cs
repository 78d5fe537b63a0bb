using System.Device.Gpio;

namespace Grid.Edge.Simulation.Devices;

/// <summary>
/// A GPIO driver whose pins a test or the hub's demo drives: <see cref="Pulse"/> is a reed switch closing and
/// opening (falling then rising edge), delivered to the callbacks the bindings registered.
/// </summary>
public sealed class SimulatedGpioDriver : GpioDriver
{
    private readonly Lock _sync = new();
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _values = [];
    private readonly Dictionary<int, List<(PinEventTypes Types, PinChangeEventHandler Callback)>> _callbacks = [];

    protected override int PinCount => 28;

    public PinMode ModeOf(int pin)
    {
        lock (_sync)
            return _modes[pin];
    }

    public bool IsOpen(int pin)
    {
        lock (_sync)
            return _modes.ContainsKey(pin);
    }

    /// <summary>The switch closes (falling edge) and opens again (rising edge).</summary>
    public void Pulse(int pin)
    {
        Set(pin, PinValue.Low, PinEventTypes.Falling);
        Set(pin, PinValue.High, PinEventTypes.Rising);
    }

    protected override void OpenPin(int pinNumber)
    {
        lock (_sync)
        {
            _modes[pinNumber] = PinMode.Input;
            _values[pinNumber] = PinValue.High;
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_sync)
        {
            _modes.Remove(pinNumber);
            _callbacks.Remove(pinNumber);
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_sync)
            _modes[pinNumber] = mode;
    }

    protected override PinMode GetPinMode(int pinNumber) => ModeOf(pinNumber);

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber)
    {
        lock (_sync)
            return _values[pinNumber];
    }

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_sync)
            _values[pinNumber] = value;
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_sync)
        {
            if (!_callbacks.TryGetValue(pinNumber, out var list))
                _callbacks[pinNumber] = list = [];
            list.Add((eventTypes, callback));
        }
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_sync)
            _callbacks.GetValueOrDefault(pinNumber)?.RemoveAll(c => c.Callback == callback);
    }

    private void Set(int pin, PinValue value, PinEventTypes edge)
    {
        List<(PinEventTypes Types, PinChangeEventHandler Callback)> callbacks;
        lock (_sync)
        {
            _values[pin] = value;
            callbacks = [.. _callbacks.GetValueOrDefault(pin) ?? []];
        }

        foreach (var (types, callback) in callbacks)
        {
            if ((types & edge) != 0)
                callback(this, new PinValueChangedEventArgs(edge, pin));
        }
    }
}
