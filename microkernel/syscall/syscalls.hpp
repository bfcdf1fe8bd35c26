// System-call dispatch (ABI: abi/syscalls.hpp, docs/syscalls.md).
#pragma once

namespace herald {

// Per CPU: IA32_STAR/LSTAR/FMASK and EFER.SCE (SDM Vol. 3A §5.8.8).
void syscalls_init_this_cpu();

} // namespace herald
