#include "ioapic.hpp"

#include "../../log.hpp"
#include "../../mm/layout.hpp"
#include "../../sync/spinlock.hpp"
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
// Register pairs (select, then window) must not interleave: routing and
// masking come from any CPU, masking also from the interrupt handler.
SpinLock g_lock;
constexpr u32 kIsaIrqs = 16;
constexpr u32 kMaxLines = 256;
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

namespace {

struct LineRoute {
    u32 gsi;
    u64 polarity_and_trigger;
};

LineRoute route_of(u32 irq)
{
    if (irq >= kIsaIrqs)
        return LineRoute { irq, kActiveLow | kLevelTriggered }; // PCI INTx
    LineRoute route { irq, 0 }; // ISA default: active high, edge
    for (usize i = 0; g_topology && i < g_topology->override_count; ++i) {
        const InterruptOverride& o = g_topology->overrides[i];
        if (o.bus_irq != irq)
            continue;
        route.gsi = o.gsi;
        if ((o.flags & kInterruptPolarityMask) == kInterruptPolarityActiveLow)
            route.polarity_and_trigger |= kActiveLow;
        if ((o.flags & kInterruptTriggerMask) == kInterruptTriggerLevel)
            route.polarity_and_trigger |= kLevelTriggered;
    }
    return route;
}

const Controller* controller_of(u32 gsi)
{
    for (usize i = 0; i < g_count; ++i) {
        const Controller& c = g_controllers[i];
        if (gsi >= c.gsi_base && gsi - c.gsi_base < c.inputs)
            return &c;
    }
    return nullptr;
}

// The entry each routed line was given (its mask bit aside), by line.
u64 g_entries[kMaxLines] GUARDED_BY(g_lock);

} // namespace

Optional<u32> gsi_of_line(u32 irq)
{
    u32 gsi = route_of(irq).gsi;
    if (!controller_of(gsi))
        return nullopt;
    return gsi;
}

bool route_line(u32 irq, u8 vector, u32 apic_id, bool masked)
{
    LineRoute route = route_of(irq);
    const Controller* c = controller_of(route.gsi);
    if (!c || irq >= kMaxLines)
        return false;
    u64 entry = vector | route.polarity_and_trigger | (static_cast<u64>(apic_id & 0xFF) << 56);
    SpinLockGuard guard(g_lock);
    g_entries[irq] = entry;
    write_redirection(*c, route.gsi - c->gsi_base, masked ? entry | kMasked : entry);
    return true;
}

void set_line_masked(u32 irq, bool masked)
{
    u32 gsi = route_of(irq).gsi;
    const Controller* c = controller_of(gsi);
    if (!c || irq >= kMaxLines)
        return;
    SpinLockGuard guard(g_lock);
    // The low half only: the destination (high half) stays as routed.
    u64 entry = g_entries[irq];
    write(*c, kRedirectionTableBase + 2 * (gsi - c->gsi_base), static_cast<u32>(masked ? entry | kMasked : entry));
}

bool route_isa_irq(u8 irq, u8 vector, u32 apic_id) { return route_line(irq, vector, apic_id, false); }

usize input_count()
{
    usize total = 0;
    for (usize i = 0; i < g_count; ++i)
        total += g_controllers[i].inputs;
    return total;
}

} // namespace herald::x86::ioapic
