// PlatformTopology: the processors and interrupt controllers the firmware
// describes, as SMP bring-up needs them. Two parsers fill it in: the ACPI
// MADT (madt.hpp) and, on machines without ACPI, the Intel MultiProcessor
// Specification's configuration table (mp_table.hpp). Everything is copied
// out of firmware memory, so the record stays valid once the tables are
// unmapped.
#pragma once

#include "../lib/error.hpp"
#include "../lib/types.hpp"

namespace herald {

// The most CPUs Herald runs on. Must equal x86::kMaxCpus
// (microkernel/arch/x86_64/gdt.hpp: one TSS per CPU); portable code does not
// include arch headers, so the kernel's bring-up code static_asserts that
// the two agree.
inline constexpr usize kMaxCpus = 256;

struct Cpu {
    u32 apic_id { 0 };
    // The kernel starts only enabled CPUs. A disabled but online-capable CPU
    // (ACPI 6.5 §5.2.12.2, Table 5.23) may be hot-added later.
    bool enabled { false };
    bool online_capable { false };
    // Only the MP table marks the bootstrap processor; the MADT does not
    // (the BSP is whichever CPU runs the kernel), so it is false there.
    bool bootstrap { false };
    // Names the CPU in the DSDT and in MADT NMI entries; 0 from the MP table.
    u32 acpi_processor_uid { 0 };
};

struct IoApic {
    u8 id { 0 };
    u32 address { 0 };
    // The first global system interrupt this I/O APIC's pin 0 delivers. The
    // MP table does not say it: there the first I/O APIC gets 0 and later
    // ones are marked unknown (the kernel reads their pin counts to decide).
    u32 gsi_base { 0 };
    bool gsi_base_known { false };
};

// MPS INTI flags, the same bits in ACPI 6.5 §5.2.12.5 (Table 5.26) and in MP
// Specification 1.4 §4.3.4 (Table 4-10): polarity in bits 0-1, trigger mode
// in bits 2-3. 0 means "conforms to the bus" (edge, active high for ISA).
inline constexpr u16 kInterruptPolarityMask = 0x3;
inline constexpr u16 kInterruptPolarityActiveHigh = 0x1;
inline constexpr u16 kInterruptPolarityActiveLow = 0x3;
inline constexpr u16 kInterruptTriggerMask = 0xC;
inline constexpr u16 kInterruptTriggerEdge = 0x4;
inline constexpr u16 kInterruptTriggerLevel = 0xC;

// An ISA IRQ that does not arrive on the identically numbered GSI, or not
// edge-triggered active high. IRQs without an override are identity-mapped.
struct InterruptOverride {
    u8 bus_irq { 0 };
    u32 gsi { 0 };
    u16 flags { 0 };
};

// Which processors' LINT pin is wired to NMI.
enum class NmiTarget : u8 {
    AllProcessors,
    AcpiProcessorUid, // the MADT names processors by ACPI UID
    ApicId,           // the MP table names them by local APIC id
};

struct LocalNmi {
    NmiTarget target { NmiTarget::AllProcessors };
    u32 processor { 0 }; // a UID or APIC id, as `target` says
    u8 lint { 0 };       // LINT0 or LINT1
    u16 flags { 0 };     // MPS INTI flags, as above
};

struct PlatformTopology {
    enum class Source : u8 { None, Acpi, MpTable };

    static constexpr usize kMaxIoApics = 16;
    static constexpr usize kMaxOverrides = 32;
    // Firmware often lists one NMI entry per processor.
    static constexpr usize kMaxLocalNmis = kMaxCpus;

    Source source { Source::None };
    u64 local_apic_address { 0 };
    // Dual 8259 PICs are present and must be masked before using the APICs.
    bool pcat_compat { false };

    Cpu cpus[kMaxCpus] {};
    usize cpu_count { 0 };
    // More CPUs than fit: the first kMaxCpus were kept, the rest dropped.
    bool cpus_truncated { false };

    IoApic io_apics[kMaxIoApics] {};
    usize io_apic_count { 0 };

    InterruptOverride overrides[kMaxOverrides] {};
    usize override_count { 0 };

    LocalNmi local_nmis[kMaxLocalNmis] {};
    usize local_nmi_count { 0 };
    bool local_nmis_truncated { false };

    // Back to empty without a temporary: the record is several KiB, too
    // much to build on a kernel stack and copy.
    void clear()
    {
        source = Source::None;
        local_apic_address = 0;
        pcat_compat = false;
        cpu_count = 0;
        cpus_truncated = false;
        io_apic_count = 0;
        override_count = 0;
        local_nmi_count = 0;
        local_nmis_truncated = false;
    }
};

// Helpers both parsers record through, so the two apply the same rules.
//
// add_cpu appends a CPU; past kMaxCpus it is dropped and cpus_truncated set.
// Duplicate: another kept CPU has the same APIC id (IPIs would be ambiguous).
// add_io_apic and add_override return TooMany when the table is full: a lost
// I/O APIC or override would misroute interrupts, so that is an error rather
// than a truncation. add_io_apic: Duplicate when another has the same id.
// add_local_nmi drops entries past kMaxLocalNmis, setting local_nmis_truncated.

inline ErrorOr<void> add_cpu(PlatformTopology& topology, const Cpu& cpu)
{
    for (usize i = 0; i < topology.cpu_count; ++i) {
        if (topology.cpus[i].apic_id == cpu.apic_id)
            return Error::Duplicate;
    }
    if (topology.cpu_count == kMaxCpus) {
        topology.cpus_truncated = true;
        return {};
    }
    topology.cpus[topology.cpu_count++] = cpu;
    return {};
}

inline ErrorOr<void> add_io_apic(PlatformTopology& topology, const IoApic& io_apic)
{
    for (usize i = 0; i < topology.io_apic_count; ++i) {
        if (topology.io_apics[i].id == io_apic.id)
            return Error::Duplicate;
    }
    if (topology.io_apic_count == PlatformTopology::kMaxIoApics)
        return Error::TooMany;
    topology.io_apics[topology.io_apic_count++] = io_apic;
    return {};
}

inline ErrorOr<void> add_override(PlatformTopology& topology, const InterruptOverride& entry)
{
    if (topology.override_count == PlatformTopology::kMaxOverrides)
        return Error::TooMany;
    topology.overrides[topology.override_count++] = entry;
    return {};
}

inline void add_local_nmi(PlatformTopology& topology, const LocalNmi& nmi)
{
    if (topology.local_nmi_count == PlatformTopology::kMaxLocalNmis) {
        topology.local_nmis_truncated = true;
        return;
    }
    topology.local_nmis[topology.local_nmi_count++] = nmi;
}

} // namespace herald
