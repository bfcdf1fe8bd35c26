// ReconnectingClient<P>: a Client of protocol P that reaches its server by
// name, and finds it again when the server has been restarted (its
// supervisor starts a new task with a fresh endpoint under the same name:
// docs/reliability.md).
//
//   ipc::ReconnectingClient<ipc::loader::Protocol> loader(transport, abi::HandleRegistry, "loader");
//   auto file = loader.call<ipc::loader::ReadFile>(name);  // idempotent: retried
//   auto task = loader.call<ipc::loader::Spawn>(program);  // not: ServerRestarted
//
// A call that fails with PeerGone (the server's task ended: before it took
// the call, while it held it, or long before, so that the handle names an
// endpoint nobody receives on) drops the handle. An operation marked
//
//   static constexpr bool idempotent = true;
//
// (doing it twice is the same as doing it once: a read, a lookup, a ping) is
// then sent again to the server the registry names now (lookup_waiting,
// `patience_ms` for the restart), up to `max_tries` calls in all; after that
// the caller gets PeerGone. Any other operation is not sent again: the
// server may have done it before it ended (a line printed, a task started),
// so the caller gets Error::ServerRestarted and decides; the next call
// looks the name up afresh. A lookup that fails (NotFound once the patience
// is spent) is returned as it is.
//
// Every other error (a handler's, BadMessage, ...) is the server's answer
// and is returned at once. Not thread-safe (neither is a Transport).
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"
#include "libipc/protocols/registry.hpp"

namespace ipc {

namespace detail {

template<typename Op>
constexpr bool idempotent()
{
    if constexpr (requires { Op::idempotent; })
        return Op::idempotent;
    else
        return false;
}

} // namespace detail

// Whether a ReconnectingClient may send Op again to a restarted server.
template<typename Op>
inline constexpr bool is_idempotent = detail::idempotent<Op>();

// Calls in all for one idempotent operation: the first, and two more to
// servers found again (a server that crashes at once every time is not
// retried forever: its supervisor backs off anyway).
inline constexpr uint32_t kDefaultCallTries = 3;
// How long a reconnect waits for the restarted server to publish its name:
// the supervisor notices an end within its poll (50 ms) and backs off at
// most kMaxBackoffMs (user/init), so 10 s covers a few restarts.
inline constexpr uint32_t kReconnectPatienceMs = 10'000;

template<typename P>
class ReconnectingClient {
    static_assert(P::is_valid, "ipc::ReconnectingClient<P>: P is not a valid protocol");

public:
    // `name` must outlive the client (a string literal, usually).
    constexpr ReconnectingClient(Transport& transport, Handle registry, const char* name,
        uint32_t max_tries = kDefaultCallTries, uint32_t patience_ms = kReconnectPatienceMs)
        : m_transport(&transport)
        , m_registry(registry)
        , m_name(name)
        , m_max_tries(max_tries == 0 ? 1 : max_tries)
        , m_patience_ms(patience_ms)
    {
    }

    // Starts from a handle the caller found already (it becomes the
    // client's: dropped once the server is gone).
    void adopt(Handle endpoint)
    {
        drop();
        m_endpoint = endpoint;
        m_connected_before = true;
    }

    // Before each call that is not idempotent, ping the server (one round
    // trip more): a handle to a server that ended a while ago is then found
    // stale, and the name looked up again, before anything is sent, instead
    // of the call failing with ServerRestarted. Worth it where the call
    // costs far more than a ping (the loader's Spawn); not for every line
    // of output.
    void ping_before_unsafe_calls(bool on) { m_ping_first = on; }

    template<typename Op>
    Result<typename Op::Reply> call(const typename Op::Request& request)
    {
        static_assert(P::template contains<Op>, "ipc::ReconnectingClient<P>::call<Op>: Op is not an operation of P");
        if constexpr (!is_idempotent<Op>) {
            if (m_ping_first && m_endpoint != herald::abi::HandleNone) {
                auto alive = ipc::ping(*m_transport, m_endpoint);
                if (alive.is_error() && alive.error() == Error::PeerGone)
                    drop();
            }
        }
        for (uint32_t tries = 1;; ++tries) {
            IPC_TRY(connect());
            auto reply = Client<P>(*m_transport, m_endpoint).template call<Op>(request);
            if (!reply.is_error() || reply.error() != Error::PeerGone)
                return reply;
            drop();
            if (!is_idempotent<Op>)
                return Error::ServerRestarted;
            if (tries >= m_max_tries)
                return Error::PeerGone; // it keeps going away: give up
        }
    }

    // The heartbeat (ipc::ping), never retried: it asks about this server.
    Result<void> ping()
    {
        IPC_TRY(connect());
        auto answered = ipc::ping(*m_transport, m_endpoint);
        if (answered.is_error() && answered.error() == Error::PeerGone)
            drop();
        return answered;
    }

    // The handle calls go through now (HandleNone until the first call, and
    // after the server went away).
    Handle endpoint() const { return m_endpoint; }
    // How many times the name was looked up again after the server went away.
    uint32_t reconnects() const { return m_reconnects; }

private:
    Result<void> connect()
    {
        if (m_endpoint != herald::abi::HandleNone)
            return {};
        Handle found = IPC_TRY(registry::lookup_waiting(*m_transport, m_registry, m_name, m_patience_ms));
        m_endpoint = found;
        if (m_connected_before)
            ++m_reconnects;
        m_connected_before = true;
        return {};
    }

    void drop()
    {
        if (m_endpoint != herald::abi::HandleNone)
            (void)m_transport->close(m_endpoint);
        m_endpoint = herald::abi::HandleNone;
    }

    Transport* m_transport;
    Handle m_registry;
    const char* m_name;
    uint32_t m_max_tries;
    uint32_t m_patience_ms;
    Handle m_endpoint { herald::abi::HandleNone };
    uint32_t m_reconnects { 0 };
    bool m_connected_before { false };
    bool m_ping_first { false };
};

} // namespace ipc
