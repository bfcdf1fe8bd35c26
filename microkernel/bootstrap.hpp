// Starting the system: the servers and init, from the boot archive
// (docs/system.md, "Bootstrap"). The memory service comes first, at the end
// of kernel_main (pager_start); then start_system() brings up
//
//   the servers built into the kernel, if the image has any (the console,
//             the loader: services/services.hpp, docs/placement.md)
//   registry  every later task holds abi::HandleRegistry to it; it
//             publishes the built-in services under their names
//   console   (ring 3) COM1's ports and its interrupt (as a notification
//             bound to its endpoint); publishes "console"
//   loader    (ring 3) ProcessControl and the boot archive; publishes "loader"
//   pci       (ring 3) the roots of the device capabilities (I/O ports,
//             interrupt lines, device memory) and the ECAM area; publishes
//             "pci" (docs/drivers.md)
//   init      SystemControl; starts the rest from init.manifest through
//             the loader
//
// Each server gets its endpoint (receive) at kServerEndpointHandle; the
// registry and the console get that index as their start parameter (the
// registry with the built-in services' bits above it), the loader the
// length of the archive it sees. A server that cannot be started is
// reported and skipped: the others still come up.
#pragma once

#include "lib/types.hpp"

namespace herald {

inline constexpr u64 kServerEndpointHandle = 4;

// Task ids; 0 for one that did not start, or is built into the kernel.
struct SystemTasks {
    u64 registry { 0 };
    u64 console { 0 };
    u64 loader { 0 };
    u64 init { 0 };
    u64 pci { 0 };
};

// The PCI server's handles besides its endpoint (servers/pci/pci_protocol.hpp).
inline constexpr u64 kPciIoPortsRootHandle = 5;
inline constexpr u64 kPciInterruptRootHandle = 6;
inline constexpr u64 kPciDeviceMemoryRootHandle = 7;
inline constexpr u64 kPciTaskListHandle = 8;
inline constexpr u64 kPciDmaAuthorityHandle = 9; // the memory service, badged abi::kDmaAuthorityBadge

// `with_init`: false for the test image, whose runner starts programs itself.
SystemTasks start_system(bool with_init);

} // namespace herald
