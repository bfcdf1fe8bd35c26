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

// I/O ports ring 3 may use (SDM Vol. 3A §20.5.2): each CPU's TSS carries an
// I/O permission bitmap for all 65,536 ports, every port denied but those of
// the task running there. A task's ports are an IoPortSet: a few ranges
// (the console's COM1; the IoPortRange handles it enabled,
// object/io_port_range.hpp). The scheduler loads the next thread's set at
// every switch; `stamp` names the set's contents, unique for the life of the
// system, so that the common case (nobody's ports, before and after) is one
// comparison, and a CPU never trusts a stale bitmap (a set that changed, or
// a freed task's slot reused by another).
inline constexpr usize kIoPorts = 65536;

struct IoPortSet {
    static constexpr usize kMaxRanges = 8;
    struct Range {
        u16 first;
        u16 last;
    };
    u64 stamp { 0 }; // 0: no ports at all
    u32 count { 0 };
    Range ranges[kMaxRanges] {};

    bool allows(u16 first, u16 last) const;
    // Adds [first, last] (first <= last); false when all kMaxRanges are
    // taken and the range is not already covered. Gives the set a new stamp.
    bool add(u16 first, u16 last);
};

// A TSS followed by its I/O permission bitmap: one bit per port, 1 =
// denied. The byte after the bitmap must be all ones (SDM Vol. 3A §20.5.2).
// In the header so that the scheduler's switch reaches it inline.
struct [[gnu::packed]] TssWithIoBitmap {
    TaskStateSegment tss;
    u8 io_bitmap[kIoPorts / 8];
    u8 io_bitmap_end;
    IoPortSet loaded; // the ports open now (not part of what the CPU reads)
};
extern TssWithIoBitmap g_tss[kMaxCpus];

inline TaskStateSegment& tss_of(usize cpu_index) { return g_tss[cpu_index].tss; }

// Rewrites `cpu_index`'s bitmap to `ports`: out of line, so that the
// switch's common case does not pay for its registers.
void reload_io_ports(usize cpu_index, const IoPortSet& ports);

// Loads `ports` into `cpu_index`'s TSS bitmap unless it is there already.
inline void load_io_ports(usize cpu_index, const IoPortSet& ports)
{
    if (__builtin_expect(g_tss[cpu_index].loaded.stamp != ports.stamp, false))
        reload_io_ports(cpu_index, ports);
    // else the common case: nobody's ports, before and after
}

} // namespace herald::x86
