namespace Dbrx.Inference.Generation.PrefixCache;

/// <summary>A change to the prefix cache's slots that <see cref="PrefixBlockIndex"/> asks for; the store applies them in order.</summary>
internal abstract record PrefixBlockOperation
{
    /// <summary>Copy the positions <paramref name="FirstToken"/>.. (one block) of the stored sequence's cache row into device slot <paramref name="DeviceSlot"/>.</summary>
    public sealed record Save(int FirstToken, int DeviceSlot) : PrefixBlockOperation;

    /// <summary>Copy device slot <paramref name="DeviceSlot"/> into host slot <paramref name="HostSlot"/> (the device slot is then reused).</summary>
    public sealed record Demote(int DeviceSlot, int HostSlot) : PrefixBlockOperation;
}
