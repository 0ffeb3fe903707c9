using System.Text.Json;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// JSON-schema constrained decoding for <see cref="DbrxGenerator"/> requests: the same engine Dbrx.Extensions.AI's chat
/// client uses for JSON output and required tool calls, for code that drives the generator directly
/// (<see cref="DbrxGenerationOptions.ConstraintFactory"/>). Schemas are compiled once per tokenizer and schema text,
/// by a <see cref="JsonConstraintCompiler"/> per tokenizer with the default budgets; create a compiler of your own to
/// choose them, to read its cache statistics, or to compile cancellably.
/// </summary>
public static class DbrxJsonConstraint
{
    /// <summary>A factory of constraints that limit output to one compact JSON document valid against <paramref name="schema"/>.</summary>
    /// <param name="schema">A JSON Schema (drafts 4 to 2020-12).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="allowUndeclaredProperties">
    /// Allow properties a schema does not declare where it does not forbid them (JSON Schema's default); false
    /// generates only declared properties in objects that declare some.
    /// </param>
    /// <returns>A factory to set as <see cref="DbrxGenerationOptions.ConstraintFactory"/>: one constraint per request.</returns>
    /// <exception cref="JsonSchemaException">The schema is invalid, uses something that cannot be enforced, or needs more than the default budgets to compile (the message names the keyword and its path).</exception>
    public static Func<ITokenConstraint> ForSchema(JsonElement schema, DbrxTokenizer tokenizer, bool allowUndeclaredProperties = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return JsonConstraintCompiler.Default(tokenizer).ForSchema(schema, allowUndeclaredProperties).Create;
    }
}
