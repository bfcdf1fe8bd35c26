// Memory for the kernel's own use: page tables, kernel stacks, per-CPU areas.
//
// Scheme: pages come from the inventory's free list, lowest first, so they
// normally lie in the kernel region (below 128 MiB) where the identity map
// makes a physical address usable as a pointer, and everything above is left
// for the memory server. When low memory is full (a large boot archive can
// fill it), pages up to 4 GiB are used and reached through the physmap, or
// through the boot tables' 4 GiB identity map before the final tables exist.
// Pages are zeroed and never given back: the kernel allocates them once per
// CPU or per address space. Safe to call from any CPU.
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "memory_inventory.hpp"

namespace herald {

void kernel_memory_init(MemoryInventory& inventory);

Optional<PhysicalAddress> allocate_kernel_frame();

// `pages` contiguous zeroed pages, as a kernel pointer (identity-mapped).
u8* allocate_kernel_pages(usize pages);

usize kernel_pages_allocated();

// Takes every free page in [from, to) away from the kernel for good, into
// `out` (pager/managed_memory.hpp).
ErrorOr<void> kernel_memory_hand_over(PhysicalAddress from, PhysicalAddress to, PhysicalRangeSet& out);

// Where the kernel reaches a page it allocated, whichever map applies.
u8* kernel_pointer(PhysicalAddress page);

} // namespace herald
