// Fault isolation, side by side (docs/placement.md): the kernel asks one of
// the servers that can move (memory, loader, console) to fault on purpose,
// with the test-only request every server honours from the kernel alone
// (abi::kFaultInjectionLabel with abi::kKernelBadge, which no task can
// send). Linked only into the test and benchmark images: the normal images
// have no code that sends it.
//
//   ring 3   the server stores through a null pointer and is killed with
//            its one-line report; its clients get PeerGone, the rest runs
//   ring 0   the same store in the kernel: a kernel page fault, and the
//            kernel panics with its report
#pragma once

#include "../lib/types.hpp"
#include "services.hpp"

namespace herald {

// From a kernel thread (it blocks, in ring 3, until the server has gone).
// Ring 3: how the call ended, PeerGone once the server has died (0 if it
// answered, which it must not; NotFound-like BadHandle if the server is not
// running). Ring 0: does not return.
i64 inject_server_fault(Server server);

} // namespace herald
