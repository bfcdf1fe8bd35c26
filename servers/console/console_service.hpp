// ConsoleService: the console's logic, the same code in ring 3 (the console
// server, servers/console/main.cpp) and in ring 0 (the console built into
// the kernel, microkernel/services/console_in_kernel.cpp); host-tested with
// a fake backend (tests/host/console_service_test.cpp).
//
// It serves the console protocol (libipc/protocols/console.hpp):
//   Write      the bytes go out in one piece ('\n' as CR LF): a client that
//              sends whole lines never has another's bytes inside them
//   Read       up to `max` buffered input bytes, maybe none: it never waits
//   Subscribe  a notification signalled with kInputBit when input arrives
//   Echo       like Write, for the line being typed (open_line.hpp): other
//              output that comes while it is open goes on a line of its
//              own, and the typed line is drawn again after it
// and, when the device says it has input (input_arrived), moves the bytes
// the UART holds into a kInputBuffer-byte ring and signals every subscriber.
// Nothing typed is dropped: with the ring full, bytes stay in the UART, whose
// FIFO then fills, and QEMU stops reading the host (a terminal, a pipe)
// until a Read makes room, which drains the UART again.
//
// What differs between the rings is only how the service reaches the
// device and the subscribers: the Backend.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/console.hpp"
#include "open_line.hpp"

namespace herald::console {

// A subscriber as the backend names it: in ring 3 the console's own copy of
// the notification handle, in ring 0 a reference to the notification.
using Subscriber = uint64_t;

// How the service reaches the world. Not pure virtual (ring-3 programs have
// no __cxa_pure_virtual): the defaults do nothing or refuse.
class Backend {
public:
    // Writes `length` bytes to the serial port, '\n' as CR LF, with nothing
    // else (another client, a kernel log line) between them.
    virtual void write(const uint8_t* bytes, size_t length) { (void)bytes, (void)length; }
    // The next byte the UART holds, if it holds one.
    virtual bool receive(uint8_t& byte)
    {
        (void)byte;
        return false;
    }
    // The notification a Subscribe carried (its handle as the request
    // arrived: the console's own copy in ring 3, the caller's index in ring
    // 0), kept as a Subscriber; an error if it names no notification the
    // console may signal. Once this succeeds the subscriber is the service's.
    virtual ipc::Result<Subscriber> keep(ipc::Handle handle)
    {
        (void)handle;
        return ipc::Error::Unsupported;
    }
    // Signals `bits` on a subscriber; false if nobody can ever wait on it
    // again (its task ended): then the service drops it.
    virtual bool signal(Subscriber subscriber, uint64_t bits)
    {
        (void)subscriber, (void)bits;
        return false;
    }
    virtual void drop(Subscriber subscriber) { (void)subscriber; }

protected:
    Backend() = default;
    ~Backend() = default;
};

class ConsoleService {
public:
    // All zeros until init: a ring-3 program keeps it in .bss with no
    // constructor to run.
    void init(Backend& backend) { m_backend = &backend; }

    ipc::Result<ipc::console::Write::Reply> handle(ipc::console::Write, const ipc::Bytes& text, ipc::Badge);
    ipc::Result<ipc::Bytes> handle(ipc::console::Read, const ipc::console::Read::Request& request, ipc::Badge);
    ipc::Result<ipc::Empty> handle(ipc::console::Subscribe, const ipc::WithHandle<>& request, ipc::Badge);
    ipc::Result<ipc::console::Write::Reply> handle(ipc::console::Echo, const ipc::Bytes& text, ipc::Badge);

    // Output that is nobody's typing, from outside the protocol (the ring-3
    // console's kernel log lines): treated as a Write.
    void write_output(const uint8_t* bytes, size_t length);

    // The device interrupted: what the UART holds goes into the input ring,
    // as far as it has room, and subscribers are told (if any byte came).
    void input_arrived();

    // Messages only the kernel sends (badge abi::kKernelBadge): the
    // fault-injection request (abi::kFaultInjectionLabel, test and
    // benchmark images only) makes the service fault on purpose; NoAnswer
    // for anything else.
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply);

    size_t buffered() const { return m_input_count; }
    size_t subscribers() const { return m_subscriber_count; }

private:
    void signal_subscribers(uint64_t bits);
    void append_out(const uint8_t* bytes, size_t length);
    void append_open_line_again();
    void send_out();

    Backend* m_backend { nullptr };
    uint8_t m_input[ipc::console::kInputBuffer] {};
    size_t m_input_head { 0 };
    size_t m_input_count { 0 };
    uint8_t m_reply[ipc::kMaxPayload] {};
    Subscriber m_subscribers[ipc::console::kMaxSubscribers] {};
    size_t m_subscriber_count { 0 };

    // The typed line and whether other output has gone out after it (then
    // it must be drawn again before it goes on), and whether the last byte
    // out ended a line.
    OpenLine m_open_line;
    bool m_open_line_interrupted { false };
    bool m_at_line_start { true };
    // One output, built whole and written in one piece: the newline that
    // leaves the typed line, the bytes, the typed line drawn again.
    uint8_t m_out[1 + ipc::kMaxPayload + 1 + OpenLine::kMaxLength] {};
    size_t m_out_length { 0 };
};

} // namespace herald::console
