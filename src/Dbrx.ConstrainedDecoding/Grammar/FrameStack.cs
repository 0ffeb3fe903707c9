namespace Dbrx.ConstrainedDecoding;

/// <summary>
/// An interned, immutable stack of frames: the frame being written and the containers around it. Equal stacks are
/// the same object (see <see cref="FrameStackTable"/>), so they compare by reference and carry cached facts (the bytes
/// needed to close them).
/// </summary>
internal sealed class FrameStack
{
    private int closeBytes = -1;
    private int closeBytesAsParent = -1;

    public FrameStack(Frame top, FrameStack? parent, int id)
    {
        Top = top;
        Parent = parent;
        Id = id;
    }

    public Frame Top { get; }

    public FrameStack? Parent { get; }

    /// <summary>A number unique within the table, for ordering and hashing sets of stacks.</summary>
    public int Id { get; }

    /// <summary>Bytes of the shortest completion of the whole document from here (see <see cref="JsonMachine"/>).</summary>
    public int CloseBytes => closeBytes >= 0 ? closeBytes : closeBytes = JsonMachine.CloseBytes(this);

    /// <summary>Bytes that finish this stack once the frame above it (its child) has completed.</summary>
    public int CloseBytesAsParent => closeBytesAsParent >= 0 ? closeBytesAsParent : closeBytesAsParent = JsonMachine.CloseBytesAsParent(this);
}
