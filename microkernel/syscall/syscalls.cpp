// The system calls themselves. Each handler takes the raw argument
// registers, checks every one of them, and returns a value or a negative
// SyscallError; none of them can be made to crash the kernel.
#include "syscalls.hpp"

#include "../abi/syscalls.hpp"
#include "../abi/task.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../arch/x86_64/user_copy.hpp"
#include "../ipc/ipc.hpp"
#include "memory_control.hpp"
#include "task_control.hpp"
#include "user_access.hpp"
#include "../log.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"

extern "C" void syscall_entry(); // arch/x86_64/syscall_entry.asm

namespace herald {

namespace {

using abi::SyscallError;
using abi::SyscallNumber;

constexpr u32 kMsrStar = 0xC0000081;
constexpr u32 kMsrLstar = 0xC0000082;
constexpr u32 kMsrFmask = 0xC0000084;
constexpr u64 kEferSyscallEnable = 1ull << 0;
// Cleared on entry: IF (no interrupts until the kernel stack is set up),
// DF (the C++ ABI expects it clear), TF (no single-stepping the kernel),
// AC (user code must not switch SMAP off for the kernel), NT (an IRETQ
// with NT set faults) and IOPL (SDM Vol. 3A §2.3).
constexpr u64 kRflagsTf = 1ull << 8, kRflagsIf = 1ull << 9, kRflagsDf = 1ull << 10;
constexpr u64 kRflagsIopl = 3ull << 12, kRflagsNt = 1ull << 14, kRflagsAc = 1ull << 18;
constexpr u64 kFmask = kRflagsTf | kRflagsIf | kRflagsDf | kRflagsIopl | kRflagsNt | kRflagsAc;

i64 error(SyscallError e) { return static_cast<i64>(e); }

// Not inlined: its buffer must not sit in the frame of every system call.
[[gnu::noinline]] i64 sys_debug_write(u64 text, u64 length)
{
    if (length > abi::kMaxDebugWrite)
        return error(SyscallError::BadLength);
    char buffer[abi::kMaxDebugWrite];
    if (!copy_from_user_paged(buffer, text, length))
        return error(SyscallError::BadAddress);
    // One line of the kernel log, and never a forged one: control
    // characters (newlines included) are shown as '.'.
    for (usize i = 0; i < length; ++i) {
        if (static_cast<u8>(buffer[i]) < 0x20 || buffer[i] == 0x7F)
            buffer[i] = '.';
    }
    Task& task = *current_thread().task;
    klog("[{} {}] {}", task.id, task.name_view(), StringView(buffer, length));
    return static_cast<i64>(length);
}

i64 sys_sleep(u64 milliseconds)
{
    if (milliseconds > abi::kMaxSleepMs)
        return error(SyscallError::BadArgument);
    scheduler_sleep_ms(milliseconds);
    return 0;
}

i64 sys_self_info(u64 out)
{
    Thread& thread = current_thread();
    abi::SelfInfo info { thread.task->id, thread.id, this_processor().index, processor_count(),
        tsc::ms_since_boot().value(), tsc::ticks_per_ms().value() };
    if (!copy_to_user_paged(out, &info, sizeof(info)))
        return error(SyscallError::BadAddress);
    return 0;
}

i64 dispatch(x86::InterruptFrame& frame)
{
    // Where a call that blocks gets its result written (ipc_wake_with_status).
    current_thread().ipc.frame = &frame;
    if (handle_ipc_syscall(frame.rax, frame))
        return static_cast<i64>(frame.rax);
    if (i64 result; handle_memory_syscall(frame.rax, frame, result))
        return result;
    if (i64 result; handle_task_syscall(frame.rax, frame, result))
        return result;
    switch (static_cast<SyscallNumber>(frame.rax)) {
    case SyscallNumber::DebugWrite: return sys_debug_write(frame.rdi, frame.rsi);
    case SyscallNumber::Yield: scheduler_yield(); return 0;
    case SyscallNumber::Sleep: return sys_sleep(frame.rdi);
    case SyscallNumber::Exit: exit_current_task(static_cast<i64>(frame.rdi), false);
    case SyscallNumber::SelfInfo: return sys_self_info(frame.rdi);
    case SyscallNumber::Null: return 0;
    case SyscallNumber::EventCounters: return sys_event_counters(frame.rdi, frame.rsi, frame.rdx);
    case SyscallNumber::Count: break;
    default: break;
    }
    return error(SyscallError::BadNumber);
}

} // namespace

void syscalls_init_this_cpu()
{
    // SYSCALL loads CS = STAR[47:32] and SS = +8; SYSRET loads SS =
    // STAR[63:48] + 8 and CS = +16 (with RPL 3): gdt.hpp orders the GDT so.
    u64 star = (static_cast<u64>(x86::kKernelDataSelector) << 48) | (static_cast<u64>(x86::kKernelCodeSelector) << 32);
    x86::wrmsr(kMsrStar, star);
    x86::wrmsr(kMsrLstar, reinterpret_cast<u64>(&syscall_entry));
    x86::wrmsr(kMsrFmask, kFmask);
    x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | kEferSyscallEnable);
}

} // namespace herald

extern "C" void handle_syscall(herald::x86::InterruptFrame* frame)
{
    using namespace herald;
    count<Event::Syscalls>();
    frame->rax = static_cast<u64>(dispatch(*frame));
    kill_current_task_if_requested();
    kernel_log_tick(); // kernel lines reach the console soon, in order with what programs print
    // SYSRET to a non-canonical RIP would fault in ring 0 with the user's
    // stack (SDM Vol. 2B, SYSRET): never let that happen.
    if (frame->rip >= abi::kUserSpaceEnd || frame->rip < abi::kUserCodeBase) {
        klog("herald: task {} killed: system call returning to a bad RIP {:#x}", current_thread().task->id, frame->rip);
        exit_current_task(abi::kKilledStatus, true);
    }
}
