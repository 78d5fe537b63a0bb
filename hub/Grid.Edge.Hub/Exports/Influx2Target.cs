using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Core.Exceptions;

namespace Grid.Edge.Hub.Exports;

/// <summary>
/// The InfluxDB 2.x write API (<c>POST /api/v2/write?org=&amp;bucket=&amp;precision=ms</c>, gzip-compressed, the
/// token in the Authorization header) through InfluxDB.Client; VictoriaMetrics and InfluxDB 3 answer it too.
/// </summary>
internal sealed class Influx2Target : IExportTarget
{
    private readonly ExportSettings _settings;
    private readonly InfluxDBClient _client;

    public Influx2Target(ExportSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        var options = InfluxDBClientOptions.Builder.CreateNew()
            .Url(settings.Url.GetLeftPart(UriPartial.Path).TrimEnd('/'))
            .Org(settings.Org)
            .Bucket(settings.Bucket)
            .TimeOut(TimeSpan.FromSeconds(settings.TimeoutSeconds));
        if (!string.IsNullOrEmpty(settings.Token))
            options.AuthenticateToken(settings.Token);
        _client = new InfluxDBClient(options.Build());
        _client.EnableGzip();
    }

    public async Task WriteAsync(string lines, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetWriteApiAsync().WriteRecordsAsync([lines.TrimEnd('\n')], WritePrecision.Ms, _settings.Bucket, _settings.Org, cancellationToken);
        }
        catch (InfluxException ex) when (ex.Status is 401 or 403)
        {
            throw new ExportTargetException($"{_settings.Target} refused the token ({ex.Status} {ex.Message}): check Token of export '{_settings.Name}', and that it may write to the bucket.", ex);
        }
        catch (InfluxException ex) when (ex.Status == 404)
        {
            throw new ExportTargetException($"{_settings.Target}: {ex.Message} (404); create the bucket, or check Org, Bucket and Url of export '{_settings.Name}'.", ex);
        }
        catch (InfluxException ex) when (ex.Status > 0)
        {
            throw new ExportTargetException($"{_settings.Target} refused the write ({ex.Status} {ex.Message}); the export tries again.", ex);
        }
        catch (Exception ex) when (ex is InfluxException or HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Influx1Target.Unreachable(_settings, ex);
        }
    }

    public void Dispose() => _client.Dispose();
}
