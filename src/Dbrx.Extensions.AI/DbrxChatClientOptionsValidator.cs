using Microsoft.Extensions.Options;

namespace Dbrx.Extensions.AI;

/// <summary>
/// Validates <see cref="DbrxChatClientOptions"/> for the Options pattern (when the host starts, or when the options are
/// first read): <see cref="DbrxChatClientOptions.Validate"/>, with its checks of the model folder and its messages.
/// </summary>
internal sealed class DbrxChatClientOptionsValidator : IValidateOptions<DbrxChatClientOptions>
{
    public ValidateOptionsResult Validate(string? name, DbrxChatClientOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
