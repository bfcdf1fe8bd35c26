#include "user_faults.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../log.hpp"
#include "../mm/pager.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/processor.hpp"
#include "task.hpp"

namespace herald {

namespace {

constexpr u64 kVectorPageFault = 14;

[[noreturn]] void kill_for(x86::InterruptFrame& frame, u64 address, const char* reason)
{
    Task& task = *current_thread().task;
    klog("herald: task {} \"{}\" killed: {} {} on CPU {} at RIP={:#x} address={:#x} error={:#x}{}{}", task.id,
        task.name_view(), x86::exception_mnemonic(frame.vector), x86::exception_name(frame.vector),
        this_processor().index, frame.rip, address, frame.error_code, reason ? ": " : "", reason ? reason : "");
    exit_current_task(-static_cast<i64>(frame.vector) - 1000, true);
}

} // namespace

void handle_user_fault(x86::InterruptFrame& frame)
{
    u64 address = frame.vector == kVectorPageFault ? x86::read_cr2() : 0;
    if (frame.vector != kVectorPageFault || !frame.from_user_mode())
        kill_for(frame, address, nullptr);
    Thread& thread = current_thread();
    abi::PageFaultVerdict verdict = pager_resolve_fault(thread, address, frame.error_code);
    if (verdict == abi::PageFaultVerdict::Resolved)
        return;
    if (__atomic_load_n(&thread.task->kill_requested, __ATOMIC_ACQUIRE))
        exit_current_task(-1, true); // killed while the pager worked: not the fault's doing
    kill_for(frame, address, abi::page_fault_verdict_name(verdict));
}

} // namespace herald
