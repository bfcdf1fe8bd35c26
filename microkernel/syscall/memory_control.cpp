// The memory server's system calls (abi/memory.hpp): each takes its
// MemoryControl handle first; the object (object/memory_control.hpp) does
// the work, this file decodes the registers and copies to user memory.
#include "handlers.hpp"
#include "user_access.hpp"

#include "../abi/ipc.hpp"
#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/user_copy.hpp"
#include "../ipc/ipc.hpp"
#include "../lib/syscall_error.hpp"
#include "../task/task.hpp"
#include "../object/lookup.hpp"
#include "../mm/memory_inventory.hpp"
#include "../object/memory_control.hpp"
#include "../pager/managed_memory.hpp"
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

// MemoryMapReply's control handle, looked at without a reference (the
// object lives as long as the kernel: memory_control.hpp); the full look-up
// only to say why not.
ErrorOr<void> check_control(Thread& self, u64 handle)
{
    {
        Task& task = *self.task;
        task.handles_lock.lock_with_interrupts_off(); // a system call runs with interrupts off
        SpinLockGuard guard(task.handles_lock, adopt_lock, kInterruptsWereOff);
        const HandleEntry* entry;
        if (task.handles && find_unretained<MemoryControl>(*task.handles, handle, abi::RightSend, entry))
            return {};
    }
    HERALD_TRY(lookup<MemoryControl>(self, handle, abi::RightSend));
    return {};
}

// The outcome word (abi::kMapReplyPending): an aligned word of user
// memory, checked without a store (the caller sets it to kMapReplyPending
// itself). Whether it can be written is known only at the one store. The
// same range as x86::is_user_range(outcome, 8), written out: that call, out
// of line, costs the fault 10 instructions (page_fault, icount, -smp 2:
// 2,022 -> 2,032).
bool is_outcome_word(u64 outcome)
{
    return outcome % sizeof(u64) == 0 && outcome >= abi::kUserCodeBase && outcome <= abi::kUserSpaceEnd - sizeof(u64);
}

// The map's result into the outcome word: a store that may fault; false if
// it did.
bool store_outcome(u64 outcome, i64 value) { return x86::store_to_user(outcome, static_cast<u64>(value)); }

// The answer MemoryMapReply gives the fault: the page is mapped, run the
// instruction again (what the kernel's pager_resolve_fault reads): a label
// and one word, passed as constants (ipc_answer_and_receive zeroes the rest).
constexpr u64 kFaultResolvedInfo = abi::MessageInfo { abi::kPageFaultLabel, 0, false }.encode();
constexpr u64 kFaultResolved = static_cast<u64>(abi::PageFaultVerdict::Resolved);

// MemoryMapReply's arguments, all checked before anything is claimed: a
// page of user memory (map_pager_frame checks again, under the space's
// lock, with the memory view), a managed frame, known flags.
ErrorOr<void> check_map(u64 address, u64 frame, u64 flags)
{
    if (address % abi::kPageSize != 0 || address < abi::kUserCodeBase || address >= abi::kUserSpaceEnd)
        return Error::BadAddress;
    auto checked = check_managed_mapping(PhysicalAddress(frame), flags);
    if (checked.is_error())
        return MemoryControl::map_error(checked.error());
    return {};
}

// The faulting task's space: its thread waits for our answer (claimed), so
// the task, and the space, stay. A kernel thread's call has none.
ErrorOr<void> map_for(Thread& caller, u64 address, u64 frame, u64 flags)
{
    AddressSpace* space = caller.task->address_space;
    if (!space)
        return Error::PeerGone;
    auto mapped = map_checked_frame(*space, VirtualAddress(address), PhysicalAddress(frame), flags);
    if (mapped.is_error())
        return MemoryControl::map_error(mapped.error());
    return {};
}

} // namespace

// Everything that can be refused is checked before anything is done; then
// the reply right is claimed (which keeps the faulting thread, its task and
// its space until the answer), the frame mapped, and the map's result stored
// in the outcome word, the one store. Only a mapped page whose word says so
// is answered (Resolved) and followed by the receive; a map that fails gives
// the right back and returns its error, and a word that cannot be written
// after a map (the caller's bug: the memory server's is in its .bss) gives
// it back too, with abi::kMapReplyUnanswered: the server ends the fault and
// answers as before (docs/syscalls.md, "MemoryMapReply"). Never answered
// before the word says mapped: the server's other threads end the fault by
// it (docs/memory.md, "A fault in flight").
ErrorOr<u64> sys_memory_map_reply(const SyscallArgs& args)
{
    Thread& self = current_thread();
    u64 endpoint = args.arg(0), address = args.arg(2), frame = args.arg(3), flags = args.arg(4), outcome = args.arg(5);
    HERALD_TRY(check_control(self, args.arg(1)));
    HERALD_TRY(check_map(address, frame, flags));
    if (!is_outcome_word(outcome))
        return Error::BadAddress;
    Thread* caller = ipc_claim_caller(self);
    if (!caller)
        return Error::NoReply;
    auto mapped = map_for(*caller, address, frame, flags);
    if (mapped.is_error()) {
        (void)store_outcome(outcome, static_cast<i64>(to_syscall_error(mapped.error())));
        ipc_unclaim_caller(self, *caller);
        return mapped.error();
    }
    if (!store_outcome(outcome, 0)) {
        ipc_unclaim_caller(self, *caller);
        return static_cast<u64>(abi::kMapReplyUnanswered);
    }
    return ipc_answer_and_receive(self, *caller, kFaultResolvedInfo, kFaultResolved, endpoint);
}

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
