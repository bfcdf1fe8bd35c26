// A server's portable service class (servers/*/..._service.hpp), answering
// in ring 0 as a KernelService (object/kernel_service.hpp): what the ring-3
// server's ipc::serve loop does for one message, done in the caller's thread.
//
//   InKernelService<ipc::console::Protocol, ConsoleService> g_object(g_service, g_lock);
//
// One lock per service, held around each request: the service classes were
// written for a single-threaded server, and here every CPU may call at once.
// It is a spin lock, so nothing the service does under it may block or
// fault: its backends reach user memory only through the physmap, and never
// wait for another task.
//
// Requests are decoded and dispatched by libipc (ipc::dispatch), with the
// caller's IPC buffer as the payload; a message with abi::kKernelBadge
// (which only the kernel itself can send: fault injection in the test and
// benchmark images) goes to the service's on_kernel_message, as in ring 3.
// A handle a request carries is the caller's own (kernel_service.hpp): if
// the service does not take it, it stays with the caller; nothing is closed.
#pragma once

#include "libipc/protocol.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/ipc/ipc.hpp"
#include "microkernel/mm/address_space.hpp"
#include "microkernel/object/kernel_service.hpp"
#include "microkernel/smp/tlb_shootdown.hpp"
#include "microkernel/sync/spinlock.hpp"

namespace herald {

// Whether the service reads and writes payloads. The ring-3 memory server
// registers no IPC buffer, so the kernel drops a payload sent to it
// (payload_length 0, docs/ipc.md); its ring-0 twin (WithoutPayload) does
// the same, and so answers a hostile caller exactly alike.
enum class Payloads : u8 { WithPayload, WithoutPayload };

// How a caller waits for the service's lock. The memory service's holder
// used to start TLB shootdowns with it held (an unmap in a task that may
// run on other CPUs), so a CPU waiting for that lock answers them
// meanwhile; it lets the lock go for them now (memory_in_kernel.cpp), and
// the answering stays: free when the lock is (tlb_shootdown.hpp).
enum class LockWait : u8 { Spin, AnswerShootdowns };

template<typename Protocol, typename Service, Payloads kPayloads = Payloads::WithPayload, LockWait kWait = LockWait::Spin>
class InKernelService final : public KernelService {
public:
    InKernelService(Service& service, SpinLock& lock)
        : m_service(service)
        , m_lock(lock)
    {
    }

    ErrorOr<IpcMessage> call(Thread& caller, const IpcMessage& request) override
    {
        ipc::Message in;
        ipc::Message out;
        if (ipc::decode_info(request.info, in).is_error()) {
            out = ipc::make_error_reply(ipc::Error::BadMessage, 0); // not reached: ipc.cpp checked the bits
        } else {
            for (usize i = 0; i < abi::kMessageWords; ++i)
                in.words[i] = request.words[i];
            in.badge = request.badge;
            bool has_payload = in.payload_length > 0;
            if constexpr (kPayloads == Payloads::WithoutPayload) {
                // Checked as for any service; no view is held through the answer.
                if (has_payload && !view_ipc_buffer(caller))
                    return Error::BadAddress;
                in.payload_length = 0; // dropped, as for the ring-3 server, which has no buffer
            }
            SpinLockGuard guard(m_lock, adopt_lock, lock());
            if (in.badge & abi::kKernelBadge) {
                in.payload_length = 0; // the kernel's own messages carry none
                answer_kernel(in, out);
            } else {
                // The view only under the lock (kernel_service.hpp): one
                // answer long, not as long as the queue for the lock. It
                // ends before the guard lets the lock go. One look-up both
                // checks the buffer and takes the view.
                PageView buffer = view_buffer(caller);
                if (!buffer && in.payload_length > 0) // zero for a service without payloads (above)
                    return Error::BadAddress;
                (void)ipc::dispatch<Protocol>(in, buffer.data(), m_service, out); // an unclaimed handle is the caller's
            }
        }
        IpcMessage reply { ipc::encode_info(out).value(), {}, 0 }; // dispatch never makes a reply too long
        for (usize i = 0; i < abi::kMessageWords; ++i)
            reply.words[i] = out.words[i];
        return reply;
    }

private:
    static PageView view_buffer(Thread& caller)
    {
        if constexpr (kPayloads == Payloads::WithPayload)
            return view_ipc_buffer(caller);
        else
            return {};
    }

    SavedInterrupts lock() ACQUIRE(m_lock) NO_THREAD_SAFETY_ANALYSIS
    {
        if constexpr (kWait == LockWait::AnswerShootdowns)
            return lock_answering_shootdowns(m_lock);
        else
            return m_lock.lock();
    }

    void answer_kernel(const ipc::Message& in, ipc::Message& out)
    {
        out = ipc::make_error_reply(ipc::Error::UnknownLabel, in.label);
        if constexpr (requires(Service& s, const ipc::Message& m, ipc::Message& r) { s.on_kernel_message(m, r); }) {
            ipc::Message reply;
            if (m_service.on_kernel_message(in, reply) == ipc::KernelMessage::Answered)
                out = reply;
        }
    }

    Service& m_service;
    SpinLock& m_lock;
};

} // namespace herald
