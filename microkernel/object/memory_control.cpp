#include "memory_control.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../lib/error.hpp"
#include "../mm/address_space.hpp"
#include "../pager/managed_memory.hpp"
#include "../mm/reclaim_queue.hpp"
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

// MemoryUnmap may only touch a task that cannot be using the page: the
// memory server itself (its own TLB entry is dropped here), or a task whose
// thread waits for this server's reply: the caller of the request being
// served (Shrink, Release, Give). Such a thread runs no user code until the
// reply comes. It may still be on its way off its CPU (on_cpu stays set
// until that CPU has switched away, and a CPU reloads CR3 before it runs
// anything else: Herald uses no PCIDs and no global user pages), so
// MemoryUnmap waits for that, retrying without the task table lock (which
// the other CPU may need to finish its switch).
constexpr u64 kSwitchingRetries = 10'000'000;

enum class UnmapCheck { Allowed, NotAllowed, Switching };

UnmapCheck may_unmap(Task& task, Thread& server)
{
    if (&task == server.task)
        return UnmapCheck::Allowed;
    // A task with several threads: the others may be running on other CPUs
    // with the page in their TLBs, and nothing would invalidate it there.
    if (task.live_threads > 1)
        return UnmapCheck::NotAllowed;
    Thread* target = task.main_thread;
    if (!target)
        return UnmapCheck::Allowed; // never started: nothing of it ran
    bool waits_for_us = __atomic_load_n(&target->ipc.awaiting_reply, __ATOMIC_ACQUIRE)
        && __atomic_load_n(&target->ipc.replier, __ATOMIC_ACQUIRE) == &server;
    if (!waits_for_us)
        return UnmapCheck::NotAllowed;
    return __atomic_load_n(&target->on_cpu, __ATOMIC_ACQUIRE) ? UnmapCheck::Switching : UnmapCheck::Allowed;
}

struct UnmapRequest {
    Thread* server;
    u64 address;
};

ErrorOr<u64> unmap_once(Thread& server, u64 task_id, u64 address)
{
    UnmapRequest request { &server, address };
    return with_address_space_of(task_id, [](Task& task, AddressSpace& space, void* context) -> ErrorOr<u64> {
        auto& request = *static_cast<UnmapRequest*>(context);
        Thread& self = *request.server;
        switch (may_unmap(task, self)) {
        case UnmapCheck::NotAllowed: return Error::Unsupported;
        case UnmapCheck::Switching: return Error::TooMany; // not yet: try again
        case UnmapCheck::Allowed: break;
        }
        auto frame = space.unmap_pager_frame(VirtualAddress(request.address));
        if (frame.is_error())
            return Error::OutOfRange; // no page of the pager's there
        if (&task == self.task) {
            x86::invalidate_page(request.address);
            count<Event::TlbFlushPage>();
        }
        return frame.value().get();
    }, &request);
}

} // namespace

MemoryControl MemoryControl::s_the;

MemoryControl& MemoryControl::the() { return s_the; }

ErrorOr<void> MemoryControl::map(u64 task_id, u64 address, u64 frame, u64 flags)
{
    if (flags & ~static_cast<u64>(abi::MapWritable | abi::MapExecutable | abi::MapZeroed))
        return Error::BadArgument;
    if (!is_managed_frame(PhysicalAddress(frame)))
        return Error::BadArgument;
    auto mapped = map_managed_frame(task_id, VirtualAddress(address), PhysicalAddress(frame), flags);
    if (mapped.is_error())
        return map_error(mapped.error());
    return {};
}

ErrorOr<u64> MemoryControl::unmap(Thread& server, u64 task_id, u64 address)
{
    for (u64 attempt = 0;; ++attempt) {
        auto result = unmap_once(server, task_id, address);
        if (result.is_error() && result.error() == Error::TooMany && attempt < kSwitchingRetries) {
            x86::pause();
            continue;
        }
        if (!result.is_error())
            return result.value();
        switch (result.error()) {
        case Error::NotFound: return Error::PeerGone;
        case Error::OutOfRange: return Error::BadAddress;
        default: return Error::NoRights;
        }
    }
}

usize MemoryControl::take_reclaimed(u64* out, usize max) { return reclaim_take(out, max); }

const PhysicalRangeSet& MemoryControl::ranges() { return managed_ranges(); }

} // namespace herald
