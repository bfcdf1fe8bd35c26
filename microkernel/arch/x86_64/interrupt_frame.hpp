// The register state saved on an interrupt or exception, in the order
// interrupt_entry.asm pushes it (lowest address first).
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

struct InterruptFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code; // 0 for vectors where the CPU pushes none
    // Pushed by the CPU (SDM Vol. 3A §6.14.2, Figure 6-9).
    u64 rip, cs, rflags, rsp, ss;

    bool from_user_mode() const { return (cs & 3) == 3; }
};
static_assert(sizeof(InterruptFrame) == 22 * 8, "must match interrupt_entry.asm");

} // namespace herald::x86
