using Grid.Edge.Hub.Replication.Deltas;
using Grid.Edge.Hub.Replication.Identity;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Membership;

internal enum RecordOutcome
{
    Added,
    Duplicate,

    /// <summary>Names records not held yet: kept and taken once they arrive (records sync first, in any order).</summary>
    Pending,
    Refused,
}

/// <summary>
/// A grid's control log and the member set it folds to. The fold is a pure function of the set of records held,
/// so every hub holding the same records sees the same members, whatever order they came in:
/// <list type="bullet">
/// <item>A record counts only if its author was allowed in the record's own past (its deps and theirs): the grid
/// root always, a member otherwise.</item>
/// <item>A hub is a member when some counted add of it (or the Create naming it) has every counted removal of it
/// in its past: a removal wins over a concurrent add or re-add; only an add made knowing the removal re-admits.</item>
/// <item>An add made by a hub concurrently with that hub's own removal does not count (a hub being removed cannot
/// race in accomplices); removals always count when their author was a member in their past, so a mutual removal
/// removes both.</item>
/// </list>
/// </summary>
internal sealed class MembershipLog
{
    private readonly Dictionary<Hash256, MembershipRecord> _records = [];
    private readonly Dictionary<Hash256, HashSet<Hash256>> _past = [];
    private readonly Dictionary<Hash256, MembershipRecord> _pending = [];
    private readonly Dictionary<Hash256, IReadOnlyDictionary<Id128, MemberCertificate>> _membersBefore = [];
    private IReadOnlyDictionary<Id128, MemberCertificate>? _members;

    private MembershipLog(MembershipRecord create)
    {
        Create = create;
        Grid = create.FoundedGrid;
        Insert(create);
    }

    public MembershipRecord Create { get; }

    public Id128 Grid { get; }

    public string Name => Create.Name!;

    public Id128 RootHubId => Create.AuthorHubId;

    public IEnumerable<MembershipRecord> Records => _records.Values;

    public int PendingCount => _pending.Count;

    /// <summary>Records held that wait for records they name.</summary>
    public IEnumerable<MembershipRecord> PendingRecords => _pending.Values;

    /// <summary>The records nothing else names yet: the deps of the next record made here.</summary>
    public IReadOnlyList<Hash256> Heads
    {
        get
        {
            var named = _records.Values.SelectMany(r => r.Deps).ToHashSet();
            return [.. _records.Keys.Where(id => !named.Contains(id)).Order()];
        }
    }

    public static MembershipLog? Found(MembershipRecord create, out string? error)
    {
        ArgumentNullException.ThrowIfNull(create);
        error = create.Kind == MembershipKind.Create ? null : "a grid starts from its create record";
        return error is null ? new MembershipLog(create) : null;
    }

    public RecordOutcome Add(MembershipRecord record, out string? error)
    {
        ArgumentNullException.ThrowIfNull(record);
        error = null;
        if (_records.ContainsKey(record.Id) || _pending.ContainsKey(record.Id))
            return RecordOutcome.Duplicate;
        if (record.Kind == MembershipKind.Create || record.Grid != Grid)
        {
            error = record.Kind == MembershipKind.Create ? "a grid has one create record" : $"the record belongs to grid {record.Grid}, not {Grid}";
            return RecordOutcome.Refused;
        }

        _pending[record.Id] = record;
        var outcome = RecordOutcome.Pending;
        bool progress;
        do
        {
            progress = false;
            foreach (var ready in _pending.Values.Where(r => r.Deps.All(_records.ContainsKey)).ToList())
            {
                _pending.Remove(ready.Id);
                Insert(ready);
                progress = true;
                if (ready.Id == record.Id)
                    outcome = RecordOutcome.Added;
            }
        }
        while (progress);

        _members = null;
        return outcome;
    }

    /// <summary>The current members by hub id.</summary>
    public IReadOnlyDictionary<Id128, MemberCertificate> Members => _members ??= Fold(_records.Keys.ToHashSet());

    /// <summary>What a member's key may sign, for <see cref="DeltaVerifier"/>: null for anyone not a member now.</summary>
    public SignerGrant? GrantFor(Id128 keyId)
    {
        foreach (var certificate in Members.Values)
        {
            if (HubKeys.KeyIdOf(certificate.HubKey) == keyId && StrictEd25519.TryImport(certificate.HubKey, out var key, out _))
                return new SignerGrant(key!, certificate.WritablePrefixes);
        }

        return null;
    }

    private void Insert(MembershipRecord record)
    {
        var past = new HashSet<Hash256>();
        foreach (var dep in record.Deps)
        {
            past.Add(dep);
            past.UnionWith(_past[dep]);
        }

        _records[record.Id] = record;
        _past[record.Id] = past;
    }

    private bool Concurrent(Hash256 a, Hash256 b) => a != b && !_past[a].Contains(b) && !_past[b].Contains(a);

    private bool AuthorAllowed(MembershipRecord record)
    {
        if (record.AuthorHubId == RootHubId && record.Author.AsSpan().SequenceEqual(Create.Author))
            return true;
        if (!_membersBefore.TryGetValue(record.Id, out var before))
            _membersBefore[record.Id] = before = Fold(_past[record.Id]);
        return before.TryGetValue(record.AuthorHubId, out var certificate) && certificate.HubKey.AsSpan().SequenceEqual(record.Author);
    }

    /// <summary>The members of a causally closed set of records (the fold rules in the class summary).</summary>
    private Dictionary<Id128, MemberCertificate> Fold(HashSet<Hash256> set)
    {
        var records = set.Select(id => _records[id]).ToList();
        var removals = records.Where(r => r.Kind == MembershipKind.Remove && AuthorAllowed(r)).ToList();
        var adds = records.Where(r => r.Kind == MembershipKind.Create
            || (r.Kind == MembershipKind.Add && AuthorAllowed(r) && !removals.Any(x => x.Removed == r.AuthorHubId && Concurrent(x.Id, r.Id))));
        var members = new Dictionary<Id128, (MemberCertificate Certificate, MembershipRecord By)>();
        foreach (var add in adds)
        {
            var hub = add.Certificate!.HubId;
            if (removals.Any(x => x.Removed == hub && !_past[add.Id].Contains(x.Id)))
                continue;

            // Several standing adds of one hub: the highest key epoch, then the greatest record id, on every hub.
            if (!members.TryGetValue(hub, out var held) || (add.Certificate.KeyEpoch, add.Id).CompareTo((held.Certificate.KeyEpoch, held.By.Id)) > 0)
                members[hub] = (add.Certificate, add);
        }

        return members.ToDictionary(m => m.Key, m => m.Value.Certificate);
    }
}
