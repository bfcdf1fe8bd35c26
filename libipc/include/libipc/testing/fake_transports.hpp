// Fake transports for testing libipc code on the host: a server and its
// clients without a kernel (docs/ipc-libipc.md, "Testing a protocol on the
// host"; docs/new-server.md, "Test it"). Host only: it uses the C++ standard
// library, which ring-3 programs do not have.
//
//   FakeTransport      a client's transport that runs the server synchronously
//                      inside call(), with the kernel's checks on messages and
//                      handle transfer; dispatching<P>(handler) makes its server
//   ScriptedTransport  a server's transport that replays a script of incoming
//                      messages and records the replies (for ipc::serve)
//   ThreadedEndpoint   two transports, for a client thread and a server thread,
//                      blocking like the kernel's endpoint
//
//   kv::Service service;
//   ipc::testing::FakeTransport transport(ipc::testing::dispatching<kv::Protocol>(service));
//   ipc::Client<kv::Protocol> client(transport, 1);
//   auto got = client.call<kv::Get>(...);
#pragma once

#include "libipc/protocol.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace ipc::testing {

// One task's handle table, as far as handle transfer needs it: index ->
// object (any number naming a kernel object). Like the kernel's, a copy gets
// the next free index of the receiving table, so the two sides of a
// transfer see different numbers for one object.
struct FakeHandleTable {
    explicit FakeHandleTable(ipc::Handle first) : next(first) { }

    ipc::Handle add(uint64_t object)
    {
        if (full)
            return ipc::Handle { 0 };
        entries[next] = object;
        return next++;
    }
    std::optional<uint64_t> object(ipc::Handle handle) const
    {
        auto found = entries.find(handle);
        return found == entries.end() ? std::nullopt : std::optional<uint64_t>(found->second);
    }
    Result<void> close(ipc::Handle handle)
    {
        if (entries.erase(handle) == 0)
            return Error::BadHandle;
        closed.push_back(handle);
        return {};
    }

    std::map<ipc::Handle, uint64_t> entries;
    ipc::Handle next;
    bool full = false; // the kernel then delivers the message without the handle
    std::vector<ipc::Handle> closed;
};

// The kernel's work for a transferred handle: the sender's index in word 7
// becomes the receiver's index for a new copy (or the flag goes, if the
// receiver's table is full).
inline Result<void> transfer(const FakeHandleTable& from, FakeHandleTable& to, Message& message)
{
    if (!message.transfer_handle)
        return {};
    auto object = from.object(message.words[7]);
    if (!object)
        return Error::BadHandle;
    message.words[7] = to.add(*object);
    message.transfer_handle = message.words[7] != 0;
    return {};
}

// The kernel's work for one call, done synchronously: the request (with its
// MessageInfo through RSI's encoding, as the registers carry it), payload
// and handle go to the server side, `server` computes the reply there, and
// the reply, its payload and its handle come back. Each side has its own
// handle table (client_handles from index 10, server_handles from 200).
class FakeTransport final : public ipc::Transport {
public:
    using Server = std::function<Message(const Message& request, uint8_t* server_payload)>;

    explicit FakeTransport(Server server, ipc::Badge badge = 0) : m_server(std::move(server)), m_badge(badge) { }

    Result<Message> call(ipc::Handle endpoint, const Message& message) override
    {
        ++calls;
        last_endpoint = endpoint;
        if (!m_server)
            return Error::PeerGone;
        if (refuse_call) { // the kernel's answer before any server sees the call
            if (auto refused = refuse_call(endpoint))
                return *refused;
        }
        uint64_t info = IPC_TRY(ipc::encode_info(message)); // the kernel sees RSI, not the struct
        Message delivered = message;
        IPC_TRY(ipc::decode_info(info, delivered));
        if (delivered.transfer_handle && !endpoint_has_grant)
            return Error::NoRights;
        IPC_TRY(transfer(client_handles, server_handles, delivered));
        delivered.badge = m_badge;
        std::memcpy(server_buffer.data(), client_buffer.data(), delivered.payload_length);
        last_request = delivered;

        Message reply = m_server(delivered, server_buffer.data());
        if (!deliver_raw_replies) {
            // What the kernel does to a reply: checked info, and the handle
            // transferred (with the kernel change registry.hpp needs) or
            // stripped (the kernel before it).
            uint64_t reply_info = IPC_TRY(ipc::encode_info(reply));
            IPC_TRY(ipc::decode_info(reply_info, reply));
            if (!replies_transfer_handles)
                reply.transfer_handle = false;
            else if (transfer(server_handles, client_handles, reply).is_error())
                return Error::BadHandle; // the fake's stand-in for a refused reply
        }
        reply.badge = 0;
        std::memcpy(client_buffer.data(), server_buffer.data(), std::min<size_t>(reply.payload_length, ipc::kMaxPayload));
        return reply;
    }

