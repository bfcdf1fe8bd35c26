// console: the console server (docs/system.md, "The console"). It alone may touch COM1
// (the kernel opened ports 0x3F8-0x3FF to it in the TSS's I/O bitmap and to
// nobody else), and COM1's interrupt reaches it as a notification bound to
// its endpoint. It serves the console protocol (libipc/protocols/console.hpp)
// to every task and publishes itself as "console".
//
// Output: each Write is written whole, so a client that sends whole lines
// never has them mixed with another's ('\n' goes out as CR LF). The kernel's
// own log lines come the same way: the kernel keeps them in a ring and
// signals kConsoleLogBit, and the console reads whole lines (LogRead) and
// prints them between clients' writes. Input: the interrupt makes it drain
// the receiver into a ring buffer and signal every subscriber; Read never
// waits. Nothing typed is dropped: with the buffer full, bytes stay in the
// UART, whose FIFO then fills, and QEMU stops reading the host until a Read
// makes room (and drains the UART again).
#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/console.hpp"
#include "libipc/protocols/registry.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace ipc::console;

// PC16550D registers (datasheet Table 2) at COM1.
constexpr uint16_t kCom1 = 0x3F8;
constexpr uint16_t kData = kCom1 + 0;
constexpr uint16_t kInterruptEnable = kCom1 + 1;
constexpr uint16_t kModemControl = kCom1 + 4;
constexpr uint16_t kLineStatus = kCom1 + 5;
constexpr uint8_t kEnableReceivedData = 0x01;
constexpr uint8_t kModemDtrRtsOut2 = 0x0B; // OUT2 lets the UART's interrupt out
constexpr uint8_t kLineStatusDataReady = 0x01;
constexpr uint8_t kLineStatusTxEmpty = 0x20;
constexpr int kTransmitSpinLimit = 100000; // a missing UART must not hang us

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

void put(uint8_t byte)
{
    for (int spin = 0; spin < kTransmitSpinLimit && !(inb(kLineStatus) & kLineStatusTxEmpty); ++spin)
        asm volatile("pause");
    outb(kData, byte);
}

class Console {
public:
    ipc::Result<Write::Reply> handle(Write, const ipc::Bytes& text, ipc::Badge)
    {
        for (uint32_t i = 0; i < text.length; ++i) {
            if (text.data[i] == '\n')
                put('\r');
            put(text.data[i]);
        }
        return Write::Reply { text.length };
    }

    ipc::Result<ipc::Bytes> handle(Read, const Read::Request& request, ipc::Badge)
    {
        drain_receiver(); // what the UART kept while the buffer was full
        uint32_t count = 0;
        while (count < request.max && count < sizeof(m_reply) && m_input_count > 0) {
            m_reply[count++] = m_input[m_input_head];
            m_input_head = (m_input_head + 1) % kInputBuffer;
            --m_input_count;
        }
        drain_receiver(); // into the room just made
        return ipc::Bytes { m_reply, count };
    }

    ipc::Result<ipc::Empty> handle(Subscribe, const ipc::WithHandle<>& request, ipc::Badge)
    {
        if (m_subscriber_count == kMaxSubscribers)
            signal_subscribers(0); // drops those whose waiter is gone
        if (m_subscriber_count == kMaxSubscribers)
            return kTooManySubscribers;
        m_subscribers[m_subscriber_count++] = request.handle;
        return ipc::Empty {};
    }

    // The interrupt: what the UART holds goes into the buffer, as far as it
    // has room; the rest waits in the UART (and the host) for the next Read.
    void drain_receiver()
    {
        bool any = false;
        while (m_input_count < kInputBuffer && (inb(kLineStatus) & kLineStatusDataReady)) {
            uint8_t byte = inb(kData);
            m_input[(m_input_head + m_input_count) % kInputBuffer] = byte;
            ++m_input_count;
            any = true;
        }
        if (any)
            signal_subscribers(kInputBit);
    }

private:
    // A signal nobody can ever wait for fails (PeerGone): that subscriber's
    // task is gone, and so is its entry.
    void signal_subscribers(uint64_t bits)
    {
        for (size_t i = 0; i < m_subscriber_count;) {
            if (ipc::sys::signal(m_subscribers[i], bits).is_error()) {
                (void)ipc::sys::handle_close(m_subscribers[i]);
                m_subscribers[i] = m_subscribers[--m_subscriber_count];
            } else {
                ++i;
            }
        }
    }

    uint8_t m_input[kInputBuffer] = {};
    size_t m_input_head = 0;
    size_t m_input_count = 0;
    uint8_t m_reply[ipc::kMaxPayload] = {};
    ipc::Handle m_subscribers[kMaxSubscribers] = {};
    size_t m_subscriber_count = 0;
};

Console g_console;

// The kernel log, whole lines, one batch per signal (kConsoleLogBit): if
// more is waiting the kernel signals again, and clients get served between
// batches.
void print_kernel_log()
{
    static uint8_t lines[4096];
    int64_t got = herald::user::syscall3(herald::user::number_of(herald::abi::SyscallNumber::LogRead),
        herald::abi::kKernelLogHandle, reinterpret_cast<uint64_t>(lines), sizeof(lines));
    if (got > 0)
        (void)g_console.handle(Write {}, ipc::Bytes { lines, static_cast<uint32_t>(got) }, 0);
}


// The console's protocol, plus its bound notification's bits (ipc::serve
// hands those to on_kernel_message): input arrived, kernel log lines wait.
class Server {
public:
    ipc::KernelMessage on_kernel_message(const ipc::Message& message, ipc::Message&)
    {
        if (message.badge == herald::abi::kNotificationBadge && message.label == herald::abi::kNotificationLabel) {
            if (message.words[0] & herald::abi::kConsoleInputBit)
                g_console.drain_receiver();
            if (message.words[0] & herald::abi::kConsoleLogBit)
                print_kernel_log();
        }
        return ipc::KernelMessage::NoAnswer;
    }

    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        return g_console.handle(operation, request, badge);
    }
};

Server g_server;

} // namespace

extern "C" int64_t herald_main(uint64_t endpoint)
{
    ipc::SyscallTransport& transport = herald::user::ipc();
    outb(kModemControl, kModemDtrRtsOut2);
    outb(kInterruptEnable, kEnableReceivedData);
    g_console.drain_receiver(); // bytes typed before we were here

    auto client_handle = ipc::sys::handle_mint(endpoint, herald::abi::RightSend | herald::abi::RightGrant, 0);
    if (client_handle.is_error()
        || ipc::registry::publish(transport, herald::abi::HandleRegistry, "console", client_handle.value()).is_error())
        herald::user::debug_write("console: cannot publish \"console\" in the registry");

    ipc::Error error = ipc::serve<Protocol>(transport, endpoint, g_server);
    herald::user::debug_write("console: receiving failed:");
    herald::user::debug_write(ipc::error_name(error));
    return 1;
}
