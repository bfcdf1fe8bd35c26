#include "memory_control.hpp"
#include "user_access.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/user_copy.hpp"
#include "../ipc/ipc_internal.hpp"
#include "../mm/address_space.hpp"
#include "../mm/managed_memory.hpp"
#include "../mm/reclaim_queue.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

using abi::SyscallError;
using abi::SyscallNumber;

class MemoryControl final : public KernelObject {
public:
    MemoryControl() : KernelObject(ObjectType::MemoryControl) { }

private:
    void destroy() override { } // lives as long as the kernel
};

MemoryControl g_control;

constexpr i64 error(SyscallError e) { return static_cast<i64>(e); }

// Most entries one MemoryReclaim hands out (kept on the kernel stack).
constexpr u64 kMaxReclaimBatch = 256;

i64 map_error(Error e)
{
    switch (e) {
    case Error::NotFound: return error(SyscallError::PeerGone); // no such task (any more)
    case Error::OutOfRange: return error(SyscallError::BadAddress);
    case Error::OutOfMemory: return error(SyscallError::NoMemory);
    default: return error(SyscallError::BadArgument); // already mapped, or not the pager's page
    }
}

i64 sys_map(u64 task_id, u64 address, u64 frame, u64 flags)
{
    if (flags & ~static_cast<u64>(abi::MapWritable | abi::MapExecutable | abi::MapZeroed))
        return error(SyscallError::BadArgument);
    if (!is_managed_frame(PhysicalAddress(frame)))
        return error(SyscallError::BadArgument);
    auto mapped = map_managed_frame(task_id, VirtualAddress(address), PhysicalAddress(frame), flags);
    return mapped.is_error() ? map_error(mapped.error()) : 0;
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
    Thread* target = task.main_thread;
    if (!target)
        return UnmapCheck::Allowed; // never started: nothing of it ran
    bool waits_for_us = __atomic_load_n(&target->ipc.awaiting_reply, __ATOMIC_ACQUIRE)
        && __atomic_load_n(&target->ipc.replier, __ATOMIC_ACQUIRE) == &server;
    if (!waits_for_us)
        return UnmapCheck::NotAllowed;
    return __atomic_load_n(&target->on_cpu, __ATOMIC_ACQUIRE) ? UnmapCheck::Switching : UnmapCheck::Allowed;
}

ErrorOr<u64> unmap_once(u64 task_id, u64 address)
{
    return with_address_space_of(task_id, [](Task& task, AddressSpace& space, void* context) -> ErrorOr<u64> {
        u64 page = *static_cast<u64*>(context);
        Thread& self = current_thread();
        switch (may_unmap(task, self)) {
        case UnmapCheck::NotAllowed: return Error::Unsupported;
        case UnmapCheck::Switching: return Error::TooMany; // not yet: try again
        case UnmapCheck::Allowed: break;
        }
        auto frame = space.unmap_pager_frame(VirtualAddress(page));
        if (frame.is_error())
            return Error::OutOfRange; // no page of the pager's there
        if (&task == self.task) {
            x86::invalidate_page(page);
            count<Event::TlbFlushPage>();
        }
        return frame.value().get();
    }, &address);
}

i64 sys_unmap(u64 task_id, u64 address)
{
    for (u64 attempt = 0;; ++attempt) {
        auto result = unmap_once(task_id, address);
        if (result.is_error() && result.error() == Error::TooMany && attempt < kSwitchingRetries) {
            x86::pause();
            continue;
        }
        if (!result.is_error())
            return static_cast<i64>(result.value());
        switch (result.error()) {
        case Error::NotFound: return error(SyscallError::PeerGone);
        case Error::OutOfRange: return error(SyscallError::BadAddress);
        default: return error(SyscallError::NoRights);
        }
    }
}

// The destination is checked before anything is taken from the queue, so
// that a bad buffer loses no frame.
i64 sys_reclaim(u64 out, u64 max)
{
    if (max > kMaxReclaimBatch)
        return error(SyscallError::BadLength);
    u64 entries[kMaxReclaimBatch] = {};
    if (!copy_to_user_paged(out, entries, max * sizeof(u64)))
        return error(SyscallError::BadAddress);
    usize count = reclaim_take(entries, max);
    if (!copy_to_user_paged(out, entries, count * sizeof(u64)))
        return error(SyscallError::BadAddress); // cannot happen: the pages were just written
    return static_cast<i64>(count);
}

i64 sys_ranges(u64 out, u64 max)
{
    const PhysicalRangeSet& ranges = managed_ranges();
    if (max < ranges.count())
        return error(SyscallError::BadLength);
    for (usize i = 0; i < ranges.count(); ++i) {
        abi::ManagedRange range { ranges[i].base.get(), ranges[i].length / abi::kPageSize };
        if (!copy_to_user_paged(out + i * sizeof(range), &range, sizeof(range)))
            return error(SyscallError::BadAddress);
    }
    return static_cast<i64>(ranges.count());
}

} // namespace

KernelObject& memory_control() { return g_control; }

bool handle_memory_syscall(u64 number, x86::InterruptFrame& frame, i64& result)
{
    switch (static_cast<SyscallNumber>(number)) {
    case SyscallNumber::MemoryMap:
    case SyscallNumber::MemoryUnmap:
    case SyscallNumber::MemoryReclaim:
    case SyscallNumber::MemoryRanges: break;
    default: return false;
    }
    auto entry = lookup(current_thread(), frame.rdi, ObjectType::MemoryControl, abi::RightSend);
    if (entry.is_error()) {
        result = error(entry.error() == Error::Unsupported ? SyscallError::NoRights : SyscallError::BadHandle);
        return true;
    }
    entry.value().object->release(); // static: the reference only had to be checked
    switch (static_cast<SyscallNumber>(number)) {
    case SyscallNumber::MemoryMap: result = sys_map(frame.rsi, frame.rdx, frame.r10, frame.r8); break;
    case SyscallNumber::MemoryUnmap: result = sys_unmap(frame.rsi, frame.rdx); break;
    case SyscallNumber::MemoryReclaim: result = sys_reclaim(frame.rsi, frame.rdx); break;
    default: result = sys_ranges(frame.rsi, frame.rdx); break;
    }
    return true;
}

} // namespace herald
