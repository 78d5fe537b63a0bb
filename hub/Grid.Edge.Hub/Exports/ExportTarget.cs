using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Grid.Edge.Hub.Exports;

/// <summary>A server an export writes line protocol to.</summary>
internal interface IExportTarget : IDisposable
{
    /// <summary>Writes <paramref name="lines"/>; completes once the server accepted them.</summary>
    /// <exception cref="ExportTargetException">The server refused or could not be reached; the message says what to do.</exception>
    Task WriteAsync(string lines, CancellationToken cancellationToken);
}

/// <summary>A write the target did not take; the message says what happened and what to do, and holds no credentials.</summary>
internal sealed class ExportTargetException : Exception
{
    public ExportTargetException()
    {
    }

    public ExportTargetException(string message)
        : base(message)
    {
    }

    public ExportTargetException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>InfluxDB 1.x: <c>POST /write?db=&amp;rp=&amp;precision=ms</c>, the body gzip-compressed, credentials as HTTP basic auth (never in the URL).</summary>
internal sealed class Influx1Target : IExportTarget
{
    private readonly ExportSettings _settings;
    private readonly HttpClient _http;
    private readonly Uri _write;

    public Influx1Target(ExportSettings settings, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(settings.TimeoutSeconds),
        };
        var query = $"db={Uri.EscapeDataString(settings.Database!)}&precision=ms";
        if (settings.RetentionPolicy is { } rp)
            query += "&rp=" + Uri.EscapeDataString(rp);
        _write = new Uri(new Uri(settings.Url.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"), "write?" + query);
        if (settings.Username is { } user)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{settings.Password}")));
    }

    public async Task WriteAsync(string lines, CancellationToken cancellationToken)
    {
        using var content = Gzip.Content(lines);
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(_write, content, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(_settings, ex);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
                return;
            var body = await Gzip.ReadErrorAsync(response, cancellationToken);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                    new ExportTargetException($"{_settings.Target} refused the credentials ({(int)response.StatusCode} {body}): check Username and Password of export '{_settings.Name}', and that the user may write to the database."),
                HttpStatusCode.NotFound when body.Contains("database not found", StringComparison.OrdinalIgnoreCase) =>
                    new ExportTargetException($"{_settings.Target}: the database does not exist ({body}); create it (CREATE DATABASE \"{_settings.Database}\") or change Database of export '{_settings.Name}'."),
                HttpStatusCode.NotFound =>
                    new ExportTargetException($"{_settings.Target} has no /write (404 {body}): is Url the address of an InfluxDB 1.x server?"),
                _ when (int)response.StatusCode >= 500 =>
                    new ExportTargetException($"{_settings.Target} failed to write ({(int)response.StatusCode} {body}); the export tries again."),
                _ => new ExportTargetException($"{_settings.Target} refused the write ({(int)response.StatusCode} {body}); the export tries again, fix what the server says."),
            };
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The target could not be reached at all.</summary>
    internal static ExportTargetException Unreachable(ExportSettings settings, Exception ex) =>
        new($"{settings.Target} cannot be reached ({ex.GetBaseException().Message}); the export tries again, check that the server runs and Url of export '{settings.Name}'.", ex);
}

/// <summary>Line protocol bodies gzip-compressed, and servers' error bodies read briefly.</summary>
internal static class Gzip
{
    public static ByteArrayContent Content(string lines)
    {
        using var buffer = new MemoryStream();
        using (var zip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            var bytes = Encoding.UTF8.GetBytes(lines);
            zip.Write(bytes);
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    /// <summary>The first 300 characters of an error body, on one line.</summary>
    public static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length > 300 ? text[..300] + "..." : text;
    }
}
