using System.Runtime.CompilerServices;

namespace Dbrx.ConstrainedDecoding;

/// <summary>Interns <see cref="FrameStack"/>s: one object per (frame, parent) pair. Thread-safe.</summary>
internal sealed class FrameStackTable
{
    private readonly Dictionary<(Frame, FrameStack?), FrameStack> stacks = new(new PairComparer());

    public int Count
    {
        get
        {
            lock (stacks)
                return stacks.Count;
        }
    }

    public FrameStack Get(Frame top, FrameStack? parent)
    {
        lock (stacks)
        {
            if (!stacks.TryGetValue((top, parent), out FrameStack? stack))
                stacks[(top, parent)] = stack = new FrameStack(top, parent, stacks.Count);
            return stack;
        }
    }

    private sealed class PairComparer : IEqualityComparer<(Frame Top, FrameStack? Parent)>
    {
        public bool Equals((Frame Top, FrameStack? Parent) x, (Frame Top, FrameStack? Parent) y) =>
            ReferenceEquals(x.Parent, y.Parent) && x.Top.Equals(y.Top);

        public int GetHashCode((Frame Top, FrameStack? Parent) pair) =>
            HashCode.Combine(pair.Top, pair.Parent is null ? 0 : RuntimeHelpers.GetHashCode(pair.Parent));
    }
}
