using System.CommandLine;
using System.Text;
using Grid.Edge.Hub.Configuration;
using Grid.Edge.Hub.Hosting;
using Grid.Edge.Hub.Security;

var commandLine = new HubCommandLine(
    "Grid.Edge hub: an MQTT broker for your devices that validates and stores their readings durably and serves them over HTTP.\n" +
    "Every option can also be set in appsettings.json (section \"Hub\") or as a GRID_* environment variable; options win.");
var root = commandLine.Root;
root.SetAction((parse, _) => HubCommandLine.RunAsync(commandLine.Configuration(parse)));

var users = new Command("users", "Manage MQTT users (devices and programs that connect from other machines).");
var userName = new Argument<string>("name") { Description = "User name: 1-64 of A-Z a-z 0-9 _ . - (a device id works well)." };
var passwordStdin = new Option<bool>("--password-stdin") { Description = "Read the password from standard input instead of prompting." };
var service = new Option<bool>("--service") { Description = "A program (Node-RED, a bridge, a dashboard) rather than a device: may publish and subscribe anywhere. Devices may only publish under grid/<name>/." };
var add = new Command("add", "Add a user or change its password. Users are devices (restricted to grid/<name>/) unless --service.") { userName, passwordStdin, service };
add.SetAction(parse => EditUsers(parse, (file, name) =>
{
    var password = ReadPassword(parse.GetValue(passwordStdin));
    if (password.Length < 8)
        throw new HubConfigurationException("Use a password of at least 8 characters.");
    file[name] = UsersFile.Entry(PasswordHash.Create(password), parse.GetValue(service));
    return $"User '{name}' saved{(parse.GetValue(service) ? " as a service" : " as a device (may publish only under grid/" + name + "/)")}.";
}));
var remove = new Command("remove", "Remove a user; its clients are refused from their next connection.") { userName };
remove.SetAction(parse => EditUsers(parse, (file, name) =>
    file.Remove(name) ? $"User '{name}' removed." : throw new HubConfigurationException($"There is no user '{name}'.")));
var list = new Command("list", "List user names.");
list.SetAction(parse =>
{
    var path = LoadOptions(parse).ResolvedUsersFile;
    var names = File.Exists(path) ? UsersFile.Read(path).Keys.Order(StringComparer.Ordinal).ToList() : [];
    Console.WriteLine(names.Count == 0 ? $"No users in {path}." : string.Join(Environment.NewLine, names));
    return 0;
});
var hash = new Command("hash", "Print a password hash for the \"Hub:Users\" section of a config file.") { passwordStdin };
hash.SetAction(parse =>
{
    Console.WriteLine(PasswordHash.Create(ReadPassword(parse.GetValue(passwordStdin))));
    return 0;
});
users.Subcommands.Add(add);
users.Subcommands.Add(remove);
users.Subcommands.Add(list);
users.Subcommands.Add(hash);
root.Subcommands.Add(users);

