// The managed set: the frames the pager owns (docs/memory.md).
//
// Scheme: at bootstrap the kernel keeps the memory below the split for
// itself (kernel stacks, page tables, the programs it loads itself) and
// hands every free frame above it to the pager, once and for good: they
// leave the kernel allocator's free list, so the two can never hand out the
// same frame. The split is the end of the kernel region (128 MiB), or half
// of the RAM on a machine with less than 256 MiB, moved up as far as needed
// for the kernel to keep 32 MiB of free memory (boot modules may fill the
// low memory). Frames above the memory
// view's reach (abi::kMemoryViewSize) are not managed (and not used).
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../mm/memory_inventory.hpp"

namespace herald {

void managed_memory_take();

const PhysicalRangeSet& managed_ranges();
bool is_managed_frame(PhysicalAddress frame);
u64 managed_frame_count();

// Maps managed `frame` at `address` in task `task_id` for the pager (flags:
// abi::MemoryMapFlags), under the task's address-space lock, with a
// reference to the space taken under the task table lock (task.hpp,
// address_space_of): a task that dies meanwhile either has the page (its
// teardown reclaims it) or is gone. PeerGone: no such task (any more);
// BadArgument: not a managed frame, or a bad flag; OutOfRange: an address
// outside user memory or inside the memory view; AlreadyMapped; OutOfMemory
// (a page table).
ErrorOr<void> map_managed_frame(u64 task_id, VirtualAddress address, PhysicalAddress frame, u64 map_flags);

// Its two halves, for a caller that has the space already (MemoryMapReply:
// the faulting thread's, kept by the reply right it claimed): the checks of
// the frame and the flags (BadArgument), and the map into `space` of what
// passed them (the same errors as above but BadArgument and PeerGone for a
// space torn down).
ErrorOr<void> check_managed_mapping(PhysicalAddress frame, u64 map_flags);
class AddressSpace;
ErrorOr<void> map_checked_frame(AddressSpace& space, VirtualAddress address, PhysicalAddress frame, u64 map_flags);

} // namespace herald
