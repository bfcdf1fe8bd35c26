// MemoryControl: the capability that makes the memory server the pager. Its
// holder (the memory server alone: the kernel grants it once, at
// bootstrap) may map managed frames into any task, unmap them, take back the
// frames of dead tasks and read the managed set (abi/memory.hpp). The kernel
// checks each request: a page of user memory outside the memory view, a
// frame of the managed set, a task that exists.
#pragma once

#include "../ipc/kernel_object.hpp"
#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

KernelObject& memory_control();

// Handles MemoryMap, MemoryUnmap, MemoryReclaim and MemoryRanges; false for
// any other number.
bool handle_memory_syscall(u64 number, x86::InterruptFrame& frame, i64& result);

} // namespace herald
