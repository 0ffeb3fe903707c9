namespace Dbrx.Extensions.AI;

/// <summary>
/// A JSON schema that constrained decoding cannot enforce, or that is not a valid schema: the message names the
/// keyword and where it is (a JSON pointer into the schema, such as <c>#/properties/when/format</c>) and says why.
/// Requests fail with it before any token is generated, so output is never silently left unconstrained.
/// </summary>
public sealed class JsonSchemaException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="keyword">The schema keyword at fault.</param>
    /// <param name="schemaPath">Where it is: a JSON pointer into the schema.</param>
    /// <param name="reason">Why it cannot be used.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public JsonSchemaException(string keyword, string schemaPath, string reason, Exception? innerException = null)
        : base($"JSON schema keyword '{keyword}' at {schemaPath}: {reason}", innerException)
    {
        Keyword = keyword;
        SchemaPath = schemaPath;
        Reason = reason;
    }

    /// <summary>The schema keyword at fault.</summary>
    public string Keyword { get; }

    /// <summary>Where the keyword is: a JSON pointer into the schema.</summary>
    public string SchemaPath { get; }

    /// <summary>Why the keyword cannot be used.</summary>
    public string Reason { get; }
}
