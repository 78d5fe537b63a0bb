using System.Text;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;
using Grid.Edge.Protocol.Files;

namespace Grid.Edge.Hub.Replication.Membership;

/// <summary>Why a grid operation was refused; the host maps it to its status codes and exit codes.</summary>
public enum GridRefusal
{
    /// <summary>The request itself is malformed (a grid name too long, a hub id that is not one).</summary>
    Invalid,

    /// <summary>This hub already belongs to a grid; a hub is in one grid at a time.</summary>
    AlreadyInGrid,

    /// <summary>This hub belongs to no grid yet.</summary>
    NoGrid,

    /// <summary>This hub was removed from its grid and may no longer change it.</summary>
    NotAMember,

    /// <summary>The hub named is not a member.</summary>
    UnknownMember,
}

/// <summary>A grid operation that was refused, with a message that says what to do.</summary>
public sealed class GridMembershipException(GridRefusal refusal, string message) : Exception(message)
{
    public GridRefusal Refusal { get; } = refusal;
}

/// <param name="HubId">The member's hub id.</param>
/// <param name="PublicKey">Its Ed25519 public key, base64.</param>
/// <param name="CurveKey">The CURVE public key peers connect to it with, base64.</param>
/// <param name="KeyEpoch">Raised when the member's key is replaced.</param>
/// <param name="WritablePrefixes">Series prefixes it may write; one empty prefix: all.</param>
/// <param name="IsRoot">It founded the grid.</param>
/// <param name="IsThisHub">It is the hub answering.</param>
public sealed record GridMemberView(string HubId, string PublicKey, string CurveKey, uint KeyEpoch, IReadOnlyList<string> WritablePrefixes, bool IsRoot, bool IsThisHub);

/// <param name="Id">The grid id (a hash of its founding record), or null when this hub is in no grid.</param>
/// <param name="Name">The grid's name.</param>
/// <param name="RootHubId">The hub that founded it.</param>
/// <param name="IsMember">This hub is a member now (false after it was removed).</param>
/// <param name="Members">The members, by hub id.</param>
/// <param name="Records">Control-log records held.</param>
/// <param name="PendingRecords">Records held that name records not received yet.</param>
public sealed record GridView(string? Id, string? Name, string? RootHubId, bool IsMember, IReadOnlyList<GridMemberView> Members, int Records, int PendingRecords);

/// <summary>
/// This hub's grid: the signed control log it holds (DESIGN.md section 5) and the invitations it issued, kept in
/// <c>&lt;data-dir&gt;/grid.state</c> (owner-only, replaced atomically and flushed before any change is answered).
/// One lock orders the changes; the fold that decides who is a member is <see cref="MembershipLog"/>'s.
/// </summary>
public sealed class GridMembership
{
    public const string FileName = "grid.state";
    public const int MaxNameBytes = 64;

    private readonly Lock _gate = new();
    private readonly HubIdentity _identity;
    private readonly TimeProvider _time;
    private readonly InvitationBook _invitations = new();
    private readonly byte[] _curvePublicKey;
    private MembershipLog? _log;

    private GridMembership(HubIdentity identity, string path, TimeProvider time)
    {
        _identity = identity;
        _time = time;
        StatePath = path;
        _curvePublicKey = identity.Keys.CurveKeyPair().Public;
    }

    /// <summary>Raised after every change of the log (a record made here or received), outside the lock.</summary>
    public event Action? Changed;

    public string StatePath { get; }

