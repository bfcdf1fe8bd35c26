#include "panic.hpp"

#include "log.hpp"

#include "arch/x86_64/cpu.hpp"
#include "arch/x86_64/idt.hpp"
#include "arch/x86_64/interrupt_frame.hpp"
#include "arch/x86_64/qemu_exit.hpp"
#include "arch/x86_64/serial.hpp"
#include "debug/kernel_symbols.hpp"
#include "mm/layout.hpp"
#include "smp/processor.hpp"
#include "task/task.hpp"

namespace herald {

namespace {

PanicAction g_action = PanicAction::Halt;
bool g_panicking = false;

// The local APIC id of this CPU (CPUID.1:EBX[31:24]); it works before any
// per-CPU data exists, which is exactly when early panics happen.
u32 current_apic_id() { return x86::cpuid(1).ebx >> 24; }

// The per-CPU data, if GS holds it: a panic can come before SMP bring-up,
// or at a moment when GS is the user's.
const Processor* processor_from_gs()
{
    u64 gs_base = x86::rdmsr(x86::kMsrGsBase);
    if (gs_base < layout::kLowMemoryEnd || gs_base >= layout::kKernelRegionEnd + layout::kPhysmapBase)
        return nullptr;
    return reinterpret_cast<const Processor*>(gs_base);
}

void print_header(FormatSink& out, StringView reason)
{
    if (const Processor* cpu = processor_from_gs())
        format(out, "\nPANIC on CPU {} (APIC id {}): {}\n", cpu->index, current_apic_id(), reason);
    else
        format(out, "\nPANIC on CPU ? (APIC id {}, before per-CPU data): {}\n", current_apic_id(), reason);
}

void print_page_fault_details(FormatSink& out, const x86::InterruptFrame& frame)
{
    // Page-fault error code bits (SDM Vol. 3A §4.7, Figure 4-12).
    u64 code = frame.error_code;
    format(out, "  page fault: {} access, {}, {} mode{}{}\n",
        (code & 0x10) ? "instruction fetch" : ((code & 2) ? "write" : "read"),
        (code & 1) ? "protection violation" : "page not present",
        (code & 4) ? "user" : "supervisor",
        (code & 8) ? ", reserved bit set" : "",
        (code & 0x20) ? ", protection key" : "");
}

void print_registers(FormatSink& out, const x86::InterruptFrame& f)
{
    format(out, "  RIP=");
    print_symbolized(out, f.rip);
    format(out, "\n  RSP={:016x} RBP={:016x} RFLAGS={:016x}\n", f.rsp, f.rbp, f.rflags);
    format(out, "  RAX={:016x} RBX={:016x} RCX={:016x}\n", f.rax, f.rbx, f.rcx);
    format(out, "  RDX={:016x} RSI={:016x} RDI={:016x}\n", f.rdx, f.rsi, f.rdi);
    format(out, "  R8 ={:016x} R9 ={:016x} R10={:016x}\n", f.r8, f.r9, f.r10);
    format(out, "  R11={:016x} R12={:016x} R13={:016x}\n", f.r11, f.r12, f.r13);
    format(out, "  R14={:016x} R15={:016x}\n", f.r14, f.r15);
    format(out, "  CS={:04x} SS={:04x} CR0={:016x} CR2={:016x}\n", f.cs, f.ss, x86::read_cr0(), x86::read_cr2());
    format(out, "  CR3={:016x} CR4={:016x}\n", x86::read_cr3(), x86::read_cr4());
}

void print_current_task(FormatSink& out)
{
    const Processor* processor = processor_from_gs();
    if (!processor) {
        format(out, "  task: none (before the scheduler started)\n");
        return;
    }
    const Processor& cpu = *processor;
    const Thread* thread = cpu.current;
    if (!thread || !thread->task) {
        format(out, "  task: none (CPU {} has no current thread yet)\n", cpu.index);
        return;
    }
    format(out, "  task: {} \"{}\", thread {} \"{}\" ({}) on CPU {}\n", thread->task->id, thread->task->name_view(),
        thread->id, StringView::from_bounded(thread->name, sizeof(thread->name)), thread->is_user ? "user" : "kernel",
        cpu.index);
}

[[noreturn]] void finish(FormatSink& out, u64 frame_pointer)
{
    print_current_task(out);
    format(out, "  backtrace ({} kernel symbols):\n", kernel_symbol_count());
    print_backtrace(out, frame_pointer);
    format(out, "end of panic report: {}\n",
        g_action == PanicAction::ExitQemu ? "exiting QEMU with the failure code" : "CPU halted");
    stop_after_failure();
}

// A fault while printing a report must not recurse forever.
void guard_against_nested_panic()
{
    x86::disable_interrupts();
    if (__atomic_exchange_n(&g_panicking, true, __ATOMIC_SEQ_CST)) {
        serial::write("\nPANIC while panicking: halting\n", 32);
        stop_after_failure();
    }
    kernel_log_take_over_for_panic(); // what was logged before comes first; nothing lands inside
}

} // namespace

void set_panic_action(PanicAction action) { g_action = action; }

void stop_after_failure()
{
    if (g_action == PanicAction::ExitQemu)
        x86::qemu_exit(x86::QemuExitCode::Failure);
    x86::halt_forever();
}

void panic_from_exception(const x86::InterruptFrame& frame)
{
    guard_against_nested_panic();
    // On this stack on purpose: a global sink may sit in data that a stack
    // overflow has just overwritten.
    serial::SerialSink out;
    char reason[96];
    BufferSink sink(reason, sizeof(reason));
    format(sink, "{} {} (vector {}) in {} mode, error code {:#x}", x86::exception_mnemonic(frame.vector),
        x86::exception_name(frame.vector), frame.vector, frame.from_user_mode() ? "user" : "kernel",
        frame.error_code);
    print_header(out, sink.view());
    if (frame.vector == 14)
        print_page_fault_details(out, frame);
    print_registers(out, frame);
    // Start the walk at the interrupted function's frame, so the faulting
    // function's caller is the first line after RIP.
    finish(out, frame.rbp);
}

void panic_with_message(StringView message)
{
    // Registers as they are on entry here (caller-saved ones may already
    // have been reused on the way); RIP is the call site of the panic.
    x86::InterruptFrame frame {};
    x86::capture_registers(frame);
    frame.rip = reinterpret_cast<u64>(__builtin_return_address(0));
    guard_against_nested_panic();
    serial::SerialSink out;
    print_header(out, message);
    print_registers(out, frame);
    finish(out, reinterpret_cast<u64>(__builtin_frame_address(0)));
}

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line)
{
    panic("assertion failed: {} at {}:{}", expression, file, line);
}

} // namespace herald
