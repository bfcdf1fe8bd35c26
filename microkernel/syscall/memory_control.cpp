// The memory server's system calls (abi/memory.hpp): each takes its
// MemoryControl handle first; the object (object/memory_control.hpp) does
// the work, this file decodes the registers and copies to user memory.
#include "handlers.hpp"
#include "user_access.hpp"

#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../object/lookup.hpp"
#include "../mm/memory_inventory.hpp"
#include "../object/memory_control.hpp"
#include "../sched/scheduler.hpp"

namespace herald {

namespace {

// Most entries one MemoryReclaim hands out (kept on the kernel stack).
constexpr u64 kMaxReclaimBatch = 256;

// Argument 1 of each: the caller's MemoryControl handle.
ErrorOr<Ref<MemoryControl>> control_of(const SyscallArgs& args)
{
    return lookup<MemoryControl>(current_thread(), args.arg(0), abi::RightSend);
}

} // namespace

ErrorOr<u64> sys_memory_map(const SyscallArgs& args)
{
    auto control = HERALD_TRY(control_of(args));
    HERALD_TRY(control->map(args.arg(1), args.arg(2), args.arg(3), args.arg(4)));
    return 0u;
}

ErrorOr<u64> sys_memory_unmap(const SyscallArgs& args)
{
    auto control = HERALD_TRY(control_of(args));
    return control->unmap(current_thread(), args.arg(1), args.arg(2));
}

// The destination is checked before anything is taken from the queue, so
// that a bad buffer loses no frame.
ErrorOr<u64> sys_memory_reclaim(const SyscallArgs& args)
{
    auto control = HERALD_TRY(control_of(args));
    u64 out = args.arg(1), max = args.arg(2);
    if (max > kMaxReclaimBatch)
        return Error::BadLength;
    u64 entries[kMaxReclaimBatch] = {};
    if (!copy_to_user_paged(out, entries, max * sizeof(u64)))
        return Error::BadAddress;
    usize count = control->take_reclaimed(entries, max);
    if (!copy_to_user_paged(out, entries, count * sizeof(u64)))
        return Error::BadAddress; // cannot happen: the pages were just written
    return count;
}

ErrorOr<u64> sys_memory_ranges(const SyscallArgs& args)
{
    auto control = HERALD_TRY(control_of(args));
    u64 out = args.arg(1), max = args.arg(2);
    const PhysicalRangeSet& ranges = control->ranges();
    if (max < ranges.count())
        return Error::BadLength;
    for (usize i = 0; i < ranges.count(); ++i) {
        abi::ManagedRange range { ranges[i].base.get(), ranges[i].length / abi::kPageSize };
        if (!copy_to_user_paged(out + i * sizeof(range), &range, sizeof(range)))
            return Error::BadAddress;
    }
    return ranges.count();
}

} // namespace herald
