using System.Globalization;
using System.Text;

namespace Grid.Edge.Obd.Elm327;

/// <summary>
/// Everything that came back during a first contact, kept to say why it failed: nothing at all, unreadable bytes (a
/// serial link at another baud rate reads as these), or text from something that is not an ELM327, quoted.
/// </summary>
internal sealed class ContactTranscript
{
    private const int KeptBytes = 96;
    private const int QuotedChars = 60;
    private readonly List<byte> _first = new(KeptBytes);

    public int Total { get; private set; }

    /// <summary>Bytes that are not adapter text (printable ASCII, CR, LF). NUL counts: a link at the wrong speed reads many.</summary>
    public int Unreadable { get; private set; }

    /// <summary>
    /// A quarter or more of what came is not text: no adapter answers like that at its own speed, while bytes sampled at
    /// the wrong speed are mostly not text (a few printable ones by chance).
    /// </summary>
    public bool IsNoise => Total > 0 && Unreadable * 4 >= Total;

    public void Add(ReadOnlySpan<byte> bytes)
    {
        Total += bytes.Length;
        foreach (var b in bytes)
        {
            if (!IsText(b))
                Unreadable++;
            if (_first.Count < KeptBytes)
                _first.Add(b);
        }
    }

    /// <summary>Why the contact failed, in words a person setting the adapter up can act on.</summary>
    public ElmException Failure(string where, TimeSpan waited, bool askedIdentity)
    {
        if (Total == 0)
        {
            return new ElmException(ElmFailure.NoAnswer, string.Create(CultureInfo.InvariantCulture,
                $"nothing answers on {where}: no reply to ATZ, sent twice ({waited.TotalSeconds:0.#} s in all); check that the adapter is powered (in the OBD socket; some need the ignition on) and that this is its address"));
        }

        if (IsNoise)
            return new ElmException(ElmFailure.Unreadable, $"only unreadable bytes come back from {where} ({Quote()}): the baud rate is probably not the adapter's");
        return new ElmException(ElmFailure.NotAnElm327, $"the device on {where} answers but does not identify as an ELM327 (to ATZ{(askedIdentity ? " and ATI" : string.Empty)} it said '{Quote()}')");
    }

    /// <summary>What came back, short: text as lines joined by " | ", noise as hex bytes.</summary>
    public string Quote()
    {
        if (IsNoise)
        {
            var hex = string.Join(' ', _first.Take(12).Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
            return Total > 12 ? string.Create(CultureInfo.InvariantCulture, $"{hex} ..., {Total} bytes") : hex;
        }

        var text = new StringBuilder();
        foreach (var line in Encoding.Latin1.GetString(_first.ToArray()).Split(['\r', '\n', '>'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var printable = Printable(line);
            if (printable.Length == 0)
                continue;
            if (text.Length > 0)
                text.Append(" | ");
            text.Append(printable);
        }

        var quoted = text.ToString();
        return quoted.Length > QuotedChars || Total > _first.Count ? string.Concat(quoted.AsSpan(0, Math.Min(quoted.Length, QuotedChars)), "...") : quoted;
    }

    /// <summary>
    /// The adapter's banner ("ELM327 v1.5") wherever it stands in an answer: after the echo, after NUL bytes or line
    /// noise, after the '?' of a half-typed line. Null when there is none. Only printable characters are kept, at most 40.
    /// </summary>
    public static string? FindBanner(string text)
    {
        foreach (var line in text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var printable = Printable(line);
            var at = printable.IndexOf("ELM", StringComparison.OrdinalIgnoreCase);
            if (at >= 0)
            {
                var banner = printable[at..].Trim();
                return banner.Length > 40 ? banner[..40] : banner;
            }
        }

        return null;
    }

    private static bool IsText(byte b) => b is (>= 0x20 and <= 0x7E) or (byte)'\r' or (byte)'\n';

    private static string Printable(string line) => new string(line.Where(c => c is >= ' ' and <= '~').ToArray()).Trim();
}
