// Device capabilities, shared by the kernel and user space (docs/drivers.md):
// what DeviceInfo tells about a handle. The calls are in abi/syscalls.hpp
// (IoPortRestrict ... DeviceInfo); every one needs the handle's RightSend
// but Restrict and DeviceInfo, which any holder may use.
#pragma once

#include <stdint.h>

namespace herald::abi {

enum class DeviceKind : uint64_t {
    IoPorts = 1,      // ports first..last
    Interrupt = 2,    // interrupt lines first..last (ISA IRQs below 16, GSIs from 16 on)
    DeviceMemory = 3, // physical addresses first..last (page-aligned range)
};

struct DeviceInfo {
    DeviceKind kind;
    uint64_t first;
    uint64_t last;
};

// Interrupt lines: below 16 an ISA IRQ (through the firmware's overrides),
// from 16 on an I/O APIC input by its global system interrupt number.
inline constexpr uint64_t kFirstGsiLine = 16;

} // namespace herald::abi
