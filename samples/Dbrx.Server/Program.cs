// The OpenAI-compatible server in an ASP.NET Core application of your own: the chat client, the endpoints, and
// whatever else the application maps beside them.
//
//   dotnet run --project samples/Dbrx.Server                            a tiny random DBRX, created on first run
//   dotnet run --project samples/Dbrx.Server -- --Dbrx:ModelPath=DIR    a real checkpoint (any Dbrx:* or DbrxServer:* option)
//
// then, for example: curl http://127.0.0.1:5000/v1/models
using Dbrx.Inference.Modeling;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddDbrxChatClient(options =>
{
    builder.Configuration.GetSection("Dbrx").Bind(options);
    options.ModelPath ??= DbrxRandomCheckpoint.EnsureTinySample();
});
builder.Services.AddDbrxOpenAI(builder.Configuration.GetSection("DbrxServer"));

var app = builder.Build();
app.MapDbrxOpenAI();
app.Run();
