using System.Device.Gpio;

namespace Grid.Edge.Devices.PulseCounting;

/// <summary>
/// A reed switch between a GPIO and ground: the internal pull-up holds the pin high, each closure pulls it low.
/// Calls back on every falling edge with the time it was seen; debouncing is the caller's (it knows the physics).
/// </summary>
internal sealed class GpioPulseInput : IDisposable
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly bool _ownsController;
    private readonly PinChangeEventHandler _handler;

    public GpioPulseInput(GpioController controller, int pin, Action<long> onPulse, TimeProvider time, bool ownsController = false)
    {
        _controller = controller;
        _pin = pin;
        _ownsController = ownsController;
        _handler = (_, _) => onPulse(time.GetUtcNow().ToUnixTimeMilliseconds());
        _controller.OpenPin(pin, PinMode.InputPullUp);
        _controller.RegisterCallbackForPinValueChangedEvent(pin, PinEventTypes.Falling, _handler);
    }

    public int Pin => _pin;

    public void Dispose()
    {
        _controller.UnregisterCallbackForPinValueChangedEvent(_pin, _handler);
        _controller.ClosePin(_pin);
        if (_ownsController)
            _controller.Dispose();
    }
}
