namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// A schema's compilation ran out of its <see cref="SchemaCompileBudget"/>; the compiler turns it into a
/// <see cref="JsonSchemaException"/> naming the keyword and path it was compiling.
/// </summary>
internal sealed class SchemaBudgetExceededException(string reason) : Exception(reason);
