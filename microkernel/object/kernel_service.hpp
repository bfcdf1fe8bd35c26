// KernelService: an object whose Calls the kernel answers itself, at once,
// in the caller's thread: no server task, no switch. A server built into
// the kernel (memory, loader, console: docs/placement.md) is one, and
// programs stay the same in every placement: they call the same handles
// (abi::HandleMemory, or what the registry gives them) with the same
// messages.
//
// Only Call works on such a handle (Send, Receive and the rest get
// BadHandle). ipc/ipc.cpp checks a request as it checks any message before it
// reaches call():
//   - words, label and MessageInfo as for an endpoint (reserved bits,
//     length at most abi::kMaxPayload);
//   - a payload: the caller's IPC buffer must be registered (ipc.cpp checks)
//     and still mapped user-writable now: call() returns BadAddress
//     otherwise, and checks it itself. No view of it is held through
//     call(): a service that takes payloads (InKernelService, WithPayload)
//     takes its view (view_ipc_buffer, ipc/ipc.hpp), and so checks, only
//     once it holds its own lock; one that takes none checks with a view it
//     ends at once. The former reads the request's bytes there and
//     writes the reply's bytes over them, as a ring-3 server does with its
//     own buffer, and ends the view before it lets the lock go. Nothing
//     else of the caller's memory is touched. The caller's other threads
//     may have the page unmapped meanwhile; its frame stays the caller's
//     until the view ends (a PageView, mm/address_space.hpp), so such a
//     service must not wait for anything while it holds one: a MemoryUnmap
//     spins until it ends. Taken under the lock, at most one view a
//     service is held at a time, for one answer (not for the time its
//     callers queue for the lock). A request without a payload whose reply
//     needs the buffer, from a caller without a usable one, gets an error
//     reply;
//   - a handle "sent" along (transfer_handle, word 7) must be one of the
//     caller's and the service handle needs RightGrant, as for a transfer;
//     but it is not copied: word 7 keeps the caller's own index, which the
//     service looks up in the caller's table (and never closes: the caller
//     keeps it, as it keeps its own copy of a transferred handle).
// A reply may carry a handle too: the service has then installed it in the
// caller's table itself, and word 7 is the caller's new index for it.
//
// The service runs in the caller's thread, with interrupts on: it may take
// its own lock (one per service), but must not block while it holds it,
// nor fault (hence the payload through the physmap rather than through the
// caller's user addresses).
#pragma once

#include "../lib/error.hpp"
#include "../task/thread.hpp"
#include "kernel_object.hpp"

namespace herald {

class KernelService : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::KernelService;

    // The reply to `request` (whose badge is that of the caller's handle);
    // its payload, if any, is in the caller's IPC buffer (above), and
    // BadAddress if that is not mapped user-writable.
    virtual ErrorOr<IpcMessage> call(Thread& caller, const IpcMessage& request) = 0;

protected:
    KernelService() : KernelObject(kType) { }
    ~KernelService() = default;
    void destroy() override { } // services live as long as the kernel
};

} // namespace herald
