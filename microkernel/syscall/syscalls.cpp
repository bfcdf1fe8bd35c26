// System-call dispatch: one table from numbers to handlers
// (handlers.hpp), and the basic calls themselves. Each handler checks every
// argument and returns a value or an Error; the result is encoded into RAX
// here, once (lib/syscall_error.hpp). None of them can be made to crash the
// kernel.
#include "syscalls.hpp"

#include "../abi/syscalls.hpp"
#include "../abi/task.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/gdt.hpp"
#include "../arch/x86_64/syscall_abi.hpp"
#include "../lib/syscall_error.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../arch/x86_64/user_copy.hpp"
#include "../ipc/ipc.hpp"
#include "handlers.hpp"
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

} // namespace

// Not inlined: its buffer must not sit in the frame of every system call.
[[gnu::noinline]] ErrorOr<u64> sys_debug_write(const SyscallArgs& args)
{
    u64 text = args.arg(0), length = args.arg(1);
    if (length > abi::kMaxDebugWrite)
        return Error::BadLength;
    char buffer[abi::kMaxDebugWrite];
    if (!copy_from_user_paged(buffer, text, length))
        return Error::BadAddress;
    // One line of the kernel log, and never a forged one: control
    // characters (newlines included) are shown as '.'.
    for (usize i = 0; i < length; ++i) {
        if (static_cast<u8>(buffer[i]) < 0x20 || buffer[i] == 0x7F)
            buffer[i] = '.';
    }
    Task& task = *current_thread().task;
    klog("[{} {}] {}", task.id, task.name_view(), StringView(buffer, length));
    return length;
}

ErrorOr<u64> sys_yield(const SyscallArgs&)
{
    scheduler_yield();
    return 0u;
}

ErrorOr<u64> sys_sleep(const SyscallArgs& args)
{
    u64 milliseconds = args.arg(0);
    if (milliseconds > abi::kMaxSleepMs)
        return Error::BadArgument;
    scheduler_sleep_ms(milliseconds);
    return 0u;
}

ErrorOr<u64> sys_exit(const SyscallArgs& args) { exit_current_task(static_cast<i64>(args.arg(0)), false); }

ErrorOr<u64> sys_self_info(const SyscallArgs& args)
{
    Thread& thread = current_thread();
    abi::SelfInfo info { thread.task->id, thread.id, this_processor().index, processor_count(),
        tsc::ms_since_boot().value(), tsc::ticks_per_ms().value() };
    if (!copy_to_user_paged(args.arg(0), &info, sizeof(info)))
        return Error::BadAddress;
    return 0u;
}

ErrorOr<u64> sys_null(const SyscallArgs&) { return 0u; }

// One CPU's kernel event counters, or all CPUs' summed (stats/event_counters.hpp).
ErrorOr<u64> sys_event_counters(const SyscallArgs& args)
{
    u64 cpu = args.arg(0), out = args.arg(1), max = args.arg(2);
    if (cpu != abi::kAllCpus && cpu >= processor_count())
        return Error::BadArgument;
    if (max > abi::kEventCount)
        max = abi::kEventCount;
    EventCounters counters = cpu == abi::kAllCpus ? event_counters_sum() : event_counters_read(cpu);
    if (!copy_to_user_paged(out, counters.values, max * sizeof(u64)))
        return Error::BadAddress;
    return max;
}


