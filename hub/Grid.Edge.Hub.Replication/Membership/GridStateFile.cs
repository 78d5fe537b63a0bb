using System.Security.Cryptography;
using Grid.Edge.Hub.Replication.Wire;

namespace Grid.Edge.Hub.Replication.Membership;

/// <summary>What a hub keeps of its grid between runs: every control-log record it holds and the invitations it issued.</summary>
internal sealed record GridState(IReadOnlyList<MembershipRecord> Records, IReadOnlyList<(Invitation Invitation, Id128? UsedBy)> Invitations)
{
    public static readonly GridState Empty = new([], []);
}

/// <summary>
/// The grid state file: <c>GGS1</c>, record count (varint) and each record (varint length + its signed bytes),
/// invitation count (varint) and each (varint length + its code's bytes, then a used flag and the hub that used
/// it), then the first 16 bytes of SHA-256 over everything before. Every record is verified again on reading, so
/// a file edited by hand can hold nothing a member did not sign.
/// </summary>
internal static class GridStateFile
{
    public const int MaxRecords = 100_000;
    public const int MaxInvitations = 10_000;
    private const int ChecksumSize = 16;
    private const int MaxRecordBytes = 64 * 1024;
    private static ReadOnlySpan<byte> Magic => "GGS1"u8;

    public static byte[] Encode(GridState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var w = new WireWriter();
        w.Bytes(Magic);
        w.Varint((ulong)state.Records.Count);
        foreach (var record in state.Records)
        {
            var bytes = record.Encode();
            w.Varint((ulong)bytes.Length);
            w.Bytes(bytes);
        }

        w.Varint((ulong)state.Invitations.Count);
        foreach (var (invitation, usedBy) in state.Invitations)
        {
            var code = System.Text.Encoding.ASCII.GetBytes(invitation.Encode());
            w.Varint((ulong)code.Length);
            w.Bytes(code);
            w.U8(usedBy is null ? (byte)0 : (byte)1);
            w.Id(usedBy ?? default);
        }

        var body = w.ToArray();
        return [.. body, .. SHA256.HashData(body).AsSpan(0, ChecksumSize)];
    }

    /// <summary>Reads a state file; null with the reason when it is damaged. Never throws on bad input.</summary>
    public static GridState? TryDecode(ReadOnlySpan<byte> data, out string? error)
    {
        if (data.Length < Magic.Length + ChecksumSize || !data[..Magic.Length].SequenceEqual(Magic))
        {
            error = "not a grid state file (it does not start with 'GGS1')";
            return null;
        }

        var body = data[..^ChecksumSize];
        if (!SHA256.HashData(body).AsSpan(0, ChecksumSize).SequenceEqual(data[^ChecksumSize..]))
        {
            error = "the grid state file is damaged (its checksum does not match)";
            return null;
        }

        var reader = new WireReader(body[Magic.Length..]);
        var records = new List<MembershipRecord>();
        var invitations = new List<(Invitation, Id128?)>();
        if (reader.Varint("record count", out var recordCount) && (recordCount <= MaxRecords || reader.Fail($"{recordCount} records, at most {MaxRecords}")))
        {
            for (var i = 0UL; i < recordCount && reader.Error is null; i++)
            {
                if (!ReadBlock(ref reader, "record", MaxRecordBytes, out var bytes))
                    break;
                var record = MembershipRecord.TryDecode(bytes, out var recordError);
                if (record is null)
                    reader.Fail($"record {i + 1}: {recordError}");
                else
                    records.Add(record);
            }

            if (reader.Error is null && reader.Varint("invitation count", out var invitationCount) && (invitationCount <= MaxInvitations || reader.Fail($"{invitationCount} invitations, at most {MaxInvitations}")))
            {
                for (var i = 0UL; i < invitationCount && reader.Error is null; i++)
                {
                    if (!ReadBlock(ref reader, "invitation", 4096, out var code) || !reader.U8("used flag", out var used) || !reader.Id("used by", out var usedBy))
                        break;
                    var invitation = Invitation.TryDecode(System.Text.Encoding.ASCII.GetString(code), out var invitationError);
                    if (invitation is null)
                        reader.Fail($"invitation {i + 1}: {invitationError}");
                    else if (used > 1)
                        reader.Fail($"invitation {i + 1}: used flag {used} is not 0 or 1");
                    else
                        invitations.Add((invitation, used == 1 ? usedBy : null));
                }
            }

            reader.End("invitations");
        }

        error = reader.Error is null ? null : $"the grid state file is not valid: {reader.Error}";
        return error is null ? new GridState(records, invitations) : null;
    }

    private static bool ReadBlock(ref WireReader reader, string what, int maxBytes, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (!reader.Varint($"{what} length", out var length))
            return false;
        if (length > (ulong)maxBytes)
            return reader.Fail($"a {what} of {length} bytes, at most {maxBytes}");
        return reader.Bytes((int)length, what, out bytes);
    }
}
