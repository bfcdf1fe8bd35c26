#include "memory_control.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../lib/error.hpp"
#include "../mm/address_space.hpp"
#include "../pager/managed_memory.hpp"
#include "../mm/reclaim_queue.hpp"
#include "../smp/tlb_shootdown.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

// What map_managed_frame's errors mean to the memory server.
Error map_error(Error e)
{
    switch (e) {
    case Error::NotFound: return Error::PeerGone; // no such task (any more)
    case Error::OutOfRange: return Error::BadAddress;
    case Error::OutOfMemory: return Error::OutOfMemory;
    default: return Error::BadArgument; // already mapped, or not the pager's page
    }
}

// MemoryUnmap takes the entry out under the task table lock (the task
// cannot be freed meanwhile), then, with no lock held, makes every CPU that
// may hold a translation through it drop it (smp/tlb_shootdown.hpp): the
// task's threads may run on other CPUs, or still be on their way off one.
// Only then does the frame go back to the server, which may reuse it.
struct UnmapRequest {
    u64 address;
    u64 root;
};

ErrorOr<u64> unmap_entry(u64 task_id, UnmapRequest& request)
{
    return with_address_space_of(task_id, [](Task& task, AddressSpace& space, void* context) -> ErrorOr<u64> {
        auto& request = *static_cast<UnmapRequest*>(context);
        auto frame = space.unmap_pager_frame(VirtualAddress(request.address));
        if (frame.is_error())
            return Error::OutOfRange; // no page of the pager's there
        request.root = task.root.get();
        return frame.value().get();
    }, &request);
}

} // namespace

MemoryControl MemoryControl::s_the;

MemoryControl& MemoryControl::the() { return s_the; }

ErrorOr<void> MemoryControl::map(u64 task_id, u64 address, u64 frame, u64 flags)
{
    if (flags & ~static_cast<u64>(abi::MapWritable | abi::MapExecutable | abi::MapZeroed | abi::MapNotReclaimed))
        return Error::BadArgument;
    if (!is_managed_frame(PhysicalAddress(frame)))
        return Error::BadArgument;
    auto mapped = map_managed_frame(task_id, VirtualAddress(address), PhysicalAddress(frame), flags);
    if (mapped.is_error())
        return map_error(mapped.error());
    return {};
}

ErrorOr<u64> MemoryControl::unmap(Thread&, u64 task_id, u64 address)
{
    UnmapRequest request { address, 0 };
    auto frame = unmap_entry(task_id, request);
    if (frame.is_error())
        return frame.error() == Error::NotFound ? Error::PeerGone : Error::BadAddress;
    // The task may end meanwhile and its PML4 be reused: then a CPU running
    // the new task drops one translation for nothing.
    tlb_shootdown(request.root, &request.address, 1);
    return frame.value();
}

usize MemoryControl::take_reclaimed(u64* out, usize max) { return reclaim_take(out, max); }

const PhysicalRangeSet& MemoryControl::ranges() { return managed_ranges(); }

} // namespace herald
