// PCI configuration space: walking the buses, reading functions and decoding
// their base address registers (PCI Local Bus 3.0 §6; PCI Express Base 4.0
// §7.2). The access itself is a ConfigSpace: the ECAM area mapped as device
// memory (q35), ports 0xCF8/0xCFC (i440fx, or no MCFG), or a fake one in the
// host tests (pci_test.cpp). Portable and freestanding: no system calls.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace pci {

struct Address {
    uint8_t bus;
    uint8_t device;   // 0-31
    uint8_t function; // 0-7
};

class ConfigSpace {
public:
    // `offset` is a multiple of 4 below 256 (4096 with ECAM).
    virtual uint32_t read32(Address address, uint16_t offset) = 0;
    virtual void write32(Address address, uint16_t offset, uint32_t value) = 0;

protected:
    ~ConfigSpace() = default;
};

// Configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): the dword
// written to 0xCF8 to reach `offset` of `address`.
uint32_t port_address(Address address, uint16_t offset);
// ECAM (PCI Express Base 4.0 §7.2.2): the offset of `offset` of `address`
// from the area's base, whose first bus is `start_bus`.
uint64_t ecam_offset(Address address, uint16_t offset, uint8_t start_bus);

enum class BarKind : uint8_t { None, Io, Memory32, Memory64 };

struct Bar {
    BarKind kind;
    bool prefetchable;
    uint64_t base;
    uint64_t size; // 0: not implemented
};

// A BAR from what it read before (`value`, and `high` for a 64-bit BAR's
// upper half) and after all ones were written to it (`probed`,
// `high_probed`): its kind, base and size. A BAR that reads back 0 is not
// implemented (kind None).
Bar decode_bar(uint32_t value, uint32_t probed, uint32_t high, uint32_t high_probed);

inline constexpr size_t kMaxBars = 6;

struct Function {
    Address address;
    uint16_t vendor;
    uint16_t device;
    uint8_t class_code;
    uint8_t subclass;
    uint8_t prog_if;
    uint8_t header_type; // without the multi-function bit
    uint8_t irq_line;    // what the firmware wrote (0xFF: none)
    uint8_t irq_pin;     // 1-4 for INTA-INTD, 0: none
    Bar bars[kMaxBars];  // type 0 headers: 6, bridges: 2
};

// Every function on buses first_bus..last_bus, in order, up to `max`; the
// number found (more than `max` if they did not fit). BARs are sized the
// standard way (all ones written with decoding off, the old value
// restored after).
size_t enumerate(ConfigSpace& config, uint8_t first_bus, uint8_t last_bus, Function* out, size_t max);

// Firmware that leaves the BARs unassigned (qboot, QEMU's fast firmware for
// direct boot, does; SeaBIOS and OVMF assign them): gives every memory BAR
// whose base is 0 an address in [memory_base, memory_end) and every I/O BAR
// at port 0 one in [io_base, io_end), each aligned to its size, writes them
// to the functions' BARs and turns their decoding on. Host bridges are left
// alone; a BAR that does not fit stays unassigned (base 0). Returns how many
// BARs it assigned. Whether the window is free is the caller's to know (the
// kernel refuses RAM as device memory anyway).
size_t assign_bars(ConfigSpace& config, Function* functions, size_t count, uint64_t memory_base, uint64_t memory_end,
    uint64_t io_base, uint64_t io_end);

// Turns the function's Bus Master Enable (command register bit 2, PCI Local
// Bus 3.0 §6.2.2) on or off: with it off the function cannot start DMA. The
// status half of the register is written as zeros (its bits are
// write-one-to-clear).
void set_bus_master(ConfigSpace& config, Address address, bool on);
bool bus_master(ConfigSpace& config, Address address);
// Interrupt Disable (command register bit 10, PCI Local Bus 3.0 §6.2.2): set,
// the function does not assert its INTx pin (MSI-X is not affected).
void set_intx_disabled(ConfigSpace& config, Address address, bool disabled);
bool intx_disabled(ConfigSpace& config, Address address);
// Memory Space (command register bit 1): whether the function decodes its
// memory BARs (off, reads of them do not reach it).
bool memory_space(ConfigSpace& config, Address address);

// MSI-X (PCI Local Bus 3.0 §6.8.2): the capability (id 0x11) and its table,
// which lives in one of the function's memory BARs. Each entry is 16 bytes:
// message address (low, high), message data, vector control (bit 0: masked).
inline constexpr uint8_t kMsixCapabilityId = 0x11;
inline constexpr uint32_t kMsixEntryBytes = 16;

struct Msix {
    uint16_t capability; // its offset in the configuration space; 0: the function has none
    uint16_t table_size; // entries (the Table Size field + 1)
    uint8_t table_bar;   // BIR
    uint32_t table_offset; // from the BAR's base, 8-byte aligned
};

// The function's MSI-X capability, from its capability list (a list that
// loops or leaves the 256-byte header ends the walk: at most 48 entries);
// capability 0 when it has none, or names a BAR beyond the sixth.
Msix find_msix(ConfigSpace& config, Address address);
// MSI-X Enable on, Function Mask off (the function sends the messages its
// table's unmasked entries hold, and no longer raises INTx); or Enable off
// and Function Mask on (it sends none).
void set_msix_enabled(ConfigSpace& config, Address address, const Msix& msix, bool on);
bool msix_enabled(ConfigSpace& config, Address address, const Msix& msix);
// Fills table entry `entry` (the 4 dwords at `entry`) with the message, the
// way §6.8.2.9 asks: masked while it changes, unmasked last.
void write_msix_entry(volatile uint32_t* entry, uint64_t address, uint32_t data);
// Masks table entry `entry` and clears its message: the function sends
// nothing through it, and no stale vector stays written (the vector goes
// back to the kernel and may then be another device's).
void mask_msix_entry(volatile uint32_t* entry);

// "storage", "network", "display", "bridge"... for a class code.
const char* class_name(uint8_t class_code);

} // namespace pci
