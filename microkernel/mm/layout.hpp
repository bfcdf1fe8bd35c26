// Herald's virtual and physical memory layout (docs/memory-map.md), from the
// seed's "Memory layout" section.
#pragma once

#include "../lib/types.hpp"

namespace herald::layout {

// Page sizes of x86-64 4-level paging (SDM Vol. 3A §4.5).
inline constexpr u64 kPageSize = 4 * KiB;
inline constexpr u64 kLargePageSize = 2 * MiB;

// Below 1 MiB: real-mode IVT, BIOS data, EBDA, option ROMs. Never handed out.
inline constexpr u64 kLowMemoryEnd = 1 * MiB;

// Seed: "The first 128mb is identity mapped using 2mb pages". Kernel memory,
// supervisor-only, the same in every address space.
inline constexpr u64 kKernelRegionEnd = 128 * MiB;

// Seed: "The whole memory is again identity mapped ... at 0x4000000000."
inline constexpr u64 kPhysmapBase = 0x40'0000'0000;

// Seed: user programs start at 0x08000000 (page-directory entry 64).
inline constexpr u64 kUserCodeBase = 0x0800'0000;

// The boot tables (boot/entry.asm) identity-map the first 4 GiB so that
// Multiboot structures, which a loader may place anywhere below 4 GiB, are
// readable before the final tables exist.
inline constexpr u64 kBootIdentityMapEnd = 4 * GiB;

inline u64 physmap_address(u64 physical) { return kPhysmapBase + physical; }

// Threads' kernel stacks (mm/kernel_stacks.hpp): 1 GiB of slots, each an
// unmapped guard page area below a mapped stack, so that an overflow faults
// (and becomes a double fault with a report) instead of overwriting memory.
// Inside the first PML4 entry, above the physmap's first 64 GiB, and in the
// part of the PDPT that every address space shares with the kernel.
inline constexpr u64 kKernelStacksBase = 0x60'0000'0000;
inline constexpr u64 kKernelStacksSize = 1 * GiB;

} // namespace herald::layout
