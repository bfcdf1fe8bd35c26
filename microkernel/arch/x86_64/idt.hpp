// The Interrupt Descriptor Table: where the CPU goes on each vector.
#pragma once

#include "exception_names.hpp"

#include "../../lib/types.hpp"

namespace herald::x86 {

inline constexpr usize kExceptionVectors = 32;
inline constexpr u64 kVectorNmi = 2;
inline constexpr u64 kVectorMachineCheck = 18;
inline constexpr usize kVectorCount = 256;

struct InterruptFrame;
using InterruptHandler = void (*)(InterruptFrame& frame);

// Fills the IDT (once) and loads it on this CPU. Exceptions go to the panic
// report; #DF, NMI and #MC run on their own IST stacks, so a kernel stack
// overflow still produces a report instead of a triple fault. Other vectors
// go to the handler registered for them.
void install_idt();
void load_idt();

// Registers the handler of an interrupt vector (>= 32). The handler runs
// with interrupts disabled; the local APIC's EOI is sent after it returns.
void set_interrupt_handler(u8 vector, InterruptHandler handler);

// exception_mnemonic() and exception_name() ("#PF", "page fault") are in
// exception_names.hpp, shared with user space.

} // namespace herald::x86
