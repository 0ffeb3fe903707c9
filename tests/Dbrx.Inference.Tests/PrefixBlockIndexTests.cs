using Dbrx.Inference.Generation;
using Dbrx.Inference.Generation.PrefixCache;

namespace Dbrx.Inference.Tests;

/// <summary>
/// The prefix cache's index against a model of its slots: random stores and lookups over a small vocabulary (so
/// prefixes are shared), with the operations it returns applied to a dictionary of what each slot holds. After every
/// call each block's slot holds exactly its prefix (nothing is read after it was overwritten), no tier holds more
/// blocks than its slots, and what a lookup returns is the prompt's own prefix; with room for everything, a lookup finds
/// the longest whole-block prefix of anything stored, as a plain set of stored prefixes says. A router replaying the
/// index's events alone knows exactly which prefixes each tier holds.
/// </summary>
public sealed class PrefixBlockIndexTests
{
    private const int BlockTokens = 4;

    /// <summary>What each slot holds, as the operations say: the tokens from the sequence's start to the block's end.</summary>
    private sealed class SlotModel
    {
        public Dictionary<int, int[]> Device { get; } = [];

        public Dictionary<int, int[]> Host { get; } = [];

        public void Apply(IReadOnlyList<PrefixBlockOperation> operations, int[] stored)
        {
            foreach (PrefixBlockOperation operation in operations)
            {
                switch (operation)
                {
                    case PrefixBlockOperation.Save save:
                        Assert.Equal(0, save.FirstToken % BlockTokens);
                        Device[save.DeviceSlot] = stored[..(save.FirstToken + BlockTokens)];
                        break;
                    case PrefixBlockOperation.Demote demote:
                        Host[demote.HostSlot] = Device[demote.DeviceSlot];
                        Device.Remove(demote.DeviceSlot);
                        break;
                }
            }
        }

        public int[] Read(PrefixBlockLocation location) => (location.Tier == DbrxKvCacheMedium.Device ? Device : Host)[location.Slot];
    }

    /// <summary>What a router knows from the events alone: each block's prefix (from its parent's), and where it is held.</summary>
    private sealed class EventModel
    {
        private readonly Dictionary<ulong, int[]> prefixes = [];

        public HashSet<(DbrxKvCacheMedium, ulong)> Held { get; } = [];

        public void Apply(IReadOnlyList<DbrxKvCacheEvent> events)
        {
            foreach (DbrxKvCacheEvent e in events)
            {
                switch (e)
                {
                    case DbrxKvCacheEvent.BlockStored stored:
                        Assert.Equal(BlockTokens, stored.BlockSize);
                        Assert.Equal(stored.BlockHashes.Count * BlockTokens, stored.TokenIds.Count);
                        ulong? parent = stored.ParentBlockHash;
                        for (int i = 0; i < stored.BlockHashes.Count; i++)
                        {
                            int[] tokens = [.. stored.TokenIds.Skip(i * BlockTokens).Take(BlockTokens)];
                            // The identity is the chained hash of the tokens, as a router computes it from a prompt.
                            Assert.Equal(DbrxPrefixBlockHash.Of(parent ?? DbrxPrefixBlockHash.Root, tokens), stored.BlockHashes[i]);
                            prefixes[stored.BlockHashes[i]] = parent is ulong p ? [.. prefixes[p], .. tokens] : tokens;
                            Assert.True(Held.Add((stored.Medium, stored.BlockHashes[i])), "stored twice on one medium");
                            parent = stored.BlockHashes[i];
                        }
                        break;
                    case DbrxKvCacheEvent.BlockRemoved removed:
                        foreach (ulong hash in removed.BlockHashes)
                            Assert.True(Held.Remove((removed.Medium, hash)), "removed a block not held");
                        break;
                    case DbrxKvCacheEvent.AllBlocksCleared:
                        Held.Clear();
                        break;
                }
            }
        }

