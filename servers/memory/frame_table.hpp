// FrameTable: the memory server's record of every physical frame it manages.
//
// Scheme. One 64-bit word per frame of a contiguous physical span, in the
// format of a 4-KByte page-table entry (Intel SDM Vol. 3A, "Format of a
// Page-Table Entry that Maps a 4-KByte Page"), as the seed OS kept it:
//
//   bits 12..51  the frame's physical address
//   bits  9..11  its FrameKind, in the AVL bits the MMU ignores
//   bit   0      "present": the frame exists (it is RAM given to us)
//
// A hole in physical memory (inside the span but not RAM we were given) is
// the entry 0. These entries are the truth; everything else is derived.
//
// Finding a free frame must not scan the whole table, so a summary sits
// beside the entries: for each group of 64 frames, how many are free (a
// uint8_t), and a bitmap with one bit per group, set when that group has a
// free frame. allocate() finds the next set bit from a hint (next-fit, a
// word of 64 groups at a time, wrapping around once), then scans that one
// group's 64 entries. allocate_many() takes a batch the same way, scanning
// each group once for all the frames it takes (the memory server's per-CPU
// batches). Per-kind counters make count() O(1).
// check_consistency() recomputes the summary from the entries.
//
// All storage is handed in by the caller (init), so the table itself is a
// few words that can live in .bss. Portable and freestanding: it is built
// into the memory server, the kernel and the host tests. Not synchronized.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::memory {

// Dma (0b100): physically contiguous frames a driver's device reads and
// writes (AllocateDma); they stay Dma after the driver ends, until the PCI
// server says its devices were stopped (docs/drivers.md, "DMA memory").
enum class FrameKind : uint8_t { Free = 0b000, Stack = 0b001, Kernel = 0b010, Heap = 0b011, Dma = 0b100 };

inline constexpr uint64_t kFrameSize = 4096;

inline constexpr uint64_t kEntryExists = uint64_t(1) << 0;
inline constexpr uint64_t kKindShift = 9;
inline constexpr uint64_t kKindMask = uint64_t(7) << kKindShift;
inline constexpr uint64_t kAddressMask = 0x000F'FFFF'FFFF'F000;

class FrameTable {
public:
    // The entry's address field has 40 bits: frames at or above 2^52 cannot be recorded.
    static constexpr uint64_t kAddressLimit = uint64_t(1) << 52;
    static constexpr size_t kMaxFrameCount = kAddressLimit / kFrameSize;

    // Bytes a table for `frame_count` frames needs: entries + group counts +
    // group bitmap, rounded up to kFrameSize. 0 above kMaxFrameCount.
    static size_t storage_bytes(size_t frame_count);

    // Lays the table out in `storage` (storage_bytes(frame_count) bytes,
    // 8-byte aligned, contents arbitrary: init clears it). Covers frames
    // [first_physical, first_physical + frame_count * kFrameSize); every
    // frame starts as a hole. false (and an empty table) if first_physical is
    // unaligned, storage is null or unaligned, or the span ends above kAddressLimit.
    bool init(void* storage, uint64_t first_physical, size_t frame_count);

    // Frames [physical, physical + pages * kFrameSize) exist and are free.
    // false (and no change) if empty, unaligned, not inside the covered span,
    // or overlapping frames that already exist.
    bool add_free_range(uint64_t physical, size_t pages);

    // Takes a free frame and marks it `kind` (Stack, Kernel or Heap; Free is
    // refused). false when none is free.
    bool allocate(FrameKind kind, uint64_t& physical);
    // Takes up to `max` free frames as `kind` into `out`, in allocate()'s
    // order; how many (fewer only when fewer are free, 0 for Free).
    size_t allocate_many(FrameKind kind, uint64_t* out, size_t max);

    // Takes `pages` free frames that are physically contiguous (DMA memory:
    // a device sees physical addresses) and marks them `kind`; `physical` is
    // the first. First-fit from the bottom, skipping groups with no free
    // frame. false (no change) when pages is 0 or no such run exists.
    bool allocate_run(FrameKind kind, size_t pages, uint64_t& physical);

    // Takes the specific frame `physical`, which must be free, as `kind`
    // (the server marks its own table storage Kernel this way).
    bool claim(uint64_t physical, FrameKind kind);
    // Re-marks a frame in use as another kind in use (a heap page the loader
    // built that becomes a stack page). False for a free frame, a hole, or Free.
    bool retag(uint64_t physical, FrameKind kind);

    enum class FreeResult { Freed, NotManaged, AlreadyFree };
    // NotManaged: unaligned, outside the span, or a hole.
    FreeResult free(uint64_t physical);

    // The kind of an existing frame; false for a hole / outside / unaligned.
    bool kind_of(uint64_t physical, FrameKind& kind) const;

    size_t count(FrameKind kind) const; // O(1)
    size_t managed_frames() const;      // frames that exist (all kinds)
    uint64_t first_physical() const { return m_first_physical; }
    size_t frame_count() const { return m_frame_count; }
    uint64_t raw_entry(size_t index) const; // 0 past the end, like a hole

    // O(n): the summary and counters agree with the entries, and every
    // entry is well formed. For tests.
    bool check_consistency() const;

private:
    static constexpr size_t kKindCount = 5;

    bool index_of(uint64_t physical, size_t& index) const;
    size_t next_group_with_free(size_t start) const;
    void change_kind(size_t index, FrameKind kind);

    uint64_t* m_entries { nullptr };
    uint8_t* m_group_free { nullptr };    // free frames per group of 64
    uint64_t* m_group_bitmap { nullptr }; // bit g: group g has a free frame
    uint64_t m_first_physical { 0 };
    size_t m_frame_count { 0 };
    size_t m_group_count { 0 };
    size_t m_hint { 0 }; // group where the next allocate() starts looking
    size_t m_counts[kKindCount] {};
};

} // namespace herald::memory
