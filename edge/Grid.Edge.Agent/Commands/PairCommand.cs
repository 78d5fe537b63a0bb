using System.Net.Http.Json;
using System.Text.Json;
using Grid.Edge.Agent.Configuration;

namespace Grid.Edge.Agent.Commands;

/// <summary>
/// "grid-agent pair &lt;hub&gt; &lt;code&gt;": exchanges a one-time pairing code from the hub for this device's own
/// MQTT credentials and saves them (mode 0600) in the data directory, where the agent finds them.
/// Exit codes: 0 paired, 5 the hub refused the code, 6 the hub cannot be reached.
/// </summary>
internal static class PairCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(string hub, string code, string device, string dataDir, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        if (!AgentOptions.IsValidSegment(device))
        {
            errors.WriteLine($"error: device id '{device}' must be 1-64 of A-Z a-z 0-9 _ . - (give --device or set Agent:DeviceId)");
            return 2;
        }

        if (!Uri.TryCreate(hub.Contains("://", StringComparison.Ordinal) ? hub : "http://" + hub, UriKind.Absolute, out var baseUri))
        {
            errors.WriteLine($"error: '{hub}' is not a hub address; write http://<hub>:8080");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(20) };
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync("/api/pairing/redeem", new { code, device }, Json, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            errors.WriteLine($"error: the hub at {baseUri} cannot be reached ({e.Message}); check the address and that the hub's HTTP port is open");
            return 6;
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var problem = await ReadErrorAsync(response, cancellationToken);
                errors.WriteLine($"error: the hub refused to pair: {problem}");
                return 5;
            }

            var redeemed = await response.Content.ReadFromJsonAsync<Redeemed>(Json, cancellationToken)
                ?? throw new InvalidOperationException("the hub answered without credentials");
            var credentials = new PairedCredentials(redeemed.Device, redeemed.User, redeemed.Password, baseUri.Host, redeemed.MqttPort);
            credentials.Save(dataDir);
            output.WriteLine($"Paired as '{redeemed.Device}'. Credentials saved to {Path.Combine(dataDir, PairedCredentials.FileName)}; the agent connects to {baseUri.Host}:{redeemed.MqttPort} with them.");
            return 0;
        }
    }

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorBody>(Json, cancellationToken);
            return error?.Error ?? response.ReasonPhrase ?? response.StatusCode.ToString();
        }
        catch (JsonException)
        {
            return $"{(int)response.StatusCode} {response.ReasonPhrase}";
        }
    }

    private sealed record Redeemed(string Device, string User, string Password, int MqttPort);

    private sealed record ErrorBody(string Error);
}
