#include "ioapic.hpp"

#include "../../log.hpp"
#include "../../mm/layout.hpp"
#include "paging.hpp"

namespace herald::x86::ioapic {

namespace {

// Indirect register access: write the register number to IOREGSEL, then
// read or write IOWIN (82093AA §3.0).
constexpr u32 kRegisterSelect = 0x00 / 4;
constexpr u32 kWindow = 0x10 / 4;
constexpr u32 kVersionRegister = 0x01;
constexpr u32 kRedirectionTableBase = 0x10;
constexpr u64 kMasked = 1ull << 16;
constexpr u64 kActiveLow = 1ull << 13;
constexpr u64 kLevelTriggered = 1ull << 15;

struct Controller {
    volatile u32* registers;
    u32 gsi_base;
    u32 inputs;
};

Controller g_controllers[PlatformTopology::kMaxIoApics];
usize g_count;
const PlatformTopology* g_topology;

u32 read(const Controller& c, u32 reg)
{
    c.registers[kRegisterSelect] = reg;
    return c.registers[kWindow];
}

void write(const Controller& c, u32 reg, u32 value)
{
    c.registers[kRegisterSelect] = reg;
    c.registers[kWindow] = value;
}

void write_redirection(const Controller& c, u32 input, u64 entry)
{
    write(c, kRedirectionTableBase + 2 * input, static_cast<u32>(kMasked)); // masked while half-written
    write(c, kRedirectionTableBase + 2 * input + 1, static_cast<u32>(entry >> 32));
    write(c, kRedirectionTableBase + 2 * input, static_cast<u32>(entry));
}

} // namespace

void init(const PlatformTopology& topology)
{
    g_topology = &topology;
    for (usize i = 0; i < topology.io_apic_count; ++i) {
        const IoApic& firmware = topology.io_apics[i];
        auto mapped = map_device_memory(PhysicalAddress(firmware.address), layout::kPageSize);
        if (mapped.is_error()) {
            klog("herald: warning: cannot map the I/O APIC at {:#x}: {}", firmware.address, error_name(mapped.error()));
            continue;
        }
        Controller& c = g_controllers[g_count++];
        c.registers = reinterpret_cast<volatile u32*>(mapped.value().get());
        c.gsi_base = firmware.gsi_base;
        c.inputs = ((read(c, kVersionRegister) >> 16) & 0xFF) + 1;
        for (u32 input = 0; input < c.inputs; ++input)
            write_redirection(c, input, kMasked);
    }
}

bool route_isa_irq(u8 irq, u8 vector, u32 apic_id)
{
    u32 gsi = irq;
    u64 polarity_and_trigger = 0; // ISA default: active high, edge
    for (usize i = 0; g_topology && i < g_topology->override_count; ++i) {
        const InterruptOverride& o = g_topology->overrides[i];
        if (o.bus_irq != irq)
            continue;
        gsi = o.gsi;
        if ((o.flags & kInterruptPolarityMask) == kInterruptPolarityActiveLow)
            polarity_and_trigger |= kActiveLow;
        if ((o.flags & kInterruptTriggerMask) == kInterruptTriggerLevel)
            polarity_and_trigger |= kLevelTriggered;
    }
    for (usize i = 0; i < g_count; ++i) {
        const Controller& c = g_controllers[i];
        if (gsi < c.gsi_base || gsi - c.gsi_base >= c.inputs)
            continue;
        u64 entry = vector | polarity_and_trigger | (static_cast<u64>(apic_id & 0xFF) << 56);
        write_redirection(c, gsi - c.gsi_base, entry);
        return true;
    }
    return false;
}

usize input_count()
{
    usize total = 0;
    for (usize i = 0; i < g_count; ++i)
        total += g_controllers[i].inputs;
    return total;
}

} // namespace herald::x86::ioapic
