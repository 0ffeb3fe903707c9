using Dbrx.Inference.Generation;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A compiled JSON grammar (from <see cref="JsonConstraintCompiler"/>), shared by every request that uses it: each
/// request gets a constraint of its own from <see cref="Create"/>, as <see cref="DbrxGenerationOptions.ConstraintFactory"/>.
/// </summary>
public sealed class JsonConstraint
{
    private readonly CompiledGrammar grammar;

    internal JsonConstraint(CompiledGrammar grammar) => this.grammar = grammar;

    /// <summary>Tokens the shortest document the grammar accepts takes: a request allowed fewer can never finish one.</summary>
    public int MinimumTokens => new JsonSchemaConstraint(grammar).MinimumTokens;

    /// <summary>A constraint for one request, starting before the document's first byte.</summary>
    public ITokenConstraint Create() => new JsonSchemaConstraint(grammar);
}
