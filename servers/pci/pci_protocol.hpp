// pci: the PCI server (docs/drivers.md, "The PCI server"). Find it in the
// registry as "pci".
//
//   List          index -> the index-th function found (bus, device,
//                 function, ids, class, its INTx pin and the line it
//                 reaches: intx_route.hpp), and the task id of the
//                 driver that holds it (0: none); NotFound past the last.
//
// A driver's requests (docs/drivers.md, "Authority"): each is checked
// against the caller's grant in init.manifest (its program's line) and
// refused with Denied beyond it; the caller is known by its badge (the
// registry hands each client a handle badged with its task id).
//   RequestPorts  first, last -> an IoPortRange handle (ports=)
//   RequestIrq    line -> an Interrupt handle for that line (irq=)
//   Claim         index -> the function is the caller's (pci=, class=);
//                 Denied if another task that still runs holds it. For a
//                 new holder the function's bus mastering goes off first,
//                 its INTx is disabled again (it gives up its line), and a
//                 virtio function is reset (kNotReset if it does not, or if
//                 its memory decoding is off) before it is handed out
//   RequestBar    index, bar -> the claimed function's BAR as a
//                 DeviceMemory or IoPortRange handle; NotFound for a BAR it
//                 does not have
//   RequestFunctionIrq index -> the line the claimed function's INTx pin
//                 reaches (intx_route.hpp: QEMU's q35 and i440fx; on q35 a
//                 GSI from 16, level-triggered), as an Interrupt handle;
//                 NotFound if it has no pin; kNoRoute if this server does
//                 not know where it goes (another chipset: only ACPI _PRT
//                 says; behind a bridge; a PIRQ the firmware left off).
//                 One function per line: Busy while another function whose
//                 INTx reaches the same line got it and its driver runs.
//                 Every function's INTx is disabled (command register bit
//                 10) from the server's start; only the function given its
//                 line has it enabled, until its driver ends (the sweep) or
//                 the function goes to a new driver (Claim). On i440fx the
//                 ISA IRQs 3-7, 12, 14 and 15 stay edge-triggered (the MADT
//                 overrides only 5, 9, 10 and 11 to level): a function
//                 routed there may lose a level interrupt (its line stays
//                 asserted, no new edge), so a driver must not rely on it
//                 alone there (virtio-blk goes on polling)
//   ReadConfig    index, offset -> the 32 bits at `offset` (a multiple of 4
//                 below 256) of the claimed function's configuration space:
//                 a driver reads its capabilities (virtio's structures);
//                 InvalidRequest for another offset. Only reading: what a
//                 driver may change there (BARs, bus mastering) is the
//                 server's
//   RequestFunctionMsix index, entry -> an Interrupt handle (RightSend) for
//                 an MSI vector (the kernel's), written by the server into
//                 entry `entry` of the claimed function's MSI-X table, MSI-X
//                 enabled on the function (so it no longer raises INTx).
//                 The driver binds the handle as a line's and tells its
//                 device which entry to use (virtio: queue_msix_vector).
//                 One vector per entry while the holder runs: asking again
//                 for an entry gives the same vector (still bound, if the
//                 driver bound it: a second bind is Busy). NotFound: no
//                 MSI-X, or no such entry; Denied: not the holder, or its
//                 function cannot master the bus (a message is a DMA write:
//                 the grant needs dma=); QuotaExceeded: the function holds
//                 as many vectors as its MSI-X table has entries, or
//                 kMaxMsixVectorsPerFunction (8), whichever is fewer
//                 (msix_vectors.hpp);
//                 the kernel's OutOfMemory when its pool is empty. When the
//                 driver ends, the sweep turns MSI-X off, masks its entries
//                 and gives their vectors back to the kernel, before any
//                 vector is handed out again
//   RequestDma    pages -> address, physical: `pages` physically contiguous
//                 frames mapped into the caller (the memory service's
//                 AllocateDma, asked on its behalf), as far as its grant's
//                 dma=PAGES goes in all; Denied beyond it; the memory
//                 service's errors (kOutOfMemory, kOverLimit, ...) as they
//                 are. A claimed function of a driver with dma= has bus
//                 mastering on; when the driver ends, the server turns it
//                 off before the frames may be used again (docs/drivers.md,
//                 "DMA memory").
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocol.hpp"

