namespace Dbrx.Extensions.AI;

/// <summary>Where a <see cref="DbrxChatClient"/>'s model is: what a readiness probe reports.</summary>
public enum DbrxModelState
{
    /// <summary>Not loaded yet: the first request (or <see cref="DbrxChatClient.LoadAsync"/>) loads it.</summary>
    NotLoaded,

    /// <summary>Loading now.</summary>
    Loading,

    /// <summary>Loaded: requests run at once.</summary>
    Loaded,

    /// <summary>The last load failed (<see cref="DbrxChatClient.LoadError"/> says why); the next request tries again.</summary>
    Failed,
}
