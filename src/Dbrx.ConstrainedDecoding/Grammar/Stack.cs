using System.Runtime.CompilerServices;

namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// An interned, immutable stack of frames: the frame being written and the containers around it. Equal stacks are
/// the same object (see <see cref="StackTable"/>), so they compare by reference and carry cached facts (the bytes
/// needed to close them).
/// </summary>
internal sealed class Stack
{
    private int closeBytes = -1;
    private int closeBytesAsParent = -1;

    public Stack(Frame top, Stack? parent, int id)
    {
        Top = top;
        Parent = parent;
        Id = id;
    }

    public Frame Top { get; }

    public Stack? Parent { get; }

    /// <summary>A number unique within the table, for ordering and hashing sets of stacks.</summary>
    public int Id { get; }

    /// <summary>Bytes of the shortest completion of the whole document from here (see <see cref="JsonMachine"/>).</summary>
    public int CloseBytes => closeBytes >= 0 ? closeBytes : closeBytes = JsonMachine.CloseBytes(this);

    /// <summary>Bytes that finish this stack once the frame above it (its child) has completed.</summary>
    public int CloseBytesAsParent => closeBytesAsParent >= 0 ? closeBytesAsParent : closeBytesAsParent = JsonMachine.CloseBytesAsParent(this);
}

/// <summary>Interns stacks: one object per (frame, parent) pair. Thread-safe.</summary>
internal sealed class StackTable
{
    private readonly Dictionary<(Frame, Stack?), Stack> stacks = new(new PairComparer());

    public int Count
    {
        get
        {
            lock (stacks)
                return stacks.Count;
        }
    }

    public Stack Get(Frame top, Stack? parent)
    {
        lock (stacks)
        {
            if (!stacks.TryGetValue((top, parent), out Stack? stack))
                stacks[(top, parent)] = stack = new Stack(top, parent, stacks.Count);
            return stack;
        }
    }

    private sealed class PairComparer : IEqualityComparer<(Frame Top, Stack? Parent)>
    {
        public bool Equals((Frame Top, Stack? Parent) x, (Frame Top, Stack? Parent) y) =>
            ReferenceEquals(x.Parent, y.Parent) && x.Top.Equals(y.Top);

        public int GetHashCode((Frame Top, Stack? Parent) pair) =>
            HashCode.Combine(pair.Top, pair.Parent is null ? 0 : RuntimeHelpers.GetHashCode(pair.Parent));
    }
}
