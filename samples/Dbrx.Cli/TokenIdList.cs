using System.CommandLine.Parsing;
using System.Globalization;

namespace Dbrx.Cli;

/// <summary>Parses token id lists written as <c>1,2,3</c>, <c>"1 2 3"</c> or several arguments.</summary>
internal static class TokenIdList
{
    public static long[] Parse(ArgumentResult result)
    {
        // Called for an absent optional option too, which gives no ids and no error; "none" is an explicit empty list.
        if (result.Tokens.Count == 0 || result.Tokens is [{ Value: "none" }])
            return [];
        var ids = new List<long>();
        foreach (var token in result.Tokens)
        {
            foreach (string part in token.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out long id) || id < 0)
                {
                    result.AddError($"'{part}' is not a token id (a non-negative integer).");
                    return [];
                }
                ids.Add(id);
            }
        }
        if (ids.Count == 0)
            result.AddError("No token ids given.");
        return [.. ids];
    }
}
