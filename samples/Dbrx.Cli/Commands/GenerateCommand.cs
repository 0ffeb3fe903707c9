using System.CommandLine;
using System.Text.Json.Nodes;
using Dbrx.Inference.Chat;
using Dbrx.Inference.Configuration;
using Dbrx.Inference.Generation;
using Dbrx.Inference.Tokenization;

namespace Dbrx.Cli.Commands;

/// <summary><c>dbrx generate</c>: one completion from a text prompt, a chat prompt or token ids, streamed to stdout.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new ModelOptions("auto");
        var sampling = new GenerationOptions();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text (encoded as ordinary text)." };
        var chat = new Option<bool>("--chat") { Description = "Treat --prompt as a user message and apply DBRX's chat template." };
        var systemPrompt = new SystemPromptOptions();
        var ids = CliOptions.TokenIds(required: false);
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end instead of streaming text." };

        var command = new Command("generate", "Generate text from a prompt or token ids (with --chat, the system prompt options apply).") { prompt, chat, ids, json };
        systemPrompt.AddTo(command);
        model.AddTo(command);
        sampling.AddTo(command);
        command.Validators.Add(result =>
        {
            // Whether each was given, not its value: reading a value that failed to parse (--token-ids -1) would throw here.
            bool hasPrompt = result.GetResult(prompt) is not null, hasIds = result.GetResult(ids) is not null;
            if (hasPrompt == hasIds)
                result.AddError("Give exactly one of --prompt and --token-ids.");
            if (result.GetValue(chat) && !hasPrompt)
                result.AddError("--chat needs --prompt.");
        });

        command.SetAction(CliAction.Run(async (parse, cancellation) =>
        {
            DbrxGenerationOptions options = sampling.Build(parse);
            options.Validate(DbrxConfigJson.Load(model.Directory(parse)).VocabSize);   // before minutes of loading
            using DbrxGenerator generator = model.StartGenerator(parse, sampling.Generator(parse));
            DbrxTokenizer tokenizer = generator.Tokenizer;

            int[] promptIds;
            if (parse.GetValue(ids) is { Length: > 0 } given)
                promptIds = given.Select(id => id > int.MaxValue ? -1 : (int)id).ToArray();
            else
            {
                string promptText = parse.GetValue(prompt)!;
                if (!options.TruncatePromptFromLeft)
                    DbrxContextFit.EnsureTextMayFit(System.Text.Encoding.UTF8.GetByteCount(promptText), sampling.MaxNewTokensGiven(parse) ? options.MaxNewTokens : 1, generator.ContextLength, tokenizer);
                promptIds = parse.GetValue(chat)
                    ? systemPrompt.Template(parse).Encode([DbrxChatMessage.User(promptText)], addGenerationPrompt: true, tokenizer, cancellation)
                    : tokenizer.Encode(promptText, cancellation);
            }

            options = sampling.FitToContext(parse, options, promptIds.Length, generator.ContextLength);
            using var interrupt = new InterruptToCancel();
            bool asJson = parse.GetValue(json);
            var generatedIds = new List<int>();
            var text = new System.Text.StringBuilder();
            GenerationUpdate? last = null;
            await foreach (GenerationUpdate update in generator.GenerateStreamingAsync(promptIds, options, interrupt.Token))
            {
                generatedIds.AddRange(update.TokenIds);
                text.Append(update.Text);
                if (!asJson)
                    Console.Write(update.Text);
                last = update;
            }
            if (asJson)
            {
                var result = new JsonObject
                {
                    ["token_ids"] = new JsonArray([.. promptIds.Concat(generatedIds).Select(id => (JsonNode)id)]),
                    ["text"] = text.ToString(),
                    ["finish_reason"] = FinishReasonName(last!.FinishReason!.Value),
                    ["usage"] = new JsonObject
                    {
                        ["prompt_tokens"] = last.Usage!.PromptTokens,
                        ["completion_tokens"] = last.Usage.CompletionTokens,
                        ["total_tokens"] = last.Usage.TotalTokens,
                    },
                    ["timings"] = new JsonObject
                    {
                        ["time_to_first_token_ms"] = Math.Round(last.Timings!.TimeToFirstToken.TotalMilliseconds, 1),
                        ["total_ms"] = Math.Round(last.Timings.Total.TotalMilliseconds, 1),
                        ["decode_tokens_per_second"] = last.Timings.DecodeTokensPerSecond is { } speed ? Math.Round(speed, 2) : null,
                    },
                };
                Console.WriteLine(CliJson.Format(result, indented: false));
            }
            else
            {
                Console.WriteLine();
                Console.Error.WriteLine(Summary(last!));
            }
            return last!.FinishReason == GenerationFinishReason.Cancelled ? 130 : 0;
        }));
        return command;
    }

    /// <summary>The line printed after an answer: how it ended and the tokens read (and taken from the cache) and written.</summary>
    internal static string Summary(GenerationUpdate last)
    {
        GenerationUsage usage = last.Usage!;
        string cached = usage.CachedPromptTokens > 0 ? $" ({usage.CachedPromptTokens} cached)" : "";
        return $"[{FinishReasonName(last.FinishReason!.Value)}; {usage.PromptTokens} prompt{cached} + {usage.CompletionTokens} generated tokens]";
    }

    internal static string FinishReasonName(GenerationFinishReason reason) => reason switch
    {
        GenerationFinishReason.EndOfTurn => "end_of_turn",
        GenerationFinishReason.StopSequence => "stop_sequence",
        GenerationFinishReason.Length => "length",
        GenerationFinishReason.Cancelled => "cancelled",
        _ => reason.ToString(),
    };
}