var pair = new Command("pair", "Pair devices: one-time codes that a device (grid-agent pair, or the firmware's settings) exchanges for its own credentials.");
var pairDevice = new Option<string>("--device") { Description = "Bind the code to this device id (otherwise the device names itself when it pairs).", HelpName = "id" };
var pairMinutes = new Option<int?>("--minutes") { Description = "How long the code stays valid (default: --pairing-code-minutes, 15).", HelpName = "minutes" };
var pairCreate = new Command("create", "Create a one-time pairing code and print it.") { pairDevice, pairMinutes };
pairCreate.SetAction(parse =>
{
    var options = LoadOptions(parse);
    var device = parse.GetValue(pairDevice);
    if (device is not null && !UsersFile.IsValidUserName(device))
        throw new HubConfigurationException($"'{device}' is not a valid device id (1-64 of A-Z a-z 0-9 _ . -).");
    var minutes = parse.GetValue(pairMinutes) ?? options.PairingCodeMinutes;
    if (minutes is < 1 or > 10_080)
        throw new HubConfigurationException("--minutes must be between 1 and 10080.");
    var (code, entry) = new Grid.Edge.Hub.Security.Pairing.DevicePairing(options, TimeProvider.System).CreateCode(device, TimeSpan.FromMinutes(minutes));
    Console.WriteLine(code);
    Console.Error.WriteLine($"Valid until {entry.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}{(device is null ? string.Empty : " for device " + device)}. On the device: grid-agent pair http://<this hub>:{options.HttpPort} {code}{(device is null ? " --device <id>" : string.Empty)}");
    return 0;
});
var pairList = new Command("list", "List pairing codes not yet used or expired, and paired devices.");
pairList.SetAction(parse =>
{
    var options = LoadOptions(parse);
    var pending = new Grid.Edge.Hub.Security.Pairing.PairingCodes(options.PairingFile, TimeProvider.System).Pending();
    Console.WriteLine(pending.Count == 0 ? "No pending pairing codes." : string.Join(Environment.NewLine, pending.Select(c => $"code for {c.Device ?? "(any device)"} valid until {c.ExpiresAt.ToLocalTime():yyyy-MM-dd HH:mm}")));
    var path = options.ResolvedUsersFile;
    var devices = File.Exists(path) ? UsersFile.Read(path).Where(u => !UsersFile.Split(u.Value).Service).Select(u => u.Key).Order(StringComparer.Ordinal).ToList() : [];
    Console.WriteLine(devices.Count == 0 ? "No paired devices." : "Devices with credentials: " + string.Join(", ", devices));
    return 0;
});
var revokeDevice = new Argument<string>("device") { Description = "The device id whose credentials to remove." };
var pairRevoke = new Command("revoke", "Remove a device's credentials; a running hub closes its connections within seconds and refuses it from then on.") { revokeDevice };
pairRevoke.SetAction(parse =>
{
    var device = parse.GetValue(revokeDevice)!;
    if (!new Grid.Edge.Hub.Security.Pairing.DevicePairing(LoadOptions(parse), TimeProvider.System).Revoke(device))
        throw new HubConfigurationException($"Device '{device}' has no credentials or pending codes.");
    Console.WriteLine($"Device '{device}' revoked.");
    return 0;
});
pair.Subcommands.Add(pairCreate);
pair.Subcommands.Add(pairList);
pair.Subcommands.Add(pairRevoke);
root.Subcommands.Add(pair);

var admin = new Command("admin", "The dashboard and API admin: its password and the API tokens of scripts.");
var setPassword = new Command("set-password", "Set (or change) the admin password; sessions signed in before are closed.") { passwordStdin };
setPassword.SetAction(parse =>
{
    var path = AdminFile(parse);
    var password = ReadPassword(parse.GetValue(passwordStdin));
    if (password.Length < Grid.Edge.Hub.Security.Login.AdminAccount.MinPasswordLength)
        throw new HubConfigurationException($"Use a password of at least {Grid.Edge.Hub.Security.Login.AdminAccount.MinPasswordLength} characters.");
    Grid.Edge.Hub.Security.Login.AdminAccount.SetPassword(path, password);
    Console.WriteLine($"Admin password saved; sessions signed in before are closed. ({path})");
    return 0;
});
var tokenName = new Argument<string>("name") { Description = "What the token is for, e.g. backup-script: 1-64 of A-Z a-z 0-9 _ . -." };
var token = new Command("token", "API tokens for scripts: send 'Authorization: Bearer <token>'. They act as the admin.");
var tokenCreate = new Command("create", "Create a token (replacing one of the same name) and print it; it is shown only this once.") { tokenName };
tokenCreate.SetAction(parse =>
{
    var name = parse.GetValue(tokenName)!;
    if (!UsersFile.IsValidUserName(name))
        throw new HubConfigurationException($"'{name}' is not a valid token name (1-64 of A-Z a-z 0-9 _ . -).");
    var options = LoadOptions(parse);
    Console.WriteLine(Grid.Edge.Hub.Security.Login.AdminAccount.CreateToken(Grid.Edge.Hub.Security.Login.AdminAccount.PathIn(options.DataDir), name));
    Console.Error.WriteLine($"Use it as: curl -H 'Authorization: Bearer <token>' http://<this hub>:{options.HttpPort}/api/series");
    return 0;
});
var tokenList = new Command("list", "List token names and when they were made.");
tokenList.SetAction(parse =>
{
    var tokens = Grid.Edge.Hub.Security.Login.AdminAccount.Read(AdminFile(parse)).Tokens;
    Console.WriteLine(tokens.Count == 0 ? "No API tokens." : string.Join(Environment.NewLine, tokens.Select(t => $"{t.Name} (made {t.CreatedAt.ToLocalTime():yyyy-MM-dd HH:mm})")));
    return 0;
});
var tokenRevoke = new Command("revoke", "Remove a token; a running hub refuses it from the next request.") { tokenName };
tokenRevoke.SetAction(parse =>
{
    var name = parse.GetValue(tokenName)!;
    if (!Grid.Edge.Hub.Security.Login.AdminAccount.RevokeToken(AdminFile(parse), name))
        throw new HubConfigurationException($"There is no API token '{name}'.");
    Console.WriteLine($"API token '{name}' revoked.");
    return 0;
});
token.Subcommands.Add(tokenCreate);
token.Subcommands.Add(tokenList);
token.Subcommands.Add(tokenRevoke);
admin.Subcommands.Add(setPassword);
admin.Subcommands.Add(token);
root.Subcommands.Add(admin);

