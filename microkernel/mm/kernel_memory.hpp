// Memory for the kernel's own use: page tables, kernel stacks, per-CPU areas.
//
// Scheme: pages come from the inventory's free list below the end of the
// kernel region (128 MiB), where the identity map makes a physical address
// usable as a pointer. They are zeroed and never given back: the kernel
// allocates these once per CPU or per address space. Everything above the
// kernel region is left for the memory server. Safe to call from any CPU.
#pragma once

#include "../lib/address.hpp"
#include "../lib/optional.hpp"
#include "memory_inventory.hpp"

namespace herald {

void kernel_memory_init(MemoryInventory& inventory);

Optional<PhysicalAddress> allocate_kernel_frame();

// `pages` contiguous zeroed pages, as a kernel pointer (identity-mapped).
u8* allocate_kernel_pages(usize pages);

usize kernel_pages_allocated();

} // namespace herald
