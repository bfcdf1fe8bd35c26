// System-call dispatch (ABI: abi/syscalls.hpp, docs/syscalls.md): the
// handlers are in handlers.hpp; what the entry code calls,
// syscalls_init_this_cpu() and handle_syscall(), is in the trap interface.
#pragma once

#include "../arch/x86_64/traps.hpp"
