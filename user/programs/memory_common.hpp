// Shared by the memory test programs: the memory protocol over the real
// system calls (words only, no IPC buffer needed).
#pragma once

#include <stdint.h>

#include "libipc/protocols/memory.hpp"
#include "libipc/syscall_transport.hpp"
#include "microkernel/abi/memory.hpp"

namespace memory_test {

inline ipc::SyscallTransport& transport()
{
    static ipc::SyscallTransport instance(nullptr);
    return instance;
}

// A page's worth of a pattern only `seed` produces.
inline uint64_t pattern(uint64_t seed, uint64_t index) { return (seed * 0x9E37'79B9'7F4A'7C15ull) ^ (index * 0xBF58'476D'1CE4'E5B9ull); }

} // namespace memory_test
