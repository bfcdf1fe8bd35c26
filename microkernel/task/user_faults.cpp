#include "user_faults.hpp"

#include "../abi/memory.hpp"
#include "../abi/task.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../debug/user_symbols.hpp"
#include "../log.hpp"
#include "../mm/address_space.hpp"
#include "../pager/pager.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/processor.hpp"
#include "task.hpp"

namespace herald {

namespace {

constexpr u64 kVectorPageFault = 14;

// Room for a function's name (C++ names with their parameter lists run
// long) and for a line of callers; on the faulting thread's 16 KiB kernel stack.
constexpr usize kSymbolText = 256;
constexpr usize kCallersText = 1024;

// Room for "stack overflow in thread <id> (guard page)".
constexpr usize kReasonText = 64;

// One line that says what happened and where (with the function, from the
// program's symbols in the boot archive), and one with the callers.
// `overflowed`: the thread whose stack overflowed into a guard page (0: none).
[[noreturn]] void kill_for(x86::InterruptFrame& frame, u64 address, StringView reason, u64 overflowed = 0)
{
    Task& task = *current_thread().task;
    // A fault on the IRETQ into ring 3 has a kernel RIP: nothing of the program's to name.
    bool in_user_code = frame.from_user_mode();
    char symbol[kSymbolText];
    BufferSink symbol_sink(symbol, sizeof(symbol));
    if (in_user_code)
        print_user_symbol(symbol_sink, task.name_view(), frame.rip);
    klog("herald: task {} \"{}\" killed: {} {} on CPU {} at RIP={:#x}{} address={:#x} error={:#x}{}{}", task.id,
        task.name_view(), x86::exception_mnemonic(frame.vector), x86::exception_name(frame.vector),
        this_processor().index, frame.rip, symbol_sink.view(), address, frame.error_code, reason.is_empty() ? "" : ": ",
        reason);
    char callers[kCallersText];
    BufferSink callers_sink(callers, sizeof(callers));
    if (in_user_code && print_user_backtrace(callers_sink, task.name_view(), frame.rbp) > 0)
        klog("herald: task {} \"{}\" called from {}", task.id, task.name_view(), callers_sink.view());
    u64 none = 0; // the first fault's, if two threads fault at once
    if (in_user_code && __atomic_compare_exchange_n(&task.fault_rip, &none, frame.rip, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        task.fault_address = address;
        task.overflowed_thread = overflowed;
    }
    exit_current_task(abi::fault_status(frame.vector), true);
}

// Page-fault error code bits (SDM Vol. 3A §4.7).
constexpr u64 kFaultWrite = 1u << 1;
constexpr u64 kFaultInstructionFetch = 1u << 4;

// Two threads of a task that fault on the same fresh page both ask the
// pager; the second answer is a refusal (its MemoryMap found the page
// mapped already). What counts is whether the access can succeed now:
// then the instruction is simply run again.
bool resolved_meanwhile(Task& task, u64 address, u64 error_code)
{
    if (!task.address_space || task.live_threads < 2)
        return false;
    auto page = task.address_space->translate(VirtualAddress(address));
    return page && page->flags.user && (page->flags.writable || !(error_code & kFaultWrite))
        && (page->flags.executable || !(error_code & kFaultInstructionFetch));
}

// A stack overflow names the thread: a task may have several stacks.
[[noreturn]] void kill_for_stack_overflow(x86::InterruptFrame& frame, u64 address, const Thread& thread)
{
    char reason[kReasonText];
    BufferSink sink(reason, sizeof(reason));
    format(sink, "stack overflow in thread {} (guard page)", thread.id);
    kill_for(frame, address, sink.view(), thread.id);
}

// Whether `address` is in the thread's own guard page (ThreadSetStackGuard),
// below the stack the runtime gave it: decided here, before the pager is
// asked, because the page lies in memory the pager would map (the stack
// region, user/runtime/thread.hpp).
bool in_stack_guard(const Thread& thread, u64 address)
{
    return thread.stack_guard != 0 && address - thread.stack_guard < abi::kPageSize;
}

} // namespace

void handle_user_fault(x86::InterruptFrame& frame)
{
    u64 address = frame.vector == kVectorPageFault ? x86::read_cr2() : 0;
    if (frame.vector != kVectorPageFault || !frame.from_user_mode())
        kill_for(frame, address, StringView());
    Thread& thread = current_thread();
    if (in_stack_guard(thread, address))
        kill_for_stack_overflow(frame, address, thread);
    abi::PageFaultVerdict verdict = pager_resolve_fault(thread, address, frame.error_code);
    if (verdict == abi::PageFaultVerdict::Resolved)
        return;
    if (__atomic_load_n(&thread.task->kill_requested, __ATOMIC_ACQUIRE))
        exit_current_task(abi::kKilledStatus, true); // killed while the pager worked: not the fault's doing
    if (resolved_meanwhile(*thread.task, address, frame.error_code))
        return; // a sibling thread's fault on the same page mapped it first
    if (verdict == abi::PageFaultVerdict::StackOverflow)
        kill_for_stack_overflow(frame, address, thread); // the main stack's guard (abi::kStackGuardPage)
    kill_for(frame, address, StringView(abi::page_fault_verdict_name(verdict)));
}

} // namespace herald
