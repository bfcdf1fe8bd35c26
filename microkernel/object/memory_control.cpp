#include "memory_control.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../lib/error.hpp"
#include "../mm/address_space.hpp"
#include "../pager/managed_memory.hpp"
#include "../mm/reclaim_queue.hpp"
#include "../smp/page_views.hpp"
#include "../smp/tlb_shootdown.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"

namespace herald {

Error MemoryControl::map_error(Error e)
{
    switch (e) {
    case Error::PeerGone: return Error::PeerGone; // no such task (any more)
    case Error::OutOfRange: return Error::BadAddress;
    case Error::OutOfMemory: return Error::OutOfMemory;
    default: return Error::BadArgument; // already mapped, not a managed frame, a bad flag
    }
}

MemoryControl MemoryControl::s_the;

MemoryControl& MemoryControl::the() { return s_the; }

// The checks of the frame and flags are map_managed_frame's (it serves the
// ring-0 pager too).
ErrorOr<void> MemoryControl::map(u64 task_id, u64 address, u64 frame, u64 flags)
{
    auto mapped = map_managed_frame(task_id, VirtualAddress(address), PhysicalAddress(frame), flags);
    if (mapped.is_error())
        return map_error(mapped.error());
    return {};
}

// The entry goes under the space's own lock; then, with no lock held, every
// CPU that may hold a translation through it drops it (smp/tlb_shootdown.hpp):
// the task's threads may run on other CPUs, or still be on their way off
// one; and a copy the kernel makes into or out of the page through the
// physmap (an IPC payload: a PageView, mm/address_space.hpp), which looked
// the page up before the entry went, ends. Only then does the frame go back
// to the server, which may reuse it.
ErrorOr<u64> MemoryControl::unmap(Thread&, u64 task_id, u64 address)
{
    auto cleared = clear_entry(task_id, address);
    if (cleared.is_error())
        return cleared.error();
    settle(cleared.value());
    return cleared.value().frame;
}

// The root is read while the reference keeps the space (and so its root's
// value) valid.
ErrorOr<MemoryControl::Cleared> MemoryControl::clear_entry(u64 task_id, u64 address)
{
    Ref<AddressSpace> space = address_space_of(task_id);
    if (!space)
        return Error::PeerGone;
    auto frame = space->unmap_pager_frame(VirtualAddress(address));
    if (frame.is_error())
        return frame.error() == Error::PeerGone ? Error::PeerGone : Error::BadAddress;
    return Cleared { frame.value().get(), address, space->root().get() };
}

// The task may have ended since the entry went and its PML4 be reused: then
// a CPU running the new task drops one translation for nothing. A task that
// ended is not skipped: its threads may still be on their way off a CPU.
void MemoryControl::settle(const Cleared& cleared)
{
    tlb_shootdown(cleared.root, &cleared.address, 1);
    wait_for_page_views_of(cleared.frame);
}

usize MemoryControl::take_reclaimed(u64* out, usize max) { return reclaim_take(out, max); }

const PhysicalRangeSet& MemoryControl::ranges() { return managed_ranges(); }

} // namespace herald
