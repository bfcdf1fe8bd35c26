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
//   - a payload: the caller's IPC buffer must be registered and still
//     mapped user-writable now (BadAddress otherwise); a service that takes
//     payloads (takes_payload()) gets it as `payload`, the buffer's page
//     through the physmap, and reads the request's bytes there and writes
//     the reply's bytes over them, as a ring-3 server does with its own
//     buffer. Nothing else of the caller's memory is touched. The caller's
//     other threads may have the page unmapped meanwhile; its frame stays
//     the caller's until the call returns (a PageView, mm/address_space.hpp),
//     so such a service must not wait for anything: a MemoryUnmap spins
//     until it is done. `payload` is nullptr when the caller has no usable
//     buffer (a reply that needs one is then an error reply), and for a
//     service that takes none;
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

#include "../task/thread.hpp"
#include "kernel_object.hpp"

namespace herald {

class KernelService : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::KernelService;

    // The reply to `request` (whose badge is that of the caller's handle);
    // its payload, if any, is already in `payload`.
    virtual IpcMessage call(Thread& caller, const IpcMessage& request, u8* payload) = 0;

    // Whether call() gets the caller's buffer (above). Not a virtual call:
    // read on every request.
    bool takes_payload() const { return m_takes_payload; }

protected:
    explicit KernelService(bool takes_payload = false) : KernelObject(kType), m_takes_payload(takes_payload) { }
    ~KernelService() = default;
    void destroy() override { } // services live as long as the kernel

private:
    bool m_takes_payload;
};

} // namespace herald
