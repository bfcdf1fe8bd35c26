// The pager: who owns the frames above the kernel's own memory and resolves
// user page faults (docs/memory.md). One of two, chosen when an image is
// linked (its placement, docs/placement.md):
//
//   memory server            servers/memory, a ring-3 task; the kernel turns
//                            each fault into an IPC call to it
//                            (services/memory_server.cpp)
//   in the kernel            the same MemoryService code in ring 0, called
//                            directly (services/memory_in_kernel.cpp)
//
// Either way every task holds abi::HandleMemory, through which it asks for
// heap and statistics (libipc/protocols/memory.hpp), and frames a dead task
// held go back through the reclaim queue (reclaim_queue.hpp).
#pragma once

#include "../abi/memory.hpp"
#include "../lib/types.hpp"
#include "../object/kernel_object.hpp"

namespace herald {

struct Thread;
struct Task;

// Bootstrap, once the scheduler runs: hands the managed memory over and
// starts the memory server (or the in-kernel service).
void pager_start();

// "server" or "kernel": where page faults are served.
const char* pager_mode_name();
bool pager_in_kernel();

// Asks the pager about a fault of `thread` (ring 3, or a kernel copy on its
// behalf) at `address`. Blocks the thread while the memory server works.
abi::PageFaultVerdict pager_resolve_fault(Thread& thread, u64 address, u64 error_code);

// Task `task` ended: if it was the memory server, says so once, loudly
// (from then on every user page fault kills its task, and Grow fails).
void pager_task_ended(u64 task);

// What a new task's abi::HandleMemory names (the caller gives it the send
// right and the task's id as the badge), a reference for the caller; null
// when there is no memory service.
Ref<KernelObject> pager_client_object();

} // namespace herald