namespace pci {

// RequestFunctionIrq: the function has a pin, but where it goes is not known
// here (the server's log says why).
inline constexpr ipc::Error kNoRoute = ipc::protocol_error(0);
// Claim: a virtio function did not reset (its device_status never read 0):
// it is not handed out, since it may still use its last driver's memory.
inline constexpr ipc::Error kNotReset = ipc::protocol_error(1);

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
        uint8_t irq_line; // the line its INTx reaches (RequestFunctionIrq's); 0: no pin, or not routed
        uint8_t irq_pin;  // 1-4: INTA-INTD; 0: none
        uint16_t vendor;
        uint16_t device_id;
        uint32_t bars; // how many BARs it has
        uint64_t holder;
    };
};

struct RequestPorts {
    static constexpr uint32_t label = 2;
    struct Request {
        uint64_t first;
        uint64_t last;
    };
    using Reply = ipc::WithHandle<>;
};

struct RequestIrq {
    static constexpr uint32_t label = 3;
    struct Request {
        uint64_t line;
    };
    using Reply = ipc::WithHandle<>;
};

struct Claim {
    static constexpr uint32_t label = 4;
    struct Request {
        uint64_t index;
    };
    using Reply = ipc::Empty;
};

struct RequestBar {
    static constexpr uint32_t label = 5;
    struct Request {
        uint64_t index;
        uint64_t bar;
    };
    using Reply = ipc::WithHandle<>;
};

struct RequestFunctionIrq {
    static constexpr uint32_t label = 6;
    struct Request {
        uint64_t index;
    };
    using Reply = ipc::WithHandle<>;
};

struct RequestDma {
    static constexpr uint32_t label = 7;
    struct Request {
        uint64_t pages;
    };
    struct Reply {
        uint64_t address;  // in the caller's DMA window (abi::kUserDmaBase)
        uint64_t physical; // what the device is told; the pages follow it
    };
};

struct ReadConfig {
    static constexpr uint32_t label = 8;
    struct Request {
        uint64_t index;
        uint64_t offset;
    };
    struct Reply {
        uint64_t value;
    };
};

struct RequestFunctionMsix {
    static constexpr uint32_t label = 9;
    struct Request {
        uint64_t index;
        uint64_t entry; // in the function's MSI-X table
    };
    using Reply = ipc::WithHandle<>;
};

// Vectors one function may hold at most (and never more than its MSI-X
// table's entries): 8 of the kernel's 64 (microkernel/ipc/irq.hpp
// kMsiVectors), enough for a virtio device's configuration interrupt and a
// few queues, and no driver can take more than an eighth of the pool.
inline constexpr size_t kMaxMsixVectorsPerFunction = 8;

using Protocol = ipc::Protocol<List, RequestPorts, RequestIrq, Claim, RequestBar, RequestFunctionIrq, RequestDma, ReadConfig,
    RequestFunctionMsix>;
static_assert(Protocol::is_valid);

// The kernel starts the server with these handles (microkernel/bootstrap.cpp)
// and, as its parameter, the ECAM area of segment 0: its base (1 MiB-aligned)
// with the last bus in bits 0-7; 0 when there is none (ports 0xCF8/0xCFC).
inline constexpr uint64_t kEndpointHandle = 4;
inline constexpr uint64_t kIoPortsRootHandle = 5;
inline constexpr uint64_t kInterruptRootHandle = 6;
inline constexpr uint64_t kDeviceMemoryRootHandle = 7;
inline constexpr uint64_t kTaskListHandle = 8; // SystemControl, receive: whose badge is which program
inline constexpr uint64_t kDmaAuthorityHandle = 9; // the memory service, badged abi::kDmaAuthorityBadge

} // namespace pci
