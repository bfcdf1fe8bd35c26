// The memory server's system calls, through its MemoryControl handle
// (object/memory_control.hpp).
#pragma once

#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}

// Handles MemoryMap, MemoryUnmap, MemoryReclaim and MemoryRanges; false for
// any other number.
bool handle_memory_syscall(u64 number, x86::InterruptFrame& frame, i64& result);

} // namespace herald
