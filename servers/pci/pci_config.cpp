#include "pci_config.hpp"

namespace pci {

namespace {

// Type 0/1 header offsets (PCI Local Bus 3.0 §6.1).
constexpr uint16_t kVendorDevice = 0x00;
constexpr uint16_t kCommand = 0x04;
constexpr uint16_t kClass = 0x08; // revision, prog-if, subclass, class
constexpr uint16_t kHeaderType = 0x0C; // byte 2 of this dword
constexpr uint16_t kFirstBar = 0x10;
constexpr uint16_t kInterrupt = 0x3C; // line (byte 0), pin (byte 1)
constexpr uint16_t kNoVendor = 0xFFFF;
constexpr uint8_t kMultiFunction = 0x80;
constexpr uint32_t kDecodeBits = 0x3; // command: I/O space, memory space
constexpr uint32_t kBarIo = 0x1;
constexpr uint32_t kBarType = 0x6; // memory: 00 32-bit, 10 64-bit
constexpr uint32_t kBarType64 = 0x4;
constexpr uint32_t kBarPrefetchable = 0x8;
constexpr uint32_t kIoMask = ~0x3u;
constexpr uint32_t kMemoryMask = ~0xFu;
constexpr size_t kBridgeBars = 2;

constexpr uint8_t kBridgeClass = 0x06;
constexpr uint8_t kHostBridge = 0x00;

void read_bars(ConfigSpace& config, Function& function)
{
    // A host bridge keeps decoding (as Linux's mmio_always_on): turning it
    // off could cut the CPU off from memory; it has no BARs to size anyway.
    if (function.class_code == kBridgeClass && function.subclass == kHostBridge)
        return;
    size_t count = function.header_type == 0 ? kMaxBars : function.header_type == 1 ? kBridgeBars : 0;
    uint32_t command = config.read32(function.address, kCommand);
    config.write32(function.address, kCommand, command & ~kDecodeBits); // no decoding while probing
    for (size_t i = 0; i < count; ++i) {
        uint16_t offset = static_cast<uint16_t>(kFirstBar + 4 * i);
        uint32_t value = config.read32(function.address, offset);
        config.write32(function.address, offset, ~0u);
        uint32_t probed = config.read32(function.address, offset);
        config.write32(function.address, offset, value);
        uint32_t high = 0, high_probed = 0;
        bool wide = !(value & kBarIo) && (value & kBarType) == kBarType64 && i + 1 < count;
        if (wide) {
            uint16_t upper = static_cast<uint16_t>(offset + 4);
            high = config.read32(function.address, upper);
            config.write32(function.address, upper, ~0u);
            high_probed = config.read32(function.address, upper);
            config.write32(function.address, upper, high);
        }
        function.bars[i] = decode_bar(value, probed, high, high_probed);
        if (wide)
            ++i; // the upper half is no BAR of its own
    }
    config.write32(function.address, kCommand, command);
}

bool read_function(ConfigSpace& config, Address address, Function& out)
{
    uint32_t ids = config.read32(address, kVendorDevice);
    if ((ids & 0xFFFF) == kNoVendor)
        return false;
    out = Function {};
    out.address = address;
    out.vendor = static_cast<uint16_t>(ids);
    out.device = static_cast<uint16_t>(ids >> 16);
    uint32_t class_dword = config.read32(address, kClass);
    out.prog_if = static_cast<uint8_t>(class_dword >> 8);
    out.subclass = static_cast<uint8_t>(class_dword >> 16);
    out.class_code = static_cast<uint8_t>(class_dword >> 24);
    out.header_type = static_cast<uint8_t>((config.read32(address, kHeaderType) >> 16) & ~kMultiFunction & 0xFF);
    uint32_t interrupt = config.read32(address, kInterrupt);
    out.irq_line = static_cast<uint8_t>(interrupt);
    out.irq_pin = static_cast<uint8_t>(interrupt >> 8);
    read_bars(config, out);
    return true;
}

} // namespace

uint32_t port_address(Address address, uint16_t offset)
{
    return 0x8000'0000u | static_cast<uint32_t>(address.bus) << 16 | static_cast<uint32_t>(address.device & 0x1F) << 11
        | static_cast<uint32_t>(address.function & 0x7) << 8 | (offset & 0xFC);
}

uint64_t ecam_offset(Address address, uint16_t offset, uint8_t start_bus)
{
    return static_cast<uint64_t>(address.bus - start_bus) << 20 | static_cast<uint64_t>(address.device & 0x1F) << 15
        | static_cast<uint64_t>(address.function & 0x7) << 12 | (offset & 0xFFC);
}

Bar decode_bar(uint32_t value, uint32_t probed, uint32_t high, uint32_t high_probed)
{
    // The size is the lowest address bit the BAR lets software set (as
    // Linux's pci_size): a device whose mask has holes (which no real one
    // should have; the fuzzer made one) still gets a power of two.
    constexpr Bar kNone { BarKind::None, false, 0, 0 };
    if (value & kBarIo) {
        uint64_t bits = probed & kIoMask & 0xFFFF; // ports are 16-bit (PCI 3.0 §6.2.5.1)
        if (bits == 0)
            return kNone;
        return Bar { BarKind::Io, false, value & kIoMask & 0xFFFF, bits & (~bits + 1) };
    }
    bool prefetchable = value & kBarPrefetchable;
    bool wide = (value & kBarType) == kBarType64;
    uint64_t bits = (wide ? static_cast<uint64_t>(high_probed) << 32 : 0) | (probed & kMemoryMask);
    if (bits == 0)
        return kNone;
    uint64_t base = (wide ? static_cast<uint64_t>(high) << 32 : 0) | (value & kMemoryMask);
    return Bar { wide ? BarKind::Memory64 : BarKind::Memory32, prefetchable, base, bits & (~bits + 1) };
}

size_t enumerate(ConfigSpace& config, uint8_t first_bus, uint8_t last_bus, Function* out, size_t max)
{
    size_t found = 0;
    for (unsigned bus = first_bus; bus <= last_bus; ++bus) {
        for (uint8_t device = 0; device < 32; ++device) {
            Address first { static_cast<uint8_t>(bus), device, 0 };
            Function scratch;
            Function& zero = found < max ? out[found] : scratch;
            if (!read_function(config, first, zero))
                continue;
            ++found;
            bool multi = (config.read32(first, kHeaderType) >> 16) & kMultiFunction;
            for (uint8_t function = 1; multi && function < 8; ++function) {
                Function& next = found < max ? out[found] : scratch;
                if (read_function(config, Address { static_cast<uint8_t>(bus), device, function }, next))
                    ++found;
            }
        }
    }
    return found;
}

namespace {

uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) & ~(alignment - 1); }

