// The memory server's system calls (abi/memory.hpp): each takes its
// MemoryControl handle first; the object (object/memory_control.hpp) does
// the work, this file decodes the registers and copies to user memory.
#include "memory_control.hpp"
#include "user_access.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../ipc/ipc_internal.hpp"
#include "../mm/memory_inventory.hpp"
#include "../object/memory_control.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

namespace {

using abi::SyscallError;
using abi::SyscallNumber;

constexpr i64 error(SyscallError e) { return static_cast<i64>(e); }

// Most entries one MemoryReclaim hands out (kept on the kernel stack).
constexpr u64 kMaxReclaimBatch = 256;

// The destination is checked before anything is taken from the queue, so
// that a bad buffer loses no frame.
i64 sys_reclaim(MemoryControl& control, u64 out, u64 max)
{
    if (max > kMaxReclaimBatch)
        return error(SyscallError::BadLength);
    u64 entries[kMaxReclaimBatch] = {};
    if (!copy_to_user_paged(out, entries, max * sizeof(u64)))
        return error(SyscallError::BadAddress);
    usize count = control.take_reclaimed(entries, max);
    if (!copy_to_user_paged(out, entries, count * sizeof(u64)))
        return error(SyscallError::BadAddress); // cannot happen: the pages were just written
    return static_cast<i64>(count);
}

i64 sys_ranges(MemoryControl& control, u64 out, u64 max)
{
    const PhysicalRangeSet& ranges = control.ranges();
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

bool handle_memory_syscall(u64 number, x86::InterruptFrame& frame, i64& result)
{
    switch (static_cast<SyscallNumber>(number)) {
    case SyscallNumber::MemoryMap:
    case SyscallNumber::MemoryUnmap:
    case SyscallNumber::MemoryReclaim:
    case SyscallNumber::MemoryRanges: break;
    default: return false;
    }
    auto found = lookup<MemoryControl>(current_thread(), frame.rdi, abi::RightSend);
    if (found.is_error()) {
        result = error(found.error() == Error::Unsupported ? SyscallError::NoRights : SyscallError::BadHandle);
        return true;
    }
    MemoryControl& control = *found.value();
    switch (static_cast<SyscallNumber>(number)) {
    case SyscallNumber::MemoryMap: result = control.map(frame.rsi, frame.rdx, frame.r10, frame.r8); break;
    case SyscallNumber::MemoryUnmap: result = control.unmap(current_thread(), frame.rsi, frame.rdx); break;
    case SyscallNumber::MemoryReclaim: result = sys_reclaim(control, frame.rsi, frame.rdx); break;
    default: result = sys_ranges(control, frame.rsi, frame.rdx); break;
    }
    return true;
}

} // namespace herald
