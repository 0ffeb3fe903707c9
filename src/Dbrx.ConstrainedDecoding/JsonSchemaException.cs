namespace Dbrx.ConstrainedDecoding;

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
        : this(keyword, schemaPath, reason, toolName: null, innerException)
    {
    }

    /// <summary>Creates the exception for the parameter schema of a tool.</summary>
    /// <param name="keyword">The schema keyword at fault.</param>
    /// <param name="schemaPath">Where it is: a JSON pointer into the schema.</param>
    /// <param name="reason">Why it cannot be used.</param>
    /// <param name="toolName">The tool whose parameters the schema describes, or null for a response schema.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public JsonSchemaException(string keyword, string schemaPath, string reason, string? toolName, Exception? innerException = null)
        : base($"JSON schema keyword '{keyword}' at {schemaPath}: {reason}{(toolName is null ? "" : $" (in the parameters of tool '{toolName}')")}", innerException)
    {
        Keyword = keyword;
        SchemaPath = schemaPath;
        Reason = reason;
        ToolName = toolName;
    }

    /// <summary>The schema keyword at fault.</summary>
    public string Keyword { get; }

    /// <summary>Where the keyword is: a JSON pointer into the schema.</summary>
    public string SchemaPath { get; }

    /// <summary>Why the keyword cannot be used.</summary>
    public string Reason { get; }

    /// <summary>The tool whose parameter schema is at fault; null when it is the response schema.</summary>
    public string? ToolName { get; }
}
