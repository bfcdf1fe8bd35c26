#include "user_faults.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/interrupt_frame.hpp"
#include "../log.hpp"
#include "../smp/processor.hpp"
#include "task.hpp"

namespace herald {

namespace {

constexpr u64 kVectorPageFault = 14;

// The pager hook. Today nothing resolves user page faults (user memory is
// mapped up front); the memory server will answer here, growing stacks and
// mapping heap pages (docs/architecture.md, "Status").
bool resolve_user_page_fault(Thread&, u64 /*address*/, u64 /*error_code*/) { return false; }

} // namespace

void handle_user_fault(x86::InterruptFrame& frame)
{
    Thread& thread = *this_processor().current;
    u64 address = frame.vector == kVectorPageFault ? x86::read_cr2() : 0;
    if (frame.vector == kVectorPageFault && resolve_user_page_fault(thread, address, frame.error_code))
        return;
    Task& task = *thread.task;
    klog("herald: task {} \"{}\" killed: {} {} on CPU {} at RIP={:#x} address={:#x} error={:#x}", task.id,
        task.name_view(), x86::exception_mnemonic(frame.vector), x86::exception_name(frame.vector),
        this_processor().index, frame.rip, address, frame.error_code);
    exit_current_task(-static_cast<i64>(frame.vector) - 1000, true);
}

} // namespace herald
