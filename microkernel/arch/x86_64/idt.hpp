// The Interrupt Descriptor Table: where the CPU goes on each vector.
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

inline constexpr usize kExceptionVectors = 32;

// Routes the 32 exception vectors to the panic report and loads the IDT on
// this CPU. #DF, NMI and #MC run on their own IST stacks, so a kernel stack
// overflow still produces a report instead of a triple fault.
void install_idt();

// Short mnemonic and name of an exception vector ("#PF", "page fault").
const char* exception_mnemonic(u64 vector);
const char* exception_name(u64 vector);

} // namespace herald::x86
