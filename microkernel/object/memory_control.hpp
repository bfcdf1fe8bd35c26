// MemoryControl: the capability that makes the memory server the pager. Its
// holder (the memory server alone: the kernel grants it once, at
// bootstrap) may map managed frames into any task, unmap them, take back the
// frames of dead tasks and read the managed set (abi/memory.hpp). The kernel
// checks each request: a page of user memory outside the memory view, a
// frame of the managed set, a task that exists.
#pragma once

#include "../lib/error.hpp"
#include "../lib/types.hpp"
#include "kernel_object.hpp"

namespace herald {

struct Thread;
class PhysicalRangeSet;

class MemoryControl final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::MemoryControl;

    // MemoryMap: `frame` (managed) at `address` of task `task_id`.
    ErrorOr<void> map(u64 task_id, u64 address, u64 frame, u64 flags);
    // What map_managed_frame's errors mean to the memory server (map's,
    // and MemoryMapReply's: syscall/memory_control.cpp).
    static Error map_error(Error e);
    // MemoryUnmap, for `server`: the frame that was mapped at `address`
    // (docs/memory.md: whose pages it may touch).
    ErrorOr<u64> unmap(Thread& server, u64 task_id, u64 address);
    // unmap in two halves, for the ring-0 memory service, which settles
    // with its own lock let go (services/memory_in_kernel.cpp): the entry
    // goes (under the space's lock), then, holding no spin lock, settle()
    // returns once no CPU reaches the frame any more (a TLB entry, a view);
    // only then may the frame be reused.
    struct Cleared {
        u64 frame;   // what was mapped
        u64 address; // where
        u64 root;    // the space's PML4, for the shootdown
    };
    ErrorOr<Cleared> clear_entry(u64 task_id, u64 address);
    static void settle(const Cleared& cleared);
    // MemoryReclaim: up to `max` entries of the reclaim queue.
    usize take_reclaimed(u64* out, usize max);
    // MemoryRanges: the managed set.
    const PhysicalRangeSet& ranges();

    static MemoryControl& the();

private:
    MemoryControl() : KernelObject(kType) { }
    void destroy() override { } // lives as long as the kernel

    static MemoryControl s_the;
};

inline MemoryControl& memory_control() { return MemoryControl::the(); }

} // namespace herald
