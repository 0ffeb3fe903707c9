namespace Dbrx.Server.Wire;

/// <summary>A served model: <c>{"id", "object": "model", "created", "owned_by"}</c>.</summary>
internal sealed class ModelWire
{
    public required string Id { get; init; }
    public string Object => "model";
    public required long Created { get; init; }
    public required string OwnedBy { get; init; }
}

/// <summary><c>GET /v1/models</c>: <c>{"object": "list", "data": [...]}</c>.</summary>
internal sealed class ModelList
{
    public string Object => "list";
    public required IReadOnlyList<ModelWire> Data { get; init; }
}
