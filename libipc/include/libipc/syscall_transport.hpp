// The Transport of ring-3 programs: the real IPC system calls
// (libipc/syscalls.hpp) and the calling thread's IPC buffer.
//
//     alignas(4096) uint8_t g_ipc_buffer[ipc::kMaxPayload];   // .bss, one page
//     ipc::SyscallTransport transport(g_ipc_buffer);
//     if (transport.register_buffer().is_error()) ...          // SetIpcBuffer
//
// The kernel keeps one IPC buffer per thread, so each thread needs its own
// buffer and its own SyscallTransport.
#pragma once

#include <stdint.h>

#include "libipc/syscalls.hpp"
#include "libipc/transport.hpp"

namespace ipc {

class SyscallTransport final : public Transport {
public:
    // `buffer`: kIpcBufferSize bytes, page-aligned; nullptr for a transport
    // that never carries payloads.
    constexpr explicit SyscallTransport(uint8_t* buffer) : m_buffer(buffer) { }

    // Tells the kernel where this thread's IPC buffer is. Without it,
    // payloads sent to this thread arrive as payload_length 0 and sending
    // one fails with BadAddress.
    Result<void> register_buffer() { return sys::set_ipc_buffer(m_buffer); }

    Result<void> send(Handle endpoint, const Message& message) override { return sys::send(endpoint, message); }
    Result<Message> receive(Handle endpoint) override { return sys::receive(endpoint); }
    Result<Message> call(Handle endpoint, const Message& message) override { return sys::call(endpoint, message); }
    Result<Message> reply_receive(Handle endpoint, const Message& reply) override
    {
        return sys::reply_receive(endpoint, reply);
    }
    Result<Handle> save_reply() override { return sys::reply_save(); }
    Result<void> reply_to(Handle saved_reply, const Message& reply) override { return sys::reply_to(saved_reply, reply); }
    Result<void> signal(Handle notification, uint64_t bits) override { return sys::signal(notification, bits); }
    Result<uint64_t> wait(Handle notification, WaitMode mode, uint64_t timeout_ms = 0) override
    {
        return sys::wait(notification, mode, timeout_ms);
    }
    Result<void> close(Handle handle) override { return sys::handle_close(handle); }
    Result<void> yield() override { return sys::yield(); }
    Result<void> sleep_ms(uint64_t milliseconds) override { return sys::sleep_ms(milliseconds); }
    uint8_t* payload() override { return m_buffer; }

private:
    uint8_t* m_buffer;
};

} // namespace ipc
