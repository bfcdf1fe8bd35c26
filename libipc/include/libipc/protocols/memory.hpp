// Memory: what a task asks the memory service for (docs/memory.md). Every
// task holds herald::abi::HandleMemory, badged by the kernel with its task
// id, so the service always knows who asks and nobody can ask for another.
//
//   Grow     pages         -> old end, new end of the heap. The pages are
//                             reserved and counted against free memory at
//                             once (so a later touch never runs out), and
//                             mapped, zeroed, when first touched.
//                             kOutOfMemory: not that many frames are left;
//                             InvalidRequest: the heap would pass kUserHeapLimit
//   Shrink   pages         -> new end; the frames above it are freed
//   Release  address, pages -> frames freed: drops the frames behind part
//                             of the heap (it stays reserved and reads as
//                             zeros when touched again), like madvise(DONTNEED)
//   Stats    {}            -> frames by kind (the seed's AVL kinds), and
//                             how many are promised to heaps but not mapped
//   Give     task (handle), from, to, pages, flags -> {}
//                             moves mapped pages of the caller's heap into
//                             a task that has not started yet (the loader
//                             builds programs so): afterwards the caller's
//                             pages there are reserved but empty again (it
//                             Shrinks them away). The pages go to the
//                             program window [kUserCodeBase, kUserHeapBase)
//                             or the stack region, never the heap.
//                             InvalidRequest: a page not mapped, a `from`
//                             range outside the heap, a `to` range outside
//                             those two, bad flags; Denied: the handle is not a
//                             task being built; kOutOfMemory: fewer frames
//                             are free and unpromised than pages given (the
//                             caller's emptied pages stay promised until it
//                             Shrinks them)
//   Limits   {}            -> the caller's frame limit, and how many frames
//                             count against it (heap reservation, stack
//                             pages, pages given to it)
//   SetLimit task (handle), pages -> {}
//                             lowers the frame limit of a task that has
//                             not started yet (a spawner gives a program
//                             less than the default share). InvalidRequest:
//                             0, or more than the default; Denied: not a
//                             task being built; kOverLimit: below what it
//                             holds already
//
// DMA memory (docs/drivers.md, "DMA memory"): only through the memory handle
// badged abi::kDmaAuthorityBadge, which the PCI server holds; it asks on a
// driver's behalf, as far as the driver's manifest line grants (dma=PAGES).
//   AllocateDma task, pages -> address, physical: `pages` physically
//                             contiguous frames, zeroed, mapped writable into
//                             `task` at `address` (in its DMA window,
//                             abi::kUserDmaBase), the first at `physical`.
//                             They count against the task's frame limit.
//                             Denied: not the authority's handle, or the task
//                             has ended; InvalidRequest: 0 pages, more than
//                             kMaxDmaPages, or its window is full; kOverLimit;
//                             kOutOfMemory: no run that long is free;
//                             kTooManyBlocks: kMaxDmaBlocks are out
//   ReleaseDma task       -> freed, held: once the task has ended AND its
//                             devices were stopped (bus mastering off: the
//                             caller says so by asking), its DMA frames are
//                             free again; `held` counts the frames of a task
//                             that still runs (or whose end the service has
//                             not seen yet): ask again later. Until then a
//                             dead driver's DMA frames are never reused: its
//                             device may still write them.
//
// Quota (docs/security.md): a task may hold at most its frame limit (by
// default a share of the frames free at boot). Grow and Give beyond it get
// kOverLimit; a stack page beyond it kills the task ("over its frame limit").
//
// The heap of every task starts at herald::abi::kUserHeapBase, empty.
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"
#include "microkernel/abi/memory.hpp"

