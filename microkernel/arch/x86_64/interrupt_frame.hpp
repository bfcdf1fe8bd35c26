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

// Fills `frame` with the current register values, for reports that do not
// come from an exception (panic()). Always inlined, so RSP and RBP are the
// caller's own.
[[gnu::always_inline]] inline void capture_registers(InterruptFrame& frame)
{
    asm volatile("mov %%rax, %0" : "=m"(frame.rax));
    asm volatile("mov %%rbx, %0" : "=m"(frame.rbx));
    asm volatile("mov %%rcx, %0" : "=m"(frame.rcx));
    asm volatile("mov %%rdx, %0" : "=m"(frame.rdx));
    asm volatile("mov %%rsi, %0" : "=m"(frame.rsi));
    asm volatile("mov %%rdi, %0" : "=m"(frame.rdi));
    asm volatile("mov %%rbp, %0" : "=m"(frame.rbp));
    asm volatile("mov %%rsp, %0" : "=m"(frame.rsp));
    asm volatile("mov %%r8, %0" : "=m"(frame.r8));
    asm volatile("mov %%r9, %0" : "=m"(frame.r9));
    asm volatile("mov %%r10, %0" : "=m"(frame.r10));
    asm volatile("mov %%r11, %0" : "=m"(frame.r11));
    asm volatile("mov %%r12, %0" : "=m"(frame.r12));
    asm volatile("mov %%r13, %0" : "=m"(frame.r13));
    asm volatile("mov %%r14, %0" : "=m"(frame.r14));
    asm volatile("mov %%r15, %0" : "=m"(frame.r15));
    asm volatile("mov %%cs, %0" : "=r"(frame.cs));
    asm volatile("mov %%ss, %0" : "=r"(frame.ss));
    asm volatile("pushfq; popq %0" : "=r"(frame.rflags));
}

} // namespace herald::x86
