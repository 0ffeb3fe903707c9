namespace Dbrx.ConstrainedDecoding;

/// <summary>A number's constraints: integer or not, bounds (exclusive or not), and a <c>multipleOf</c>.</summary>
/// <param name="Integer">No fraction and no exponent.</param>
/// <param name="Minimum">The lower bound, or null.</param>
/// <param name="MinimumExclusive">Whether the lower bound itself is excluded.</param>
/// <param name="Maximum">The upper bound, or null.</param>
/// <param name="MaximumExclusive">Whether the upper bound itself is excluded.</param>
/// <param name="MultipleOf">The value must be an integer multiple of this (positive), or null.</param>
internal sealed record NumberSpec(bool Integer, DecimalNumber? Minimum = null, bool MinimumExclusive = false, DecimalNumber? Maximum = null, bool MaximumExclusive = false, DecimalNumber? MultipleOf = null)
{
    /// <summary>Exponents are written only where no bound or multiple is checked (digit by digit, they could not be).</summary>
    public bool AllowsExponent => !Integer && Minimum is null && Maximum is null && MultipleOf is null;
}