    Result<void> close(ipc::Handle handle) override { return client_handles.close(handle); }
    Result<void> yield() override
    {
        if (!can_yield)
            return Error::Unsupported;
        ++yields;
        if (on_yield)
            on_yield();
        return {};
    }
    Result<void> sleep_ms(uint64_t milliseconds) override
    {
        if (!can_sleep)
            return Error::Unsupported;
        ++sleeps;
        slept_ms += milliseconds;
        if (on_sleep)
            on_sleep();
        return {};
    }
    uint8_t* payload() override { return client_buffer.data(); }

    // The server's own view of the fake kernel: its handle table and IPC
    // buffer, for ipc::dispatch(Transport&, ...), which closes unclaimed
    // handles through it.
    struct ServerSide final : ipc::Transport {
        explicit ServerSide(FakeTransport& kernel) : kernel(kernel) { }
        Result<void> close(ipc::Handle handle) override { return kernel.server_handles.close(handle); }
        uint8_t* payload() override { return kernel.server_buffer.data(); }
        FakeTransport& kernel;
    };

    void set_server(Server server) { m_server = std::move(server); }

    // Hand replies over exactly as the server made them, to see what the
    // client makes of ones the kernel would never deliver.
    bool deliver_raw_replies = false;
    // The kernel change the registry needs: handles travel in replies too.
    bool replies_transfer_handles = true;
    // Whether the client's endpoint handle has RightGrant.
    bool endpoint_has_grant = true;
    // When set and it answers an Error for the endpoint called, the call
    // fails with it before the server sees anything (a server that has
    // ended: PeerGone).
    std::function<std::optional<Error>(ipc::Handle endpoint)> refuse_call;
    int calls = 0;
    int yields = 0;
    std::function<void()> on_yield;
    // Whether yield() and sleep_ms() are supported (else Unsupported, uncounted).
    bool can_yield = true;
    bool can_sleep = true;
    int sleeps = 0;
    uint64_t slept_ms = 0;
    std::function<void()> on_sleep;
    ipc::Handle last_endpoint = 0;
    Message last_request;
    std::array<uint8_t, ipc::kMaxPayload> client_buffer {};
    std::array<uint8_t, ipc::kMaxPayload> server_buffer {};
    FakeHandleTable client_handles { 10 };
    FakeHandleTable server_handles { 200 };
    ServerSide server_side { *this };

private:
    Server m_server;
    ipc::Badge m_badge;
};

// A FakeTransport::Server that runs libipc's dispatch for protocol P.
template<typename P, typename Handler>
FakeTransport::Server dispatching(Handler& handler)
{
    return [&handler](const Message& request, uint8_t* payload) {
        Message reply;
        ipc::dispatch<P>(request, payload, handler, reply);
        return reply;
    };
}

// A FakeTransport::Server that runs dispatch on the server's side of
// `transport`: handles nobody takes are closed in the server's table.
template<typename P, typename Handler>
void serve_with_handles(FakeTransport& transport, Handler& handler)
{
    transport.set_server([&transport, &handler](const Message& request, uint8_t*) {
        Message reply;
        ipc::dispatch<P>(transport.server_side, request, handler, reply);
        return reply;
    });
}

// A FakeTransport::Server that answers every request with `reply` and
// `payload` bytes (for malformed replies).
inline FakeTransport::Server answering(Message reply, std::vector<uint8_t> payload = {})
{
    return [reply, payload](const Message&, uint8_t* buffer) {
        std::copy_n(payload.begin(), std::min(payload.size(), ipc::kMaxPayload), buffer);
        return reply;
    };
}

