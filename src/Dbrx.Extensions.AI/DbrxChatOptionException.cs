using Microsoft.Extensions.AI;

namespace Dbrx.Extensions.AI;

/// <summary>
/// A value of a request's <see cref="ChatOptions"/> that the DBRX client cannot use as given, and which member it is
/// (<see cref="OptionName"/>), so that a server in front of the client can name its own field for it.
/// </summary>
public sealed class DbrxChatOptionException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="optionName">The <see cref="ChatOptions"/> member at fault, such as <c>MaxOutputTokens</c>.</param>
    /// <param name="message">What is wrong and what would work, in the terms of <see cref="ChatOptions"/>.</param>
    public DbrxChatOptionException(string optionName, string message)
        : base(message)
    {
        OptionName = optionName;
    }

    /// <summary>The <see cref="ChatOptions"/> member at fault.</summary>
    public string OptionName { get; }
}