var identity = new Command("identity", "Print this hub's id and public key (the key pair is made on first start and kept in the data folder, owner-only).");
identity.SetAction(parse =>
{
    var options = LoadOptions(parse);
    HubConfiguration.PrepareDataDirectory(options.DataDir);
    Grid.Edge.Hub.Replication.Identity.HubIdentity hub;
    try
    {
        hub = Grid.Edge.Hub.Replication.Identity.HubIdentity.LoadOrCreate(options.DataDir);
    }
    catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
    {
        throw new HubConfigurationException($"The hub's identity could not be loaded: {ex.Message}");
    }

    using (hub)
    {
        Console.WriteLine($"hub id:     {hub.HubId}");
        Console.WriteLine($"public key: {hub.PublicKey}");
        Console.WriteLine($"key file:   {hub.KeyFile} (keep it private; a new key is a new hub for the grid)");
    }

    return 0;
});
root.Subcommands.Add(identity);
root.Subcommands.Add(Grid.Edge.Hub.GridNode.GridCommands.Create(commandLine));
root.Subcommands.Add(Grid.Edge.Hub.Exports.ExportCommands.Create(commandLine));

return await commandLine.InvokeAsync(args);

HubOptions LoadOptions(ParseResult parse) => commandLine.Options(parse);

string AdminFile(ParseResult parse) => Grid.Edge.Hub.Security.Login.AdminAccount.PathIn(LoadOptions(parse).DataDir);

int EditUsers(ParseResult parse, Func<Dictionary<string, string>, string, string> edit)
{
    var name = parse.GetValue(userName)!;
    if (!UsersFile.IsValidUserName(name))
        throw new HubConfigurationException($"'{name}' is not a valid user name (1-64 of A-Z a-z 0-9 _ . -).");
    var path = LoadOptions(parse).ResolvedUsersFile;
    var file = File.Exists(path) ? UsersFile.Read(path) : new Dictionary<string, string>(StringComparer.Ordinal);
    var message = edit(file, name);
    UsersFile.Write(path, file);
    Console.WriteLine($"{message} ({path})");
    return 0;
}

static string ReadPassword(bool fromStdin)
{
    if (fromStdin || Console.IsInputRedirected)
        return Console.In.ReadLine()?.TrimEnd('\r', '\n') ?? throw new HubConfigurationException("No password on standard input.");
    Console.Write("Password: ");
    var password = new StringBuilder();
    while (true)
    {
        var key = Console.ReadKey(intercept: true);
        if (key.Key == ConsoleKey.Enter)
            break;
        if (key.Key == ConsoleKey.Backspace && password.Length > 0)
            password.Length--;
        else if (!char.IsControl(key.KeyChar))
            password.Append(key.KeyChar);
    }

    Console.WriteLine();
    return password.ToString();
}
