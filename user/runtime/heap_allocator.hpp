// HeapAllocator: malloc, free, realloc and calloc for ring-3 programs, over
// a region that grows at its end (the memory protocol's heap,
// libipc/protocols/memory.hpp).
//
// Scheme. The region is a list of chunks: each span of memory the source
// handed out, extended in place when the next grant continues it (as the
// memory server's always do). A chunk is
//
//   [chunk record 16][block][block]...[block][sentinel 16]
//
// and a block is a 16-byte header followed by its payload, so every block
// and every pointer handed out is 16-byte aligned. The header holds the
// block's size and its previous neighbour's size (both in 16-byte units,
// so a block may walk to either neighbour), a free flag, and a seal: a
// 32-bit hash of the header's own address and fields. Free blocks keep the
// links of a doubly linked free list in their payload (so a block is at
// least 32 bytes); malloc takes the first free block that fits (first fit;
// freed blocks go to the front) and splits off the rest when at least a
// minimal block remains. free coalesces with both neighbours at once, so
// no two free blocks are ever adjacent, and clears the header of a block
// absorbed into a neighbour. The sentinel is a permanently used header that
// ends the walk to the right.
//
// When nothing fits, the source grows the region by whole pages, at least
// kMinGrowBytes at a time; a grant that continues the newest chunk turns its
// sentinel into free space (merged with a free last block). A free block at
// the end of the region of at least kTrimThreshold bytes is given back
// through the source's shrink() down to kMinGrowBytes (optional: the default
// shrink() refuses, and nothing changes).
//
// Misuse is refused cheaply, without touching the heap: free(nullptr) does
// nothing; a pointer that is misaligned, outside every chunk, or whose
// header does not carry a valid seal and agreeing neighbours (a pointer the
// allocator never handed out, or one into the middle of a block) is a
// ForeignPointer; a valid header marked free is a DoubleFree. Each is
// counted (misuse_count()) and the call does nothing (realloc returns
// nullptr). Sizes that would overflow (calloc's count * size, or anything
// above kMaxRequest) get nullptr without asking the source.
//
// Portable and freestanding (<stddef.h>, <stdint.h>, __builtin_mem*; no
// system calls: memory comes only through HeapSource), so the host tests
// build the same code. A HeapAllocator is constant-initialized, all zeros
// but the source pointer, and needs no constructor or destructor to run: a
// global instance is ready in .bss/.data. Not synchronized.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::user {

// The memory protocol's page size (herald::abi::kPageSize).
inline constexpr size_t kHeapPageSize = 4096;

// Where a HeapAllocator gets its memory. The default bodies refuse (not pure
// virtual: ring-3 programs have no __cxa_pure_virtual), so a program
// overrides what it supports. The destructor is protected and not virtual:
// a source is never deleted through this base (and a virtual destructor
// would need operator delete).
struct HeapSource {
    // Extends the region by `pages` pages (kHeapPageSize each), readable and
    // writable at once. On success sets old_end to the address where the new
    // pages start (the region's previous end) and returns true.
    virtual bool grow(size_t pages, uintptr_t& old_end)
    {
        (void)pages;
        (void)old_end;
        return false;
    }

    // Gives the last `pages` pages of the region back: the allocator never
    // touches them again (until a later grow() hands them out anew).
    virtual bool shrink(size_t pages)
    {
        (void)pages;
        return false;
    }

protected:
    constexpr HeapSource() = default;
    constexpr HeapSource(const HeapSource&) = default;
    constexpr HeapSource& operator=(const HeapSource&) = default;
    ~HeapSource() = default;
};

namespace heap_detail {
struct Block; // defined in heap_allocator.cpp
struct Chunk;
} // namespace heap_detail

enum class HeapMisuse : uint8_t {
    None,
    ForeignPointer, // not a block this allocator handed out (or inside one)
    DoubleFree,     // a block that is already free
};

class HeapAllocator {
public:
    static constexpr size_t kAlignment = 16;
    static constexpr size_t kMinGrowBytes = 64 * 1024;
    static constexpr size_t kTrimThreshold = 256 * 1024;
    // A chunk never grows past this (block sizes fit 32 bits of 16-byte
    // units); a grant beyond it starts a new chunk.
    static constexpr size_t kMaxChunkBytes = size_t(1) << 35;
    // The largest size malloc, calloc and realloc accept.
    static constexpr size_t kMaxRequest = kMaxChunkBytes - kHeapPageSize;

    constexpr HeapAllocator() = default;
    constexpr explicit HeapAllocator(HeapSource* source)
        : m_source(source)
    {
    }
    HeapAllocator(const HeapAllocator&) = delete;
    HeapAllocator& operator=(const HeapAllocator&) = delete;

    // Without a source (or when it refuses) nothing can be allocated. Set it
    // before the first allocation.
    void set_source(HeapSource* source) { m_source = source; }
    HeapSource* source() const { return m_source; }

    // malloc(0) returns a distinct minimal block; nullptr when out of memory.
    void* malloc(size_t size);
    // nullptr: nothing; anything else not handed out by malloc: misuse.
    void free(void* pointer);
    // realloc(nullptr, n) is malloc(n); realloc(p, 0) shrinks p to a minimal
    // block and returns it (as musl does: p stays allocated). Shrinks and
    // grows in place when it can. nullptr when out of memory (p is still
    // allocated and unchanged) or when p is misuse.
    void* realloc(void* pointer, size_t size);
    // Zeroed; nullptr if count * size overflows.
    void* calloc(size_t count, size_t size);

    // The bytes usable at `pointer` (at least what was asked for); 0 for
    // nullptr or a pointer that is not a live block (not counted as misuse).
    size_t usable_size(const void* pointer) const;

    size_t misuse_count() const { return m_misuse_count; }
    HeapMisuse last_misuse() const { return m_last_misuse; }

    // Bytes the source granted and the allocator has not given back.
    size_t heap_bytes() const { return m_heap_bytes; }
    // Bytes of live blocks, headers included, and how many there are.
    size_t bytes_in_use() const { return m_bytes_in_use; }
    size_t live_blocks() const { return m_live_blocks; }
    size_t chunk_count() const;      // O(chunks)
    size_t free_block_count() const; // O(free blocks)
    // O(blocks): every header sealed and agreeing with its neighbours, every
    // chunk ending in its sentinel, no adjacent free blocks, the free list
    // holding exactly the free blocks, and the counters right. For tests.
    bool check_consistency() const;

private:
    using Block = heap_detail::Block;
    using Chunk = heap_detail::Chunk;

    Block* find_block(const void* pointer, HeapMisuse& why) const;
    Block* checked_block(void* pointer);
    Block* find_fit(uint32_t units) const;
    bool grow_for(uint32_t units, bool hope_contiguous);
    void* take(Block* block, uint32_t units);
    Block* split(Block* block, uint32_t units);
    Block* coalesce(Block* block);
    void trim(Block* last_free);
    void push_free(Block* block);
    void remove_free(Block* block);
    void report(HeapMisuse misuse);

    HeapSource* m_source { nullptr };
    Chunk* m_chunks { nullptr };   // newest first
    Block* m_free { nullptr };     // the free list's head
    uintptr_t m_source_end { 0 };  // the region's end as the source last reported it
    size_t m_heap_bytes { 0 };
    size_t m_bytes_in_use { 0 };
    size_t m_live_blocks { 0 };
    size_t m_misuse_count { 0 };
    HeapMisuse m_last_misuse { HeapMisuse::None };
};

} // namespace herald::user