// The server side of a serve loop, replaying incoming messages (or errors)
// and recording the replies.
class ScriptedTransport final : public ipc::Transport {
public:
    struct Incoming {
        Message message;
        std::vector<uint8_t> payload;
        std::optional<Error> error; // returned instead of the message
    };

    Result<Message> receive(ipc::Handle endpoint) override
    {
        ++receives;
        if (endpoint != kEndpoint)
            return Error::BadHandle; // as the kernel would: the loop stops, and the test sees it
        return next();
    }
    Result<Message> reply_receive(ipc::Handle endpoint, const Message& reply) override
    {
        if (endpoint != kEndpoint)
            return Error::BadHandle;
        replies.push_back(reply);
        reply_payloads.emplace_back(buffer.begin(), buffer.begin() + std::min<size_t>(reply.payload_length, buffer.size()));
        return next();
    }
    uint8_t* payload() override { return buffer.data(); }

    static constexpr ipc::Handle kEndpoint = 7;
    std::deque<Incoming> script;
    std::vector<Message> replies;
    std::vector<std::vector<uint8_t>> reply_payloads;
    int receives = 0;
    std::array<uint8_t, ipc::kMaxPayload> buffer {};

private:
    Result<Message> next()
    {
        if (script.empty())
            return Error::BadHandle; // the end of the script: the loop must stop
        Incoming incoming = script.front();
        script.pop_front();
        if (incoming.error)
            return *incoming.error;
        std::copy(incoming.payload.begin(), incoming.payload.end(), buffer.begin());
        return incoming.message;
    }
};

// One endpoint between two threads, blocking like the kernel's: a client's
// call waits for the server's reply; the server's receive waits for a call.
class ThreadedEndpoint {
public:
    struct Side final : ipc::Transport {
        Side(ThreadedEndpoint& endpoint, ipc::Badge badge) : endpoint(endpoint), badge(badge) { }

        Result<Message> call(ipc::Handle, const Message& message) override
        {
            std::unique_lock lock(endpoint.m_mutex);
            if (endpoint.m_closed)
                return Error::PeerGone;
            Message request = message;
            request.badge = badge;
            endpoint.m_request = Parcel { request, { buffer.begin(), buffer.begin() + message.payload_length } };
            endpoint.m_changed.notify_all();
            endpoint.m_changed.wait(lock, [&] { return endpoint.m_reply.has_value() || endpoint.m_closed; });
            if (!endpoint.m_reply)
                return Error::PeerGone;
            Parcel reply = *endpoint.m_reply;
            endpoint.m_reply.reset();
            std::copy(reply.payload.begin(), reply.payload.end(), buffer.begin());
            return reply.message;
        }
        Result<Message> receive(ipc::Handle) override
        {
            std::unique_lock lock(endpoint.m_mutex);
            endpoint.m_changed.wait(lock, [&] { return endpoint.m_request.has_value() || endpoint.m_closed; });
            if (!endpoint.m_request)
                return Error::PeerGone;
            Parcel request = *endpoint.m_request;
            endpoint.m_request.reset();
            std::copy(request.payload.begin(), request.payload.end(), buffer.begin());
            return request.message;
        }
        Result<Message> reply_receive(ipc::Handle handle, const Message& reply) override
        {
            {
                std::lock_guard lock(endpoint.m_mutex);
                endpoint.m_reply = Parcel { reply, { buffer.begin(), buffer.begin() + reply.payload_length } };
                endpoint.m_changed.notify_all();
            }
            return receive(handle);
        }
        uint8_t* payload() override { return buffer.data(); }

        ThreadedEndpoint& endpoint;
        ipc::Badge badge;
        std::array<uint8_t, ipc::kMaxPayload> buffer {};
    };

    // The client is done: the server's next receive fails.
    void close()
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        m_changed.notify_all();
    }

private:
    struct Parcel {
        Message message;
        std::vector<uint8_t> payload;
    };
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::optional<Parcel> m_request;
    std::optional<Parcel> m_reply;
    bool m_closed = false;
};


} // namespace ipc::testing
