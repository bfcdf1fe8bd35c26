// Kernel stacks for threads, each with a guard below it.
//
// Scheme: layout::kKernelStacksBase is cut into slots of kSlotSize; a slot's
// top kKernelStackBytes bytes are mapped to kernel frames, the rest of the
// slot (below the stack) is never mapped, so running off the bottom of a
// stack faults. Freed slots keep their frames and mappings and are handed
// out again first. The page directory of the region exists from boot, so
// page tables added later are seen by every address space.
#pragma once

#include "../lib/types.hpp"

namespace herald {

inline constexpr u64 kKernelStackBytes = 16 * 1024;

// Creates the region's page directory. Before the first address space.
void kernel_stacks_init();

// The lowest address of a new stack (its top is that + kKernelStackBytes),
// or nullptr when out of memory or slots.
u8* allocate_kernel_stack();
void free_kernel_stack(u8* stack);

// True if [address, address + length) is inside a mapped stack of the region.
bool is_mapped_kernel_stack(u64 address, u64 length);

} // namespace herald
