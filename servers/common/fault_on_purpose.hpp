// A server's answer to the fault-injection request (abi::kFaultInjectionLabel,
// docs/placement.md "Fault isolation"): a store through a null pointer, in
// whichever ring the server runs. In ring 3 the kernel kills the server
// with its one-line report and its clients get PeerGone; in ring 0 the same
// store is a kernel page fault, and the kernel panics.
//
// Honoured only for a message with abi::kKernelBadge, which no task can
// send: the check is here, shared by every server, so that none forgets it.
#pragma once

#include <stdint.h>

#include "libipc/message.hpp"
#include "microkernel/abi/ipc.hpp"

namespace herald::servers {

// The address written: inside page 0, which is never mapped (the kernel's
// own page 0 included), so the store faults in either ring.
inline constexpr uint64_t kNullAddress = 8;

inline bool is_fault_injection(const ipc::Message& message)
{
    return (message.badge & abi::kKernelBadge) && message.label == abi::kFaultInjectionLabel;
}

// Not inlined, so that the backtrace of a ring-0 panic names the service
// that faulted (the caller, one frame up).
[[gnu::noinline]] inline void fault_on_purpose()
{
    uint64_t address = kNullAddress;
    asm volatile("" : "+r"(address)); // the compiler must not know it is null (a known null store is a trap)
    *reinterpret_cast<volatile uint64_t*>(address) = 1;
}

} // namespace herald::servers
