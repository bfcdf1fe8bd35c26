// Fault injection (docs/reliability.md, "Fault injection"): the one system
// call an injector uses to hurt a ring-3 server the way a hardware or
// software fault would, shared by the kernel and user space.
//
//   FaultInject(fault control, FaultKind, task id, a, b) -> 0 or an error
//
// The kernel offers it only when booted with `faults=on` (a normal boot
// never can: NoRights then), and only through a FaultControl handle with
// RightSend, which the kernel gives init alone (at kFaultControlHandle) and
// init hands to the injector, keeping no copy. FaultControl with
// RightReceive also lists the tasks (TaskList), so that the injector can
// find its targets by name.
//
// Errors: BadHandle / NoRights (no FaultControl, or the switch is off),
// BadArgument (an unknown kind, register or bit; no such running task; the
// caller itself), Busy (the target's thread is on a CPU right now, or has
// never run: its saved registers are not where the kernel can change them;
// try again), BadAddress (MemoryBit: no RAM page of the task's that it may
// write there; Exception: its next instruction is not in its own RAM).
// Exception with FaultMoment::Interrupt and Disarm is never Busy: it only
// sets or clears a mark on the thread.
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class FaultKind : uint64_t {
    Check = 0,       // () -> 0: the handle works and the switch is on
    Kill = 1,        // () -> 0: the task is killed, as by TaskKill
    Exception = 2,   // (a: FaultMoment) -> 0: an instruction of the task's thread becomes HLT (a #GP there in ring 3)
    RegisterBit = 3, // (a: FaultRegister, b: bit) -> 0: one bit of its saved ring-3 register flips
    MemoryBit = 4,   // (a: user address, b: bit) -> 0: one bit of the 64-bit word at a & ~7 flips (a page it may write)
};
inline constexpr uint64_t kFaultKinds = 5;

// Exception's `a`: which instruction becomes HLT.
//  - Next: the one the thread resumes at in ring 3 (it must be off its CPU,
//    else Busy). For a server waiting for a message that is always the
//    instruction after its system call.
//  - Interrupt: armed; the instruction at which the next interrupt (the
//    timer's, a device's, an IPI) finds the thread running in ring 3, on any
//    CPU: a random instruction of the code it runs. Delivered once; the mark
//    goes with the thread when it ends.
//  - Disarm: -> 1 if the mark was still there (now cleared: no interrupt
//    caught the thread in ring 3), 0 if not (delivered, or never armed).
//    Delivery and Disarm take the mark atomically: exactly one of them gets it.
enum class FaultMoment : uint64_t { Next = 0, Interrupt = 1, Disarm = 2 };
inline constexpr uint64_t kFaultMoments = 3;

// Registers as a thread's saved ring-3 state holds them.
enum class FaultRegister : uint64_t {
    Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp, R8, R9, R10, R11, R12, R13, R14, R15, Rip, Rflags,
};
inline constexpr uint64_t kFaultRegisters = 18;

// RIP and RSP keep bit 47 and up: a flip there would make the address
// non-canonical, and a SYSRET or IRETQ to one faults in ring 0 (SDM Vol. 2B,
// SYSRET), which is the kernel's fault, not the task's. Bits 0-46 of a user
// address keep it a canonical lower-half address.
inline constexpr uint64_t kFaultAddressBits = 47;
// RFLAGS: the status flags and DF (CF 0, PF 2, AF 4, ZF 6, SF 7, DF 10,
// OF 11; SDM Vol. 1 §3.4.3). Never IF (a ring-3 thread with interrupts off
// would keep its CPU), IOPL (ring 3 would get the I/O ports), TF, NT, AC,
// VM and the rest: those are the kernel's to keep.
inline constexpr uint64_t kFaultRflagsBits = (1u << 0) | (1u << 2) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 10) | (1u << 11);

// Where init finds the FaultControl handle (faults=on only); init passes it
// to the program named kFaultInjectorProgram and closes its own.
inline constexpr uint64_t kFaultControlHandle = 4;
inline constexpr const char* kFaultInjectorProgram = "faults";

} // namespace herald::abi
