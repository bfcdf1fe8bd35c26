// The IPC operations libipc's clients and servers are written against.
//
// SyscallTransport (libipc/syscall_transport.hpp) does them with the real
// system calls; host tests substitute an in-process fake. Each operation
// mirrors one system call of microkernel/abi/syscalls.hpp.
//
// Not pure virtual: an abstract class's vtable refers to __cxa_pure_virtual,
// which ring-3 programs (no C++ runtime) do not have. Each operation a
// transport does not override answers Error::Unsupported instead, and the
// protected constructor keeps Transport itself from being instantiated.
// The destructor is protected and non-virtual for the same reason (a virtual
// one would need operator delete): nobody deletes a transport through a
// Transport pointer.
#pragma once

#include <stdint.h>

#include "libipc/message.hpp"
#include "libipc/result.hpp"

namespace ipc {

class Transport {
public:
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // IpcSend: returns once a receiver took the message.
    virtual Result<void> send(Handle endpoint, const Message& message)
    {
        (void)endpoint, (void)message;
        return Error::Unsupported;
    }
    // IpcReceive: the next message and the badge it came with.
    virtual Result<Message> receive(Handle endpoint)
    {
        (void)endpoint;
        return Error::Unsupported;
    }
    // IpcCall: sends and waits for the reply.
    virtual Result<Message> call(Handle endpoint, const Message& message)
    {
        (void)endpoint, (void)message;
        return Error::Unsupported;
    }
    // IpcReplyReceive: answers the last call received, then waits for the
    // next message on `endpoint`.
    virtual Result<Message> reply_receive(Handle endpoint, const Message& reply)
    {
        (void)endpoint, (void)reply;
        return Error::Unsupported;
    }
    // IpcReplySave: sets the reply right to the call just received aside,
    // as a handle, to answer later with reply_to (other calls first).
    virtual Result<Handle> save_reply() { return Error::Unsupported; }
    // IpcReplyTo: answers a saved reply; the handle is used up.
    virtual Result<void> reply_to(Handle saved_reply, const Message& reply)
    {
        (void)saved_reply, (void)reply;
        return Error::Unsupported;
    }
    // NotifySignal: ORs `bits` into a notification.
    virtual Result<void> signal(Handle notification, uint64_t bits)
    {
        (void)notification, (void)bits;
        return Error::Unsupported;
    }
    // NotifyWait: the bits that were set (and are now clear).
    virtual Result<uint64_t> wait(Handle notification, WaitMode mode, uint64_t timeout_ms = 0)
    {
        (void)notification, (void)mode, (void)timeout_ms;
        return Error::Unsupported;
    }
    // HandleClose: drops one of this task's handles (say, one that came in
    // a message nobody wanted).
    virtual Result<void> close(Handle handle)
    {
        (void)handle;
        return Error::Unsupported;
    }
    // Yield: lets other threads run first (a client waiting for a server
    // that has not registered yet, say).
    virtual Result<void> yield() { return Error::Unsupported; }
    // Sleep: blocks for at least `milliseconds` (waiting for something on
    // another CPU without spinning).
    virtual Result<void> sleep_ms(uint64_t milliseconds)
    {
        (void)milliseconds;
        return Error::Unsupported;
    }
    // The kMaxPayload-byte buffer the payload of outgoing messages is read
    // from and that of incoming ones lands in; nullptr if there is none.
    // Incoming bytes stay valid until the next operation on this transport.
    virtual uint8_t* payload() { return nullptr; }

protected:
    constexpr Transport() = default;
    ~Transport() = default;
};

} // namespace ipc
