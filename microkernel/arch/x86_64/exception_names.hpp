// The names of the CPU's exceptions (SDM Vol. 3A Table 6-1), for the kernel's
// reports and for programs that explain a killed task's status
// (user/runtime/task_status.hpp). Portable: no kernel state.
#pragma once

#include <stdint.h>

namespace herald::x86 {

struct ExceptionDescription {
    const char* mnemonic;
    const char* name;
};

inline constexpr uint64_t kExceptionNameCount = 32;

// SDM Vol. 3A Table 6-1.
inline constexpr ExceptionDescription kExceptionNames[kExceptionNameCount] = {
    { "#DE", "divide error" }, { "#DB", "debug" }, { "NMI", "non-maskable interrupt" },
    { "#BP", "breakpoint" }, { "#OF", "overflow" }, { "#BR", "bound range exceeded" },
    { "#UD", "invalid opcode" }, { "#NM", "device not available" }, { "#DF", "double fault" },
    { "#09", "coprocessor segment overrun" }, { "#TS", "invalid TSS" },
    { "#NP", "segment not present" }, { "#SS", "stack-segment fault" },
    { "#GP", "general protection" }, { "#PF", "page fault" }, { "#15", "reserved" },
    { "#MF", "x87 floating-point error" }, { "#AC", "alignment check" },
    { "#MC", "machine check" }, { "#XM", "SIMD floating-point exception" },
    { "#VE", "virtualization exception" }, { "#CP", "control protection" },
    { "#22", "reserved" }, { "#23", "reserved" }, { "#24", "reserved" }, { "#25", "reserved" },
    { "#26", "reserved" }, { "#27", "reserved" }, { "#HV", "hypervisor injection" },
    { "#VC", "VMM communication" }, { "#SX", "security exception" }, { "#31", "reserved" },
};

// "IRQ" / "interrupt" for vectors above the exceptions.
constexpr const char* exception_mnemonic(uint64_t vector)
{
    return vector < kExceptionNameCount ? kExceptionNames[vector].mnemonic : "IRQ";
}

constexpr const char* exception_name(uint64_t vector)
{
    return vector < kExceptionNameCount ? kExceptionNames[vector].name : "interrupt";
}

} // namespace herald::x86
