// The memory ABI, shared by the kernel, the memory server and programs
// (docs/memory.md): where things are in a user address space, how the kernel
// asks the pager about a page fault, and the system calls that only the
// memory server may make (through its MemoryControl handle).
#pragma once

#include <stdint.h>

#include "ipc.hpp"
#include "syscalls.hpp"

namespace herald::abi {

inline constexpr uint64_t kPageSize = 4096;

// ---- a user address space ----
//
//   kUserCodeBase (0x08000000)   the program's segments (seed)
//   kUserHeapBase (1 GiB)        the heap: grows up, pages reserved by the
//                                memory protocol and mapped on first touch
//   kMemoryViewBase (64 GiB)     the memory server only: every frame it
//                                manages, at kMemoryViewBase + physical
//   kArchiveViewBase (192 GiB)   the loader only: the boot archive, read-only
//   kUserDmaBase (224 GiB)       drivers only: their DMA memory (AllocateDma)
//   kStackGuardPage              never mapped: a fault here is a stack overflow
//   kUserStackBottom             the 20 MiB stack region, grown on demand (seed)
//   kUserSpaceEnd (256 GiB)      the top of the stack; the kernel's physmap follows
inline constexpr uint64_t kUserHeapBase = 0x4000'0000;
inline constexpr uint64_t kMemoryViewBase = 0x10'0000'0000;
// The view covers physical addresses below this (the physmap's own limit).
inline constexpr uint64_t kMemoryViewSize = 0x20'0000'0000;
// The loader only: the boot archive, read-only (docs/system.md, "The loader").
inline constexpr uint64_t kArchiveViewBase = kMemoryViewBase + kMemoryViewSize; // 192 GiB
inline constexpr uint64_t kArchiveViewSize = 1ull << 30;
// DMA memory (AllocateDma, docs/drivers.md): a driver's contiguous frames
// are mapped here, one block after the other, never moved or unmapped while
// it runs.
inline constexpr uint64_t kUserDmaBase = 0x38'0000'0000; // 224 GiB
inline constexpr uint64_t kUserDmaSize = 1ull << 30;
// The badge of the one memory handle that may ask for DMA memory: the PCI
// server's (microkernel/bootstrap.cpp). A task's own memory handle carries
// its task id, and a badged handle cannot be badged again (HandleMint), so
// no task can forge it.
inline constexpr uint64_t kDmaAuthorityBadge = 1ull << 62;
// The heap may not reach the view (in any task: one layout for all).
inline constexpr uint64_t kUserHeapLimit = kMemoryViewBase;

// Seed: "A user thread is created with a 20mb stack but only the 4 pages
// are allocated".
inline constexpr uint64_t kUserStackRegionSize = 20ull << 20;
inline constexpr uint64_t kInitialStackPages = 4;
inline constexpr uint64_t kUserStackBottom = kUserSpaceEnd - kUserStackRegionSize;
inline constexpr uint64_t kStackGuardPage = kUserStackBottom - kPageSize;

// ---- page faults: kernel -> pager ----
//
// A user page fault becomes a Call on the pager's endpoint, made by the
// kernel in the faulting thread's name: label kPageFaultLabel, words
// { task id, fault address, error code (SDM Vol. 3A §4.7: bit 0 present,
// 1 write, 2 user, 4 instruction fetch) }, badge kKernelBadge. No task can
// forge it: HandleMint refuses badges with kKernelBadge's bit, and only the
// kernel hands out badged handles otherwise.
inline constexpr uint32_t kPageFaultLabel = 0x5046'0001; // "PF" 1

// The pager's answer: word 0 of the reply.
enum class PageFaultVerdict : uint64_t {
    Resolved = 0,      // a page is mapped now: run the instruction again
    Invalid = 1,       // nothing may be there: kill the task
    StackOverflow = 2, // the guard page below the stack: kill the task
    OutOfMemory = 3,   // a page may be there, but no frame is left: kill the task
    // Never sent by a pager: the kernel's own verdict when there is none
    // (no memory server, it died, or its answer made no sense).
    PagerUnavailable = 4,
    // A page may be there, but the task holds its frame limit already (the
    // memory service's per-task quota, docs/security.md): kill the task.
    OverLimit = 5,
};

inline constexpr const char* page_fault_verdict_name(PageFaultVerdict verdict)
{
    switch (verdict) {
    case PageFaultVerdict::Resolved: return "resolved";
    case PageFaultVerdict::Invalid: return "no memory is reserved there";
    case PageFaultVerdict::StackOverflow: return "stack overflow (guard page)";
    case PageFaultVerdict::OutOfMemory: return "out of memory";
    case PageFaultVerdict::PagerUnavailable: return "no pager answered";
    case PageFaultVerdict::OverLimit: return "over its frame limit";
    }
    return "unknown verdict";
}

// ---- MemoryControl: the memory server's system calls ----
//
// Only the memory server holds a MemoryControl handle (kMemoryControlHandle
// in its table). Every request is checked: the address must be a page of
// user memory outside the memory view, the frame one of the managed set.

// Flags of MemoryMap (argument 5).
enum MemoryMapFlags : uint64_t {
    MapWritable = 1u << 0,
    MapExecutable = 1u << 1,
    // The pager zeroed the frame for this mapping. It changes nothing in the
    // mapping: the kernel counts the frame as zeroed (Event::FramesZeroed),
    // since the memory server zeroes frames where the kernel cannot see it
    // (docs/benchmarks.md, "Events").
    MapZeroed = 1u << 2,
    // DMA memory (AllocateDma, docs/drivers.md): when the task ends, the
    // kernel does not hand the frame back through the reclaim queue. Its
    // device may still write it (no IOMMU, and the PCI server stops the
    // device only later), and the queue links frames through their first
    // bytes: a late completion there would send the kernel through a
    // corrupt link. The memory server frees such frames by its own books
    // (ReleaseDma). MemoryUnmap refuses them.
    MapNotReclaimed = 1u << 3,
};

// MemoryMapReply (docs/syscalls.md): the page fault's frame mapped, the
// fault answered and the next message received, in one call. The caller
// sets its outcome word to kMapReplyPending before the call (the kernel
// checks only that the word is aligned user memory: BadAddress if not,
// nothing done); once the kernel has tried the map, it stores the map's
// result there (0, or a negative SyscallError), before it answers: the
// memory server's other threads may read the word while this one waits for
// its next message, and end the fault in flight for it (docs/memory.md, "A
// fault in flight"). The store is one aligned 8-byte store: a thread reading
// the word sees the old value or the new one. A word still kMapReplyPending
// after the call: nothing was mapped, unless the call returned
// kMapReplyUnanswered: the page was mapped but the word could not be
// written, so nothing was answered or received (the caller ends the fault,
// mapped, and answers it itself).
inline constexpr int64_t kMapReplyPending = 1;
inline constexpr int64_t kMapReplyUnanswered = 1; // a status, not a word: a received message is status 0

// One range of the managed set (MemoryRanges).
struct ManagedRange {
    uint64_t base;  // physical, page-aligned
    uint64_t pages;
};

// What MemoryReclaim hands back: a frame that a dead task held (a
// page-aligned physical address), or, with bit 0 set, the id of a task that
// ended (id << 1 | 1), so that the server can forget it.
inline constexpr uint64_t kReclaimTaskBit = 1;

// The memory server's handles: its endpoint (receive) and its control.
inline constexpr uint64_t kMemoryEndpointHandle = 2;
inline constexpr uint64_t kMemoryControlHandle = 3;

} // namespace herald::abi
