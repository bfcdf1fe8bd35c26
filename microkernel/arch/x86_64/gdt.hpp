// The Global Descriptor Table and the per-CPU Task State Segments.
//
// Long mode ignores segment bases and limits, but the GDT still decides the
// privilege level (ring 0 or 3) of code and stack, and holds the TSS that
// tells the CPU which stack to use when an interrupt arrives from ring 3
// (RSP0) or needs a known-good stack (IST, SDM Vol. 3A §6.14.5).
//
// The seed used one TSS for everything. That breaks as soon as two threads
// run on two CPUs at once, because each needs its own RSP0, so Herald keeps
// one TSS per CPU. The GDT has room for kMaxCpus of them.
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86 {

inline constexpr usize kMaxCpus = 256;

// Selector values. The order kernel code, kernel data, user data, user code
// is what SYSRET requires: it loads SS = STAR[63:48] + 8 and CS = STAR[63:48]
// + 16 (SDM Vol. 2B, SYSRET), so user data must sit just below user code.
inline constexpr u16 kKernelCodeSelector = 0x08;
inline constexpr u16 kKernelDataSelector = 0x10;
inline constexpr u16 kUserDataSelector = 0x18 | 3;
inline constexpr u16 kUserCodeSelector = 0x20 | 3;
inline constexpr u16 kFirstTssSelector = 0x28;

// Interrupt Stack Table slots (1-based, as the IDT gate names them).
enum class InterruptStack : u8 {
    None = 0,
    DoubleFault = 1,
    Nmi = 2,
    MachineCheck = 3,
};
inline constexpr usize kInterruptStackCount = 3;
inline constexpr usize kInterruptStackSize = 16 * 1024;

struct [[gnu::packed]] TaskStateSegment {
    u32 reserved0;
    u64 rsp[3];     // rsp[0] = RSP0: the stack for entries from ring 3
    u64 reserved1;
    u64 ist[7];     // ist[n-1] = IST n
    u64 reserved2;
    u16 reserved3;
    u16 io_map_base; // where the I/O permission bitmap starts (right after this structure)
};
static_assert(sizeof(TaskStateSegment) == 104, "SDM Vol. 3A Figure 8-11: the 64-bit TSS is 104 bytes");

// The top of each IST stack of one CPU (index = slot - 1).
struct InterruptStackTops {
    u64 top[kInterruptStackCount];
};

// Builds the GDT (shared by all CPUs) and loads it on this CPU, then loads
// the TSS of `cpu_index` with its interrupt stacks.
void load_gdt_and_tss(usize cpu_index, const InterruptStackTops& stacks);

inline constexpr usize kIoBitmapPorts = 1024;

// A TSS followed by its I/O permission bitmap: one bit per port, 1 =
// denied. The byte after the bitmap must be all ones (SDM Vol. 3A §20.5.2).
// In the header so that the scheduler's switch reaches it inline.
struct [[gnu::packed]] TssWithIoBitmap {
    TaskStateSegment tss;
    u8 io_bitmap[kIoBitmapPorts / 8];
    u8 io_bitmap_end;
    u16 window_first; // the ports open now (not part of what the CPU reads)
    u16 window_count;
};
extern TssWithIoBitmap g_tss[kMaxCpus];

inline TaskStateSegment& tss_of(usize cpu_index) { return g_tss[cpu_index].tss; }

// I/O ports ring 3 may use on this CPU (SDM Vol. 3A §20.5.2): the TSS's I/O
// permission bitmap covers ports 0 to kIoBitmapPorts - 1, all denied but
// [first, first + count). The scheduler sets it for the thread it switches
// to (the console server owns COM1); count 0 denies everything. The bitmap
// is rewritten only when the window differs from the one it holds now
// (compared with what this CPU's bitmap was last set to, not with the
// previous thread's task: the bitmap itself is the truth), which on most
// switches (two tasks without ports) it does not.
void rewrite_io_port_window(usize cpu_index, u16 first, u16 count);
inline void set_io_port_window(usize cpu_index, u16 first, u16 count)
{
    TssWithIoBitmap& block = g_tss[cpu_index];
    if (__builtin_expect(block.window_first != first || block.window_count != count, false))
        rewrite_io_port_window(cpu_index, first, count);
}

} // namespace herald::x86
