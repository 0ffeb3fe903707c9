using Dbrx.Server.Wire;
using Microsoft.AspNetCore.Http;

namespace Dbrx.Server;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the one served model.</summary>
internal static class ModelsEndpoint
{
    public static IResult List(ServedModel model) => Results.Json(new ModelList { Data = [Describe(model)] }, OpenAIJson.Wire.ModelList);

    public static IResult Get(string id, ServedModel model) => id == model.Id
        ? Results.Json(Describe(model), OpenAIJson.Wire.ModelWire)
        : NotFound(id, model).ToResult();

    /// <summary>The 404 for a model this server does not serve.</summary>
    public static OpenAIRequestException NotFound(string id, ServedModel model) =>
        new(StatusCodes.Status404NotFound, $"The model '{id}' does not exist; this server serves '{model.Id}'.", "model", "model_not_found");

    private static ModelWire Describe(ServedModel model) => new() { Id = model.Id, Created = model.Created, OwnedBy = "dbrx" };
}
