// The thread system calls (docs/syscalls.md, "Threads"): ThreadCreate,
// ThreadExit, ThreadJoin, ThreadSetPointer and ThreadSetStackGuard, on the
// caller's own task.
// This file checks the arguments and copies to and from user memory; the
// work is task/task.cpp's (thread slots, joins, the end of a task with
// several threads).
#include "handlers.hpp"

#include "../abi/syscalls.hpp"
#include "../abi/memory.hpp"
#include "../abi/task.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../mm/address_space.hpp"
#include "../smp/processor.hpp"
#include "../task/task.hpp"
#include "user_access.hpp"

namespace herald {

namespace {

// System V psABI §3.4.1: RSP is a multiple of 16 before a call; the
// runtime's thread entry (user/runtime/start.asm) realigns anyway, but a
// misaligned stack top is surely a mistake.
constexpr u64 kStackAlignment = 16;

// The entry must be code of the program: in its window, and mapped user
// and executable now (a thread that started elsewhere would only fault).
bool is_program_code(Task& task, u64 entry)
{
    if (entry < abi::kUserCodeBase || entry >= abi::kUserHeapBase || !task.address_space)
        return false;
    auto page = task.address_space->translate(VirtualAddress(entry));
    return page && page->flags.user && page->flags.executable;
}

} // namespace

// (entry, stack top, parameter, CPU or kAnyCpu) -> thread id.
ErrorOr<u64> sys_thread_create(const SyscallArgs& args)
{
    u64 entry = args.arg(0), stack_top = args.arg(1), parameter = args.arg(2), cpu = args.arg(3);
    Task& task = *current_thread().task;
    if (!is_program_code(task, entry))
        return Error::BadAddress;
    if (stack_top % kStackAlignment != 0 || stack_top <= abi::kUserCodeBase || stack_top > abi::kUserSpaceEnd)
        return Error::BadAddress;
    return create_thread_in_current_task(entry, stack_top, parameter, cpu);
}

// (value) -> does not return.
ErrorOr<u64> sys_thread_exit(const SyscallArgs& args) { exit_current_thread(static_cast<i64>(args.arg(0))); }

// (thread id, int64_t* value out) -> 0. The out pointer is checked before
// the wait, so that a bad one does not use up the joined thread's value.
ErrorOr<u64> sys_thread_join(const SyscallArgs& args)
{
    u64 thread_id = args.arg(0), out = args.arg(1);
    i64 value = 0;
    if (!copy_to_user_paged(out, &value, sizeof(value)))
        return Error::BadAddress;
    value = HERALD_TRY(join_thread(thread_id));
    if (!copy_to_user_paged(out, &value, sizeof(value)))
        return Error::BadAddress; // a sibling unmapped it meanwhile: the value is lost
    return 0u;
}

// (address or 0) -> 0: the FS base of the calling thread from now on,
// saved and loaded at each switch (sched/scheduler.cpp). Only user
// addresses: a non-canonical one would make WRMSR fault in ring 0.
ErrorOr<u64> sys_thread_set_pointer(const SyscallArgs& args)
{
    u64 address = args.arg(0);
    if (address >= abi::kUserSpaceEnd)
        return Error::BadAddress;
    Thread& self = current_thread();
    self.fs_base = address;
    x86::wrmsr(x86::kMsrFsBase, address);
    return 0u;
}

// (page address or 0) -> 0: the calling thread's stack guard from now on
// (task/user_faults.cpp). Only a page of user memory: anything else could
// never be the address of a user fault, and is surely a mistake.
ErrorOr<u64> sys_thread_set_stack_guard(const SyscallArgs& args)
{
    u64 page = args.arg(0);
    if (page % abi::kPageSize != 0 || page >= abi::kUserSpaceEnd)
        return Error::BadAddress;
    current_thread().stack_guard = page;
    return 0u;
}

} // namespace herald