    /// <summary>Opens the grid state in <paramref name="dataDir"/> (none yet: no grid).</summary>
    /// <exception cref="InvalidDataException">The state file is damaged; the message says what to do.</exception>
    public static GridMembership Open(HubIdentity identity, string dataDir, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var membership = new GridMembership(identity, Path.Combine(dataDir, FileName), time ?? TimeProvider.System);
        if (!File.Exists(membership.StatePath))
            return membership;
        var state = GridStateFile.TryDecode(File.ReadAllBytes(membership.StatePath), out var error)
            ?? throw new InvalidDataException($"{membership.StatePath}: {error}. Restore it from a backup; moving it aside makes this hub leave its grid (it must then be invited again)");
        var create = state.Records.FirstOrDefault(r => r.Kind == MembershipKind.Create);
        if (create is not null)
        {
            membership._log = MembershipLog.Found(create, out _)!;
            foreach (var record in state.Records.Where(r => r.Kind != MembershipKind.Create))
                membership._log.Add(record, out _);
        }

        foreach (var (invitation, usedBy) in state.Invitations)
            membership._invitations.Restore(invitation, usedBy);
        return membership;
    }

    public GridView View()
    {
        lock (_gate)
            return ViewLocked();
    }

    /// <summary>Founds a grid with this hub as its root and first member, allowed to write every series.</summary>
    public GridView Create(string name)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length == 0 || Encoding.UTF8.GetByteCount(trimmed) > MaxNameBytes || trimmed.Any(char.IsControl))
            throw new GridMembershipException(GridRefusal.Invalid, $"a grid name is 1-{MaxNameBytes} bytes of text without control characters");
        GridView view;
        lock (_gate)
        {
            if (_log is not null)
                throw new GridMembershipException(GridRefusal.AlreadyInGrid, $"this hub already belongs to grid '{_log.Name}' ({_log.Grid}); a hub is in one grid at a time");
            var create = MembershipRecord.CreateGrid(_identity.Keys, trimmed, OwnCertificate(), _time.GetUtcNow().ToUnixTimeMilliseconds());
            var log = MembershipLog.Found(create, out _)!;
            Save(log);
            _log = log;
            view = ViewLocked();
        }

        Changed?.Invoke();
        return view;
    }

    /// <summary>Removes a member (this hub included: it then leaves). The removal wins over any add it did not see.</summary>
    public GridView Remove(string hubId)
    {
        if (!Id128.TryParse(hubId?.Trim() ?? "", out var hub))
            throw new GridMembershipException(GridRefusal.Invalid, $"'{hubId}' is not a hub id (26 characters of base32, as 'grid status' lists them)");
        GridView view;
        lock (_gate)
        {
            var log = RequireMember();
            if (!log.Members.ContainsKey(hub))
                throw new GridMembershipException(GridRefusal.UnknownMember, $"hub {hub} is not a member of grid '{log.Name}'; 'grid status' lists the members");
            var record = MembershipRecord.RemoveMember(_identity.Keys, log.Grid, log.Heads, hub, _time.GetUtcNow().ToUnixTimeMilliseconds());
            AddAndSave(log, record);
            view = ViewLocked();
        }

        Changed?.Invoke();
        return view;
    }

    /// <summary>A one-time code for another hub to join this grid, reachable at <paramref name="addresses"/>.</summary>
    internal Invitation Invite(IReadOnlyList<string> addresses, TimeSpan validFor)
    {
        if (addresses.Count is 0 or > Invitation.MaxAddresses)
            throw new GridMembershipException(GridRefusal.Invalid, $"an invitation names 1-{Invitation.MaxAddresses} addresses this hub is reachable at; the grid port is not open");
        if (validFor < TimeSpan.FromMinutes(1) || validFor > TimeSpan.FromDays(7))
            throw new GridMembershipException(GridRefusal.Invalid, "an invitation is valid for 1 minute to 7 days");
        lock (_gate)
        {
            var log = RequireMember();
            var invitation = _invitations.Issue(log.Grid, _identity.Keys.HubId, _curvePublicKey, addresses, _time.GetUtcNow().ToUnixTimeMilliseconds(), validFor);
            try
            {
                Save(log);
            }
            catch
            {
                _invitations.Forget(invitation.Id);
                throw;
            }

            return invitation;
        }
    }

    /// <summary>Whether a hub may join with this invitation (nothing is spent): its certificate to be, or null with the reason.</summary>
    internal MemberCertificate? CheckJoin(Id128 invitation, ReadOnlySpan<byte> proof, ReadOnlySpan<byte> hubKey, ReadOnlySpan<byte> curveKey, out string? error)
    {
        lock (_gate)
        {
            error = _log is null || !_log.Members.ContainsKey(_identity.Keys.HubId)
                ? "this hub is no longer a member of the grid and admits no one"
                : _invitations.Check(invitation, proof, hubKey, curveKey, _time.GetUtcNow().ToUnixTimeMilliseconds());
            return error is null ? new MemberCertificate(hubKey.ToArray(), 0, curveKey.ToArray(), [""]) : null;
        }
    }

    /// <summary>Spends the invitation and adds the hub that proved it holds its key; null, or why it was refused.</summary>
    internal string? Admit(Id128 invitation, ReadOnlySpan<byte> proof, MemberCertificate joiner)
    {
        lock (_gate)
        {
            if (_log is null || !_log.Members.ContainsKey(_identity.Keys.HubId))
                return "this hub is no longer a member of the grid and admits no one";
            var log = _log;
            var before = _invitations.Issued.ToList();
            var error = _invitations.Redeem(invitation, proof, joiner.HubKey, joiner.CurveKey, _time.GetUtcNow().ToUnixTimeMilliseconds());
            if (error is not null)
                return error;
            try
            {
                AddAndSave(log, MembershipRecord.AddMember(_identity.Keys, log.Grid, log.Heads, joiner, _time.GetUtcNow().ToUnixTimeMilliseconds()));
            }
            catch
            {
                foreach (var (held, usedBy) in before)
                    _invitations.Restore(held, usedBy);
                throw;
            }
        }

        Changed?.Invoke();
        return null;
    }

    /// <summary>
    /// Takes the control log from the hub that admitted this one: kept only when it founds a grid, holds together and
    /// makes this hub a member. Null, or why it was refused (nothing is kept then).
    /// </summary>
    internal string? Join(IReadOnlyList<MembershipRecord> records, Id128 expectedGrid)
    {
        lock (_gate)
        {
            if (_log is not null)
                return $"this hub already belongs to grid '{_log.Name}' ({_log.Grid})";
            var create = records.FirstOrDefault(r => r.Kind == MembershipKind.Create);
            if (create is null)
                return "the records do not found a grid";
            var log = MembershipLog.Found(create, out var error);
            if (log is null)
                return $"the grid's founding record is refused: {error}";
            if (log.Grid != expectedGrid)
                return $"the records found grid {log.Grid}, not {expectedGrid} named by the invitation";
            foreach (var record in records.Where(r => r.Kind != MembershipKind.Create))
                log.Add(record, out _);
            if (!log.Members.ContainsKey(_identity.Keys.HubId))
                return "the grid's records do not make this hub a member";
            Save(log);
            _log = log;
        }

        Changed?.Invoke();
        return null;
    }

    /// <summary>Takes a record from a peer (or a test): kept when it belongs to this grid, refused with the reason otherwise.</summary>
    internal RecordOutcome Receive(MembershipRecord record, out string? error)
    {
        ArgumentNullException.ThrowIfNull(record);
        RecordOutcome outcome;
        lock (_gate)
        {
            if (_log is null)
            {
                error = "this hub belongs to no grid";
                return RecordOutcome.Refused;
            }

            outcome = AddAndSave(_log, record, out error);
        }

        if (outcome is RecordOutcome.Added or RecordOutcome.Pending)
            Changed?.Invoke();
        return outcome;
    }

    /// <summary>The records held, to send to a peer (control-log records sync first in every session).</summary>
    internal IReadOnlyList<MembershipRecord> Records()
    {
        lock (_gate)
            return _log is null ? [] : [.. _log.Records];
    }

    /// <summary>The current member certificate of a hub key, or null: what a link handshake asks of each peer.</summary>
    internal MemberCertificate? MemberByKey(ReadOnlySpan<byte> hubKey)
    {
        lock (_gate)
        {
            return _log is not null && _log.Members.TryGetValue(HubKeys.HubIdOf(hubKey), out var certificate) && certificate.HubKey.AsSpan().SequenceEqual(hubKey)
                ? certificate
                : null;
        }
    }

    /// <summary>What a member's key may sign now (null for a key that is not a member's): what deltas are verified by.</summary>
    internal Deltas.SignerGrant? GrantFor(Id128 keyId)
    {
        lock (_gate)
            return _log?.GrantFor(keyId);
    }

    /// <summary>Whether this hub is a member of its grid now.</summary>
    internal bool IsMember
    {
        get
        {
            lock (_gate)
                return _log is not null && _log.Members.ContainsKey(_identity.Keys.HubId);
        }
    }

    /// <summary>The grid id, or null while this hub belongs to none.</summary>
    internal Id128? GridId
    {
        get
        {
            lock (_gate)
                return _log?.Grid;
        }
    }

    internal MemberCertificate OwnCertificate() =>
        new(_identity.Keys.PublicKey.ToArray(), 0, _curvePublicKey, [""]);

    private MembershipLog RequireMember()
    {
        if (_log is null)
            throw new GridMembershipException(GridRefusal.NoGrid, "this hub belongs to no grid: create one ('grid create --name <name>') or join one ('grid join <code>')");
        if (!_log.Members.ContainsKey(_identity.Keys.HubId))
            throw new GridMembershipException(GridRefusal.NotAMember, $"this hub was removed from grid '{_log.Name}' and may no longer change it");
        return _log;
    }

    private void AddAndSave(MembershipLog log, MembershipRecord record)
    {
        if (AddAndSave(log, record, out var error) == RecordOutcome.Refused)
            throw new InvalidOperationException($"a record made here was refused: {error}");
    }

    /// <summary>
    /// Adds a record and saves the log; when the save fails the log is put back as it was on disk, so nothing is
    /// served (or relied on) that a restart would forget, and the same change can be tried again.
    /// </summary>
    private RecordOutcome AddAndSave(MembershipLog log, MembershipRecord record, out string? error)
    {
        var before = log.Records.Concat(log.PendingRecords).ToList();
        var outcome = log.Add(record, out error);
        if (outcome is RecordOutcome.Added or RecordOutcome.Pending)
        {
            try
            {
                Save(log);
            }
            catch
            {
                var restored = MembershipLog.Found(log.Create, out _)!;
                foreach (var held in before.Where(r => r.Kind != MembershipKind.Create))
                    restored.Add(held, out _);
                _log = restored;
                throw;
            }
        }

        return outcome;
    }

    private void Save(MembershipLog log)
    {
        _invitations.Prune(_time.GetUtcNow().ToUnixTimeMilliseconds());
        var state = new GridState([.. log.Records.OrderBy(r => r.Kind != MembershipKind.Create), .. log.PendingRecords], [.. _invitations.Issued]);
        DurableFile.WriteAllBytes(StatePath, GridStateFile.Encode(state), ownerOnly: true);
    }

    private GridView ViewLocked()
    {
        if (_log is null)
            return new GridView(null, null, null, false, [], 0, 0);
        var me = _identity.Keys.HubId;
        var members = _log.Members
            .OrderBy(m => m.Key)
            .Select(m => new GridMemberView(
                m.Key.ToString(),
                Convert.ToBase64String(m.Value.HubKey),
                Convert.ToBase64String(m.Value.CurveKey),
                m.Value.KeyEpoch,
                m.Value.WritablePrefixes,
                m.Key == _log.RootHubId,
                m.Key == me))
            .ToList();
        return new GridView(_log.Grid.ToString(), _log.Name, _log.RootHubId.ToString(), _log.Members.ContainsKey(me), members, _log.Records.Count(), _log.PendingCount);
    }
}