        public IEnumerable<string> Contents() =>
            Held.Select(h => $"{h.Item1}:{string.Join(',', prefixes[h.Item2])}").Order();
    }

    private static IEnumerable<string> Contents(PrefixBlockIndex index) =>
        index.Contents().Select(c => $"{c.Tier}:{string.Join(',', c.Prefix)}").Order();

    private static void CheckInvariants(PrefixBlockIndex index, SlotModel slots)
    {
        Assert.InRange(index.DeviceBlocks, 0, index.DeviceSlots);
        Assert.InRange(index.HostBlocks, 0, index.HostSlots);
        var seen = new HashSet<(DbrxKvCacheMedium, int)>();
        foreach (var (tier, slot, prefix) in index.Contents())
        {
            Assert.True(seen.Add((tier, slot)), $"two blocks in {tier} slot {slot}");
            Assert.InRange(slot, 0, (tier == DbrxKvCacheMedium.Device ? index.DeviceSlots : index.HostSlots) - 1);
            Assert.Equal(prefix, slots.Read(new PrefixBlockLocation(tier, slot)));
        }
    }

    private static int[] RandomSequence(Random random, List<int[]> earlier)
    {
        // Half the time a continuation or a variant of an earlier sequence, as chat turns and shared system prompts are.
        int[] start = earlier.Count > 0 && random.Next(2) == 0 ? earlier[random.Next(earlier.Count)] : [];
        int keep = start.Length == 0 ? 0 : random.Next(start.Length + 1);
        return [.. start.Take(keep), .. Enumerable.Range(0, random.Next(1, 20)).Select(_ => random.Next(3))];
    }

    [Theory]
    [InlineData(1, 0, 0)]
    [InlineData(2, 3, 0)]
    [InlineData(3, 2, 2)]
    [InlineData(4, 6, 4)]
    [InlineData(5, 1, 8)]
    [InlineData(6, 12, 0)]
    public void Slots_hold_what_the_index_says_under_random_stores_and_lookups(int seed, int deviceSlots, int hostSlots)
    {
        var random = new Random(seed);
        var index = new PrefixBlockIndex(BlockTokens, deviceSlots, hostSlots);
        var slots = new SlotModel();
        var events = new EventModel();
        var stored = new List<int[]>();
        for (int step = 0; step < 3000; step++)
        {
            int[] sequence = RandomSequence(random, stored);
            if (random.Next(3) > 0)
            {
                long length = random.Next(sequence.Length + 1);
                slots.Apply(index.Store(sequence, length), sequence);
                stored.Add(sequence);
            }
            else
            {
                int maxTokens = random.Next(sequence.Length + 1);
                IReadOnlyList<PrefixBlockLocation> found = index.Lookup(sequence, maxTokens);
                Assert.True(found.Count * BlockTokens <= maxTokens);
                for (int i = 0; i < found.Count; i++)
                    Assert.Equal(sequence[..((i + 1) * BlockTokens)], slots.Read(found[i]));
            }
            if (step % 500 == 499)
                index.Clear();
            CheckInvariants(index, slots);
            events.Apply(index.Events.Take());
            Assert.Equal(Contents(index), events.Contents());
        }
    }

    [Fact]
    public void With_room_for_everything_a_lookup_finds_the_longest_whole_block_prefix_stored()
    {
        var random = new Random(7);
        var index = new PrefixBlockIndex(BlockTokens, deviceSlots: 100_000, hostSlots: 0);
        var prefixes = new HashSet<string>();   // every whole-block prefix stored, as text
        var earlier = new List<int[]>();
        for (int step = 0; step < 2000; step++)
        {
            int[] sequence = RandomSequence(random, earlier);
            if (random.Next(2) == 0)
            {
                index.Store(sequence, sequence.Length);
                earlier.Add(sequence);
                for (int blocks = 1; blocks * BlockTokens <= sequence.Length; blocks++)
                    prefixes.Add(string.Join(',', sequence[..(blocks * BlockTokens)]));
            }
            else
            {
                int expected = 0;
                while ((expected + 1) * BlockTokens <= sequence.Length && prefixes.Contains(string.Join(',', sequence[..((expected + 1) * BlockTokens)])))
                    expected++;
                Assert.Equal(expected, index.Lookup(sequence, sequence.Length).Count);
            }
        }
    }

