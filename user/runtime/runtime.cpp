// Checks that tie the ring-3 runtime to the ABI. (The memory functions the
// compiler may call come from microkernel/lib/memory_functions.cpp, shared
// with the kernel.)
#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/syscalls.hpp"

// user/runtime/start.asm hard-codes the Exit number.
static_assert(static_cast<uint64_t>(herald::abi::SyscallNumber::Exit) == 3, "update SYSCALL_EXIT in start.asm");

