using System.Net.Sockets;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Grid.Edge.Hub.Security.Login;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Grid.Edge.Hub.Hosting;

/// <summary>
/// The running hub's door for its own command line: the HTTP API on a Unix socket in an owner-only folder of the data
/// folder (<c>&lt;data-dir&gt;/run/control.sock</c>; the folder is made, or made again, mode 0700 before the socket
/// exists, so no other user can reach it even while it is being set up). Whoever can open the socket is the hub's own
/// user (or root), who could read its keys anyway, so a request over it acts as the admin without a password or
/// token; a request over TCP never does. Commands such as <c>grid create</c> use it to change the running hub.
/// </summary>
internal static class ControlSocket
{
    public const string FolderName = "run";
    public const string FileName = "control.sock";
    public const string Scheme = "grid-local";

    /// <summary>Linux keeps a socket path in 108 bytes, the terminating zero included.</summary>
    private const int MaxPathBytes = 107;

    private static readonly object ConnectionMark = new();

    public static string PathIn(string dataDir) => Path.Combine(Path.GetFullPath(dataDir), FolderName, FileName);

    /// <summary>Why no control socket can be made for this data folder, or null when it can.</summary>
    public static string? Unusable(string dataDir)
    {
        if (OperatingSystem.IsWindows())
            return "the control socket needs Linux";
        var path = PathIn(dataDir);
        return System.Text.Encoding.UTF8.GetByteCount(path) > MaxPathBytes
            ? $"the data folder's path is too long for a socket ({path} is over {MaxPathBytes} bytes); use a shorter --data-dir"
            : null;
    }

    /// <summary>
    /// Listens on the socket, after removing one left by a hub that is gone; a hub still answering there means two
    /// hubs share this data folder, which the start refuses.
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, string dataDir)
    {
        var path = PathIn(dataDir);
        var folder = Path.GetDirectoryName(path)!;
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            Directory.CreateDirectory(folder, OwnerOnly);
            File.SetUnixFileMode(folder, OwnerOnly); // a folder left open by hand is closed again
        }

        if (File.Exists(path))
        {
            if (Answers(path))
                throw new Configuration.HubConfigurationException($"Another hub is running with the data directory {Path.GetDirectoryName(folder)} (it answers on {path}); stop it first, or give this one another --data-dir.");
            File.Delete(path);
        }

        kestrel.ListenUnixSocket(path, listen => listen.Use(next => connection =>
        {
            connection.Items[ConnectionMark] = true;
            return next(connection);
        }));
    }

    /// <summary>Makes the socket itself owner-only too once it exists (its folder is the first fence).</summary>
    public static void Restrict(string dataDir)
    {
        var path = PathIn(dataDir);
        if (!OperatingSystem.IsWindows() && File.Exists(path))
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>The request came in over the control socket (the mark is set on the connection, never by a request).</summary>
    public static bool IsControl(HttpContext http) =>
        http.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionMark) == true;

    /// <summary>An HTTP client to the running hub's control socket.</summary>
    public static HttpClient Client(string dataDir)
    {
        var path = PathIn(dataDir);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(30) };
    }

    private static bool Answers(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>Signs in as the admin every request that came over the control socket, and nothing else.</summary>
internal sealed class ControlSocketHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!ControlSocket.IsControl(Context))
            return Task.FromResult(AuthenticateResult.NoResult());
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, WebAccess.AdminName)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }
}
