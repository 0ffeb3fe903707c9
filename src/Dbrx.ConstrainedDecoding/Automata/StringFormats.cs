namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// The <c>format</c>s that are enforced, as anchored regular expressions in <see cref="RegexParser"/>'s dialect. They
/// follow the RFCs JSON Schema names (RFC 3339 dates and times with every day of every month and leap years, ISO 8601
/// durations, RFC 3986 URIs, RFC 1123 host names, RFC 5321 dot-atom e-mail addresses, RFC 4122 UUIDs, IPv4 and IPv6
/// addresses), narrowed where .NET's parsers are narrower, so that a generated value always binds to .NET's
/// DateTime, DateTimeOffset, DateOnly, Guid and Uri: years 0001–9999 (0002–9998 in a date-time, so that applying the
/// offset stays in range), upper-case <c>T</c> and <c>Z</c>, offsets up to ±14:00, no leap second, at most 16
/// fractional digits, URI schemes of 2 to 63 characters, host names of dot-separated labels of letters, digits, '-' and '_' after <c>//</c>, and ports up to 65535. Any other format is an annotation and
/// is not checked, as JSON Schema specifies.
/// </summary>
internal static class StringFormats
{
    private const string Hex = "[0-9A-Fa-f]";
    private const string Month31 = "(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])";
    private const string Month30 = "(0[469]|11)-(0[1-9]|[12][0-9]|30)";
    private const string February = "02-(0[1-9]|1[0-9]|2[0-8])";
    private const string LeapYear = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)";
    private const string Year = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})";
    private const string DateTimeYear = "(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])";
    private const string PartialTime = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,16})?";
    private const string Offset = "(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))";
    private const string DecOctet = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    private const string Label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    private const string Unreserved = "[A-Za-z0-9._~-]";
    private const string PercentEncoded = "%" + Hex + Hex;
    private const string SubDelims = "[!$&'()*+,;=]";
    private const string Port = "([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

    private static string Date(string year) => $"({year}-({Month31}|{Month30}|{February})|{LeapYear}-02-29)";

    private static readonly string Ipv4 = $"{DecOctet}(\\.{DecOctet}){{3}}";
    private static readonly string Ipv6 = Ipv6Address();
    private static readonly string Hostname = $"{Label}(\\.{Label})*";
    private static readonly string Pchar = $"({Unreserved}|{PercentEncoded}|{SubDelims}|[:@])";
    // .NET's URI parser takes host names of dot-separated labels of letters, digits, '-' and '_' (RFC 3986 allows more).
    private static readonly string Authority = $"(({Unreserved}|{PercentEncoded}|{SubDelims}|:)*@)?(\\[{Ipv6}\\]|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)(:{Port})?";
    private static readonly string PathAbempty = $"(/{Pchar}*)*";
    private static readonly string PathAbsolute = $"/({Pchar}+(/{Pchar}*)*)?";
    private static readonly string PathRootless = $"{Pchar}+(/{Pchar}*)*";
    private static readonly string PathNoScheme = $"({Unreserved}|{PercentEncoded}|{SubDelims}|@)+(/{Pchar}*)*";
    private static readonly string QueryAndFragment = $"(\\?({Pchar}|[/?])*)?(#({Pchar}|[/?])*)?";
    // .NET reads a one-letter scheme as a drive letter and refuses schemes of 1024 characters or more.
    private static readonly string Uri = $"[A-Za-z][A-Za-z0-9+.-]{{1,62}}:(//{Authority}{PathAbempty}|{PathAbsolute}|{PathRootless})?{QueryAndFragment}";
    private static readonly string RelativeReference = $"(//{Authority}{PathAbempty}|{PathAbsolute}|{PathNoScheme})?{QueryAndFragment}";
    private static readonly string DurationTime = "T([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S)";

    private static readonly Dictionary<string, string> Patterns = new(StringComparer.Ordinal)
    {
        ["date"] = Date(Year),
        ["time"] = PartialTime + Offset,
        ["date-time"] = $"{Date(DateTimeYear)}T{PartialTime}{Offset}",
        ["duration"] = $"P(([0-9]+Y([0-9]+M)?([0-9]+D)?|[0-9]+M([0-9]+D)?|[0-9]+D)({DurationTime})?|{DurationTime}|[0-9]+W)",
        ["email"] = $"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*@({Hostname}|\\[{Ipv4}\\]|\\[IPv6:{Ipv6}\\])",
        ["hostname"] = Hostname,
        ["ipv4"] = Ipv4,
        ["ipv6"] = Ipv6,
        ["uri"] = Uri,
        ["uri-reference"] = $"({Uri}|{RelativeReference})",
        ["uuid"] = $"{Hex}{{8}}-{Hex}{{4}}-{Hex}{{4}}-{Hex}{{4}}-{Hex}{{12}}",
        ["json-pointer"] = "(/([^/~]|~[01])*)*",
    };

    /// <summary>The names of the enforced formats.</summary>
    public static IReadOnlyCollection<string> Names => Patterns.Keys;

    /// <summary>A format's anchored pattern, or null when the format is not enforced.</summary>
    public static string? Pattern(string format) => Patterns.TryGetValue(format, out string? body) ? $"^({body})$" : null;

    /// <summary>RFC 3986's IPv6address: eight groups, or fewer around one "::", the last two possibly an IPv4 address.</summary>
    private static string Ipv6Address()
    {
        string h16 = $"{Hex}{{1,4}}";
        string ls32 = $"({h16}:{h16}|{Ipv4})";
        string Groups(int n) => n == 0 ? "" : $"({h16}:){{{n}}}";
        string Before(int max) => max < 0 ? "" : max == 0 ? "" : $"(({h16}:){{0,{max}}}{h16})?";
        var options = new List<string>
        {
            $"{Groups(6)}{ls32}",
            $"::{Groups(5)}{ls32}",
            $"({h16})?::{Groups(4)}{ls32}",
            $"{Before(1)}::{Groups(3)}{ls32}",
            $"{Before(2)}::{Groups(2)}{ls32}",
            $"{Before(3)}::{h16}:{ls32}",
            $"{Before(4)}::{ls32}",
            $"{Before(5)}::{h16}",
            $"{Before(6)}::",
        };
        return "(" + string.Join("|", options) + ")";
    }
}