// The next `size`-aligned address of `size` bytes in [next, end), or false.
bool take(uint64_t& next, uint64_t end, uint64_t size, uint64_t& base)
{
    base = align_up(next, size);
    if (base < next || base > end || size > end - base)
        return false;
    next = base + size;
    return true;
}

} // namespace

size_t assign_bars(ConfigSpace& config, Function* functions, size_t count, uint64_t memory_base, uint64_t memory_end,
    uint64_t io_base, uint64_t io_end)
{
    size_t assigned = 0;
    uint64_t next_memory = memory_base, next_io = io_base;
    for (size_t f = 0; f < count; ++f) {
        Function& function = functions[f];
        if (function.class_code == kBridgeClass && function.subclass == kHostBridge)
            continue;
        uint32_t decode = 0;
        for (size_t i = 0; i < kMaxBars; ++i) {
            Bar& bar = function.bars[i];
            if (bar.kind == BarKind::None || bar.base != 0 || bar.size == 0)
                continue;
            uint16_t offset = static_cast<uint16_t>(kFirstBar + 4 * i);
            uint64_t base = 0;
            if (bar.kind == BarKind::Io) {
                if (!take(next_io, io_end, bar.size, base))
                    continue;
                config.write32(function.address, offset, static_cast<uint32_t>(base) | kBarIo);
                decode |= 0x1;
            } else {
                // A 32-bit BAR must stay below 4 GiB: the window is.
                if (!take(next_memory, memory_end, bar.size, base))
                    continue;
                uint32_t type = bar.kind == BarKind::Memory64 ? kBarType64 : 0;
                config.write32(function.address, offset,
                    static_cast<uint32_t>(base) | type | (bar.prefetchable ? kBarPrefetchable : 0));
                if (bar.kind == BarKind::Memory64)
                    config.write32(function.address, static_cast<uint16_t>(offset + 4), static_cast<uint32_t>(base >> 32));
                decode |= 0x2;
            }
            bar.base = base;
            ++assigned;
        }
        if (decode)
            config.write32(function.address, kCommand, config.read32(function.address, kCommand) | decode);
    }
    return assigned;
}

namespace {
constexpr uint32_t kBusMasterEnable = 1u << 2;
constexpr uint32_t kCommandMask = 0xFFFF; // the status register above it is RW1C

// Sets or clears one bit of the command register, never writing the
// status register above it (RW1C: a 1 written there would clear a bit).
void set_command_bit(ConfigSpace& config, Address address, uint32_t bit, bool on)
{
    uint32_t command = config.read32(address, kCommand) & kCommandMask;
    command = on ? command | bit : command & ~bit;
    config.write32(address, kCommand, command);
}
} // namespace