namespace ipc::memory {

struct Grow {
    static constexpr uint32_t label = 1;
    struct Request {
        uint64_t pages;
    };
    struct Reply {
        uint64_t old_end;
        uint64_t new_end;
    };
};

struct Shrink {
    static constexpr uint32_t label = 2;
    struct Request {
        uint64_t pages;
    };
    struct Reply {
        uint64_t new_end;
    };
};

struct Release {
    static constexpr uint32_t label = 3;
    struct Request {
        uint64_t address;
        uint64_t pages;
    };
    struct Reply {
        uint64_t frames_freed;
    };
};

struct Stats {
    static constexpr uint32_t label = 4;
    using Request = Empty;
    struct Reply {
        uint64_t free;      // FrameKind::Free (AVL 000)
        uint64_t stack;     // 001
        uint64_t kernel;    // 010: the memory service's own (its frame table)
        uint64_t heap;      // 011
        uint64_t managed;   // all frames the service manages
        uint64_t committed; // heap pages reserved but not yet mapped
        uint64_t tasks;     // tasks it keeps a record for
        uint64_t dma;       // 100: DMA blocks, held or waiting for ReleaseDma
    };
};

struct Give {
    static constexpr uint32_t label = 5;
    struct Fields {
        uint64_t from;  // in the caller's heap
        uint64_t to;    // in the task
        uint64_t pages;
        uint64_t flags; // herald::abi::MemoryMapFlags
    };
    using Request = WithHandle<Fields>;
    using Reply = Empty;
};

struct Limits {
    static constexpr uint32_t label = 6;
    using Request = Empty;
    struct Reply {
        uint64_t limit;   // frames the caller may hold
        uint64_t charged; // frames that count against it now
    };
};

struct SetLimit {
    static constexpr uint32_t label = 7;
    struct Fields {
        uint64_t pages;
    };
    using Request = WithHandle<Fields>;
    using Reply = Empty;
};

struct AllocateDma {
    static constexpr uint32_t label = 8;
    struct Request {
        uint64_t task;
        uint64_t pages;
    };
    struct Reply {
        uint64_t address;  // in the task
        uint64_t physical; // of the first frame; the rest follow it
    };
};

struct ReleaseDma {
    static constexpr uint32_t label = 9;
    struct Request {
        uint64_t task;
    };
    struct Reply {
        uint64_t freed; // frames back in use
        uint64_t held;  // frames of the task not released (it still runs)
    };
};

using Protocol = ipc::Protocol<Grow, Shrink, Release, Stats, Give, Limits, SetLimit, AllocateDma, ReleaseDma>;

inline constexpr Error kOutOfMemory = protocol_error(0);
inline constexpr Error kOverLimit = protocol_error(1); // the task's frame limit would be passed
inline constexpr Error kTooManyBlocks = protocol_error(2); // every DMA block record is in use

// One AllocateDma at most (1 MiB: a virtqueue's rings and its buffers).
inline constexpr uint64_t kMaxDmaPages = 256;

static_assert(Protocol::is_valid);
static_assert(shape_of<Stats::Reply>() == Shape::Words);

// ---- clients ----

inline Result<Grow::Reply> grow(Transport& transport, uint64_t pages, Handle memory = herald::abi::HandleMemory)
{
    return Client<Protocol>(transport, memory).call<Grow>({ pages });
}

inline Result<Shrink::Reply> shrink(Transport& transport, uint64_t pages, Handle memory = herald::abi::HandleMemory)
{
    return Client<Protocol>(transport, memory).call<Shrink>({ pages });
}

inline Result<Release::Reply> release(Transport& transport, uint64_t address, uint64_t pages,
    Handle memory = herald::abi::HandleMemory)
{
    return Client<Protocol>(transport, memory).call<Release>({ address, pages });
}

inline Result<void> give(Transport& transport, Handle task, uint64_t from, uint64_t to, uint64_t pages, uint64_t flags,
    Handle memory = herald::abi::HandleMemory)
{
    IPC_TRY(Client<Protocol>(transport, memory).call<Give>({ { from, to, pages, flags }, task }));
    return {};
}

inline Result<Limits::Reply> limits(Transport& transport, Handle memory = herald::abi::HandleMemory)
{
    return Client<Protocol>(transport, memory).call<Limits>(Empty {});
}

inline Result<Stats::Reply> stats(Transport& transport, Handle memory = herald::abi::HandleMemory)
{
    return Client<Protocol>(transport, memory).call<Stats>(Empty {});
}

} // namespace ipc::memory
