using System;
using System.Threading;
using Grid.Edge.Firmware.Core.Platform;
using nanoFramework.M2Mqtt;
using nanoFramework.M2Mqtt.Messages;

namespace Grid.Edge.Firmware.Device;

/// <summary>M2Mqtt session with the hub: MQTT 3.1.1, QoS 1, waits for the PUBACK of each batch.</summary>
internal sealed class M2MqttLink : IMqttLink
{
    private const int AcknowledgementTimeoutMilliseconds = 10000;

    private readonly string _host;
    private readonly int _port;
    private readonly string _clientId;
    private readonly string _user;
    private readonly string _password;
    private readonly AutoResetEvent _published = new AutoResetEvent(false);
    private MqttClient _client;
    private ushort _awaitedMessageId;
    private bool _awaitedSucceeded;

    public M2MqttLink(string host, int port, string clientId, string user, string password)
    {
        _host = host;
        _port = port;
        _clientId = clientId;
        _user = user;
        _password = password;
    }

    public bool Connect()
    {
        try
        {
            _client = new MqttClient(_host, _port, false, null, null, MqttSslProtocols.None);
            _client.ProtocolVersion = MqttProtocolVersion.Version_3_1_1;
            _client.MqttMsgPublished += OnPublished;
            var user = _user.Length == 0 ? null : _user;
            var password = _password.Length == 0 ? null : _password;
            return _client.Connect(_clientId, user, password) == MqttReasonCode.Success;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public bool PublishAcknowledged(string topic, byte[] payload, int length, bool retain)
    {
        // M2Mqtt sends the whole array, so the batch is copied to an array of its exact length.
        var message = new byte[length];
        Array.Copy(payload, message, length);
        _published.Reset();
        _awaitedSucceeded = false;
        try
        {
            _awaitedMessageId = _client.Publish(topic, message, null, null, MqttQoSLevel.AtLeastOnce, retain);
        }
        catch (Exception)
        {
            return false;
        }

        return _published.WaitOne(AcknowledgementTimeoutMilliseconds, false) && _awaitedSucceeded;
    }

    public void Disconnect()
    {
        if (_client == null)
            return;
        try
        {
            if (_client.IsConnected)
                _client.Disconnect();
        }
        catch (Exception)
        {
            // Going to sleep anyway; the broker drops the session on keep-alive timeout.
        }

        _client.MqttMsgPublished -= OnPublished;
        _client = null;
    }

    private void OnPublished(object sender, MqttMsgPublishedEventArgs e)
    {
        if (e.MessageId != _awaitedMessageId)
            return;
        _awaitedSucceeded = e.IsPublished;
        _published.Set();
    }
}