void set_bus_master(ConfigSpace& config, Address address, bool on)
{
    set_command_bit(config, address, kBusMasterEnable, on);
}

bool bus_master(ConfigSpace& config, Address address) { return config.read32(address, kCommand) & kBusMasterEnable; }

namespace {
constexpr uint32_t kInterruptDisable = 1u << 10;
constexpr uint32_t kMemorySpaceEnable = 1u << 1;
} // namespace

void set_intx_disabled(ConfigSpace& config, Address address, bool disabled)
{
    set_command_bit(config, address, kInterruptDisable, disabled);
}

bool intx_disabled(ConfigSpace& config, Address address) { return config.read32(address, kCommand) & kInterruptDisable; }

bool memory_space(ConfigSpace& config, Address address) { return config.read32(address, kCommand) & kMemorySpaceEnable; }

namespace {

constexpr uint32_t kStatusCapabilityList = 1u << (16 + 4); // status register bit 4, in the command dword
constexpr uint16_t kCapabilityPointer = 0x34;
constexpr uint8_t kFirstCapability = 0x40; // capabilities live after the 64-byte header
constexpr int kMaxCapabilities = 48;       // (256 - 64) / 4: more is a loop
constexpr uint32_t kMsixTableSizeMask = 0x7FF;   // message control bits 10-0
constexpr uint32_t kMsixFunctionMask = 1u << 14; // message control bit 14
constexpr uint32_t kMsixEnable = 1u << 15;       // message control bit 15
constexpr uint32_t kMsixBirMask = 0x7;
constexpr uint8_t kLastBar = 5;
constexpr size_t kEntryAddressLow = 0, kEntryAddressHigh = 1, kEntryData = 2, kEntryControl = 3; // dwords
constexpr uint32_t kEntryMasked = 1;

} // namespace

Msix find_msix(ConfigSpace& config, Address address)
{
    if (!(config.read32(address, kCommand) & kStatusCapabilityList))
        return Msix {};
    uint8_t pointer = static_cast<uint8_t>(config.read32(address, kCapabilityPointer) & 0xFC);
    for (int visited = 0; pointer >= kFirstCapability && visited < kMaxCapabilities; ++visited) {
        uint32_t header = config.read32(address, pointer);
        if ((header & 0xFF) == kMsixCapabilityId && pointer <= 256 - 12) {
            uint32_t table = config.read32(address, static_cast<uint16_t>(pointer + 4));
            if ((table & kMsixBirMask) > kLastBar)
                return Msix {};
            uint32_t control = header >> 16;
            return Msix { pointer, static_cast<uint16_t>((control & kMsixTableSizeMask) + 1),
                static_cast<uint8_t>(table & kMsixBirMask), table & ~kMsixBirMask };
        }
        pointer = static_cast<uint8_t>((header >> 8) & 0xFC);
    }
    return Msix {};
}

void set_msix_enabled(ConfigSpace& config, Address address, const Msix& msix, bool on)
{
    if (msix.capability == 0)
        return;
    // The id and next pointer (bits 15-0) are read-only: written as read.
    uint32_t header = config.read32(address, msix.capability);
    uint32_t control = header >> 16;
    control = on ? (control | kMsixEnable) & ~kMsixFunctionMask : (control & ~kMsixEnable) | kMsixFunctionMask;
    config.write32(address, msix.capability, (header & 0xFFFF) | control << 16);
}

bool msix_enabled(ConfigSpace& config, Address address, const Msix& msix)
{
    return msix.capability != 0 && (config.read32(address, msix.capability) >> 16) & kMsixEnable;
}

void write_msix_entry(volatile uint32_t* entry, uint64_t address, uint32_t data)
{
    entry[kEntryControl] = kEntryMasked;
    entry[kEntryAddressLow] = static_cast<uint32_t>(address);
    entry[kEntryAddressHigh] = static_cast<uint32_t>(address >> 32);
    entry[kEntryData] = data;
    entry[kEntryControl] = 0;
}

void mask_msix_entry(volatile uint32_t* entry)
{
    entry[kEntryControl] = kEntryMasked;
    entry[kEntryAddressLow] = 0;
    entry[kEntryAddressHigh] = 0;
    entry[kEntryData] = 0;
}

const char* class_name(uint8_t class_code)
{
    // PCI Code and ID Assignment 1.12, §1.
    switch (class_code) {
    case 0x00: return "unclassified";
    case 0x01: return "storage";
    case 0x02: return "network";
    case 0x03: return "display";
    case 0x04: return "multimedia";
    case 0x05: return "memory";
    case 0x06: return "bridge";
    case 0x07: return "communication";
    case 0x08: return "system";
    case 0x09: return "input";
    case 0x0C: return "serial bus";
    default: return "other";
    }
}

} // namespace pci
