// Device capabilities, shared by the kernel and user space (docs/drivers.md):
// what DeviceInfo tells about a handle. The calls are in abi/syscalls.hpp
// (IoPortRestrict ... DeviceInfo, InterruptAllocateMsi); every one needs the
// handle's RightSend but Restrict, AllocateMsi and DeviceInfo, which any
// holder may use (the new handle has the rights of the one it came from).
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class DeviceKind : uint64_t {
    IoPorts = 1,      // ports first..last
    Interrupt = 2,    // interrupt lines first..last (ISA IRQs below 16, GSIs from 16 on)
    DeviceMemory = 3, // physical addresses first..last (page-aligned range)
    MsiInterrupt = 4, // one MSI vector: first = last = the vector (InterruptAllocateMsi)
};

struct DeviceInfo {
    DeviceKind kind;
    uint64_t first;
    uint64_t last;
};

// Interrupt lines: below 16 an ISA IRQ (through the firmware's overrides),
// from 16 on an I/O APIC input by its global system interrupt number.
inline constexpr uint64_t kFirstGsiLine = 16;

// What InterruptAllocateMsi writes: the message a device sends to raise the
// vector (Intel SDM Vol. 3A §11.11), to be written into its MSI-X table
// entry (Message Address, Upper Address 0, Message Data) or MSI capability.
struct MsiMessage {
    uint64_t address; // 0xFEE00000 | destination APIC id << 12
    uint64_t data;    // the vector; edge, fixed delivery
};

} // namespace herald::abi