namespace {

// The one table: system-call number -> handler (abi::SyscallNumber; a
// number without one is BadNumber).
constexpr usize kSyscallCount = static_cast<usize>(SyscallNumber::Count);

struct SyscallTable {
    SyscallHandler handlers[kSyscallCount] {};
    constexpr void set(SyscallNumber number, SyscallHandler handler) { handlers[static_cast<usize>(number)] = handler; }
};

constexpr SyscallTable make_table()
{
    SyscallTable table;
    table.set(SyscallNumber::DebugWrite, sys_debug_write);
    table.set(SyscallNumber::Yield, sys_yield);
    table.set(SyscallNumber::Sleep, sys_sleep);
    table.set(SyscallNumber::Exit, sys_exit);
    table.set(SyscallNumber::SelfInfo, sys_self_info);
    table.set(SyscallNumber::Null, sys_null);
    table.set(SyscallNumber::EndpointCreate, sys_endpoint_create);
    table.set(SyscallNumber::NotificationCreate, sys_notification_create);
    table.set(SyscallNumber::HandleClose, sys_handle_close);
    table.set(SyscallNumber::HandleMint, sys_handle_mint);
    table.set(SyscallNumber::SetIpcBuffer, sys_set_ipc_buffer);
    table.set(SyscallNumber::IpcSend, sys_ipc_send);
    table.set(SyscallNumber::IpcReceive, sys_ipc_receive);
    table.set(SyscallNumber::IpcCall, sys_ipc_call);
    table.set(SyscallNumber::IpcReplyReceive, sys_ipc_reply_receive);
    table.set(SyscallNumber::NotifySignal, sys_notify_signal);
    table.set(SyscallNumber::NotifyWait, sys_notify_wait);
    table.set(SyscallNumber::IpcReplySave, sys_ipc_reply_save);
    table.set(SyscallNumber::IpcReplyTo, sys_ipc_reply_to);
    table.set(SyscallNumber::MemoryMap, sys_memory_map);
    table.set(SyscallNumber::MemoryUnmap, sys_memory_unmap);
    table.set(SyscallNumber::MemoryReclaim, sys_memory_reclaim);
    table.set(SyscallNumber::MemoryRanges, sys_memory_ranges);
    table.set(SyscallNumber::MemoryMapReply, sys_memory_map_reply);
    table.set(SyscallNumber::TaskCreate, sys_task_create);
    table.set(SyscallNumber::TaskGiveHandle, sys_task_give_handle);
    table.set(SyscallNumber::TaskStart, sys_task_start);
    table.set(SyscallNumber::TaskKill, sys_task_kill);
    table.set(SyscallNumber::TaskWait, sys_task_wait);
    table.set(SyscallNumber::TaskInfo, sys_task_info);
    table.set(SyscallNumber::TaskList, sys_task_list);
    table.set(SyscallNumber::SystemShutdown, sys_system_shutdown);
    table.set(SyscallNumber::LogRead, sys_log_read);
    table.set(SyscallNumber::EventCounters, sys_event_counters);
    table.set(SyscallNumber::ServerTask, sys_server_task);
    table.set(SyscallNumber::FaultInject, sys_fault_inject);
    table.set(SyscallNumber::IoPortRestrict, sys_io_port_restrict);
    table.set(SyscallNumber::IoPortEnable, sys_io_port_enable);
    table.set(SyscallNumber::InterruptRestrict, sys_interrupt_restrict);
    table.set(SyscallNumber::InterruptBind, sys_interrupt_bind);
    table.set(SyscallNumber::InterruptAck, sys_interrupt_ack);
    table.set(SyscallNumber::DeviceMemoryRestrict, sys_device_memory_restrict);
    table.set(SyscallNumber::DeviceMemoryMap, sys_device_memory_map);
    table.set(SyscallNumber::DeviceInfo, sys_device_info);
    table.set(SyscallNumber::InterruptAllocateMsi, sys_interrupt_allocate_msi);
    table.set(SyscallNumber::ThreadCreate, sys_thread_create);
    table.set(SyscallNumber::ThreadExit, sys_thread_exit);
    table.set(SyscallNumber::ThreadJoin, sys_thread_join);
    table.set(SyscallNumber::ThreadSetPointer, sys_thread_set_pointer);
    table.set(SyscallNumber::ThreadSetStackGuard, sys_thread_set_stack_guard);
    return table;
}

constexpr SyscallTable kSyscalls = make_table();

// Any 64-bit value of RAX is checked.
ErrorOr<u64> dispatch(const SyscallArgs& args)
{
    if (args.number() >= kSyscallCount || !kSyscalls.handlers[args.number()])
        return Error::BadNumber;
    return kSyscalls.handlers[args.number()](args);
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
    // The thread that called: the same when this function returns, even if
    // the call blocked (it runs on the thread's own kernel stack).
    Thread& self = current_thread();
    // Where a call that blocks gets its result written (ipc_wake_with_status).
    self.ipc.frame = frame;
    if (!ipc_fastpath(self, syscall_number(*frame), *frame))
        set_syscall_result(*frame, encode_result(dispatch(syscall_args(*frame))));
    // Only a user thread makes system calls: the flag is its task's.
    if (__builtin_expect(__atomic_load_n(&self.task->kill_requested, __ATOMIC_ACQUIRE), false))
        kill_current_task_if_requested();
    kernel_log_tick(); // kernel lines reach the console soon, in order with what programs print
    // SYSRET to a non-canonical RIP would fault in ring 0 with the user's
    // stack (SDM Vol. 2B, SYSRET): never let that happen.
    if (frame->rip >= abi::kUserSpaceEnd || frame->rip < abi::kUserCodeBase) {
        klog("herald: task {} killed: system call returning to a bad RIP {:#x}", self.task->id, frame->rip);
        exit_current_task(abi::kKilledStatus, true);
    }
}
