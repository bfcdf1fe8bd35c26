// pci: the PCI server (docs/drivers.md, "The PCI server"). Find it in the
// registry as "pci".
//
//   List  index -> the index-th function found (bus, device, function, ids,
//                  class, interrupt), and the task id of the driver that
//                  holds it (0: none); NotFound past the last.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocol.hpp"

namespace pci {

struct List {
    static constexpr uint32_t label = 1;
    struct Request {
        uint64_t index;
    };
    struct Reply {
        uint8_t bus;
        uint8_t device;
        uint8_t function;
        uint8_t class_code;
        uint8_t subclass;
        uint8_t prog_if;
        uint8_t irq_line;
        uint8_t irq_pin;
        uint16_t vendor;
        uint16_t device_id;
        uint32_t bars; // how many BARs it has
        uint64_t holder;
    };
};

using Protocol = ipc::Protocol<List>;
static_assert(Protocol::is_valid);

// The kernel starts the server with these handles (microkernel/bootstrap.cpp)
// and, as its parameter, the ECAM area of segment 0: its base (1 MiB-aligned)
// with the last bus in bits 0-7; 0 when there is none (ports 0xCF8/0xCFC).
inline constexpr uint64_t kEndpointHandle = 4;
inline constexpr uint64_t kIoPortsRootHandle = 5;
inline constexpr uint64_t kInterruptRootHandle = 6;
inline constexpr uint64_t kDeviceMemoryRootHandle = 7;

} // namespace pci
