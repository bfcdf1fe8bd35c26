// The trap interface: what the CPU-specific entry code (exceptions and
// interrupts in idt.cpp, SYSCALL in syscall_entry.asm, an application
// processor's start in smp_boot.cpp) hands to the kernel above it. arch/
// declares these and calls them; the kernel defines them (the file is named
// at each) and includes this header there, so the signatures stay checked.
// arch/ itself includes nothing of the scheduler, tasks or system calls
// (docs/architecture.md, "Layering").
#pragma once

namespace herald {

namespace x86 {
struct InterruptFrame;
}

// An exception raised by ring-3 code (task/user_faults.cpp): returns only if
// the pager resolved it and the instruction runs again.
void handle_user_fault(x86::InterruptFrame& frame);
// On the way back to ring 3 (task/task.cpp): ends the task if it was killed.
void kill_current_task_if_requested();
// An interrupt came from ring 3 (syscall/fault_control.cpp): a forced
// exception armed on the interrupted thread lands at `frame`'s RIP.
void deliver_armed_fault(x86::InterruptFrame& frame);
// After an interrupt is acknowledged (sched/scheduler.cpp): switch if due.
void scheduler_on_interrupt_exit();
// An application processor is set up (sched/scheduler.cpp): its current
// context becomes its idle thread.
[[noreturn]] void scheduler_start_application_cpu();
// Per CPU (syscall/syscalls.cpp): IA32_STAR/LSTAR/FMASK and EFER.SCE (SDM
// Vol. 3A §5.8.8), so that SYSCALL enters handle_syscall.
void syscalls_init_this_cpu();

} // namespace herald

// From syscall_entry.asm (syscall/syscalls.cpp): one system call.
extern "C" void handle_syscall(herald::x86::InterruptFrame* frame);