    [Fact]
    public void A_prefix_loses_its_tail_before_its_head_and_the_host_tier_keeps_what_the_device_lets_go()
    {
        var index = new PrefixBlockIndex(BlockTokens, deviceSlots: 2, hostSlots: 1);
        var slots = new SlotModel();
        int[] first = [1, 1, 1, 1, 2, 2, 2, 2];
        int[] second = [3, 3, 3, 3, 4, 4, 4, 4];
        slots.Apply(index.Store(first, first.Length), first);
        Assert.Equal(2, index.DeviceBlocks);

        // Two new blocks need both device slots: the first sequence's blocks are demoted, least recently used first (its
        // tail, then its head); the host has one slot, so the tail, a leaf, is dropped there to take the head.
        slots.Apply(index.Store(second, second.Length), second);
        CheckInvariants(index, slots);
        Assert.Equal(2, index.Lookup(second, second.Length).Count);
        Assert.Equal(DbrxKvCacheMedium.Host, Assert.Single(index.Lookup(first, first.Length)).Tier);
        Assert.Equal((2, 1), (index.DeviceBlocks, index.HostBlocks));
    }

    [Fact]
    public void The_events_say_each_move_in_order_with_a_stored_run_in_one_event()
    {
        var index = new PrefixBlockIndex(BlockTokens, deviceSlots: 2, hostSlots: 1);
        int[] first = [1, 1, 1, 1, 2, 2, 2, 2];
        int[] second = [3, 3, 3, 3, 4, 4, 4, 4];
        // The identities, chained by hand: XxHash64 of the parent's hash (8 bytes) then the tokens (4 bytes each), little-endian.
        ulong Hash(ulong parent, int[] tokens) => System.IO.Hashing.XxHash64.HashToUInt64([.. BitConverter.GetBytes(parent), .. tokens.SelectMany(BitConverter.GetBytes)]);
        ulong head = Hash(0, [1, 1, 1, 1]), tail = Hash(head, [2, 2, 2, 2]);
        ulong s1 = Hash(0, [3, 3, 3, 3]), s2 = Hash(s1, [4, 4, 4, 4]);

        index.Store(first, first.Length);
        Assert.Equal(["Stored Device [" + head + "," + tail + "] after - tokens 1,1,1,1,2,2,2,2"], Describe(index.Events.Take()));

        index.Store(second, second.Length);
        Assert.Equal(
            [
                $"Removed Device [{tail}]", $"Stored Host [{tail}] after {head} tokens 2,2,2,2",   // the tail demoted
                $"Stored Device [{s1}] after - tokens 3,3,3,3",
                $"Removed Host [{tail}]",                                                         // dropped for the head
                $"Removed Device [{head}]", $"Stored Host [{head}] after - tokens 1,1,1,1",       // the head demoted
                $"Stored Device [{s2}] after {s1} tokens 4,4,4,4",
            ],
            Describe(index.Events.Take()));
        Assert.Empty(index.Events.Take());

        index.Clear();
        Assert.IsType<DbrxKvCacheEvent.AllBlocksCleared>(Assert.Single(index.Events.Take()));
    }

    private static List<string> Describe(IReadOnlyList<DbrxKvCacheEvent> events) => [.. events.Select(e => e switch
    {
        DbrxKvCacheEvent.BlockStored s => $"Stored {s.Medium} [{string.Join(',', s.BlockHashes)}] after {s.ParentBlockHash?.ToString() ?? "-"} tokens {string.Join(',', s.TokenIds)}",
        DbrxKvCacheEvent.BlockRemoved r => $"Removed {r.Medium} [{string.Join(',', r.BlockHashes)}]",
        _ => e.GetType().Name,
    })];
}
