// console: the console server (docs/system.md, "The console"), the ring-3
// placement of ConsoleService (console_service.hpp; the ring-0 one is
// microkernel/services/console_in_kernel.cpp). It alone may touch COM1 (the
// kernel opened ports 0x3F8-0x3FF to it in the TSS's I/O bitmap and to
// nobody else), and COM1's interrupt reaches it as a notification bound to
// its endpoint. It serves the console protocol (libipc/protocols/console.hpp)
// to every task and publishes itself as "console".
//
// This file is the ring-3 part only: the backend (port I/O, signals through
// handles), the serve loop, and the kernel log. The kernel keeps its log
// lines in a ring and signals kConsoleLogBit; the console reads whole lines
// (LogRead) and prints them between clients' writes, one batch per signal.
#include <stddef.h>
#include <stdint.h>

#include "console_service.hpp"
#include "libipc/protocols/registry.hpp"
#include "microkernel/abi/task.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;

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

// One thread serves everything, so a Write is never interrupted by another.
class PortBackend final : public console::Backend {
public:
    void write(const uint8_t* bytes, size_t length) override
    {
        for (size_t i = 0; i < length; ++i) {
            if (bytes[i] == '\n')
                put('\r');
            put(bytes[i]);
        }
    }
    bool receive(uint8_t& byte) override
    {
        if (!(inb(kLineStatus) & kLineStatusDataReady))
            return false;
        byte = inb(kData);
        return true;
    }
    // The handle came with the request: it is ours already. A signal of no
    // bits checks that it names a notification we may signal, which somebody
    // can wait on (the same answer the ring-0 console gives).
    ipc::Result<console::Subscriber> keep(ipc::Handle handle) override
    {
        IPC_TRY(ipc::sys::signal(handle, 0));
        return handle;
    }
    bool signal(console::Subscriber subscriber, uint64_t bits) override
    {
        return !ipc::sys::signal(subscriber, bits).is_error();
    }
    void drop(console::Subscriber subscriber) override { (void)ipc::sys::handle_close(subscriber); }
};

PortBackend g_backend;
console::ConsoleService g_console;

// The kernel log, whole lines, one batch per signal (kConsoleLogBit): if
// more is waiting the kernel signals again, and clients get served between
// batches.
void print_kernel_log()
{
    static uint8_t lines[4096];
    int64_t got = user::syscall3(user::number_of(abi::SyscallNumber::LogRead), abi::kKernelLogHandle,
        reinterpret_cast<uint64_t>(lines), sizeof(lines));
    if (got > 0)
        g_console.write_output(lines, static_cast<size_t>(got)); // not inside a typed line
}

// The console's protocol, plus its bound notification's bits (ipc::serve
// hands those to on_kernel_message): input arrived, kernel log lines wait.
class Server {
public:
    ipc::KernelMessage on_kernel_message(const ipc::Message& message, ipc::Message& reply)
    {
        if (message.badge == abi::kNotificationBadge && message.label == abi::kNotificationLabel) {
            if (message.words[0] & abi::kConsoleInputBit)
                g_console.input_arrived();
            if (message.words[0] & abi::kConsoleLogBit)
                print_kernel_log();
            return ipc::KernelMessage::NoAnswer;
        }
        return g_console.on_kernel_message(message, reply);
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
    ipc::SyscallTransport& transport = user::ipc();
    g_console.init(g_backend);
    outb(kModemControl, kModemDtrRtsOut2);
    outb(kInterruptEnable, kEnableReceivedData);
    g_console.input_arrived(); // bytes typed before we were here

    auto client_handle = ipc::sys::handle_mint(endpoint, abi::RightSend | abi::RightGrant, 0);
    if (client_handle.is_error()
        || ipc::registry::publish(transport, abi::HandleRegistry, "console", client_handle.value()).is_error())
        user::debug_write("console: cannot publish \"console\" in the registry");

    ipc::Error error = ipc::serve<ipc::console::Protocol>(transport, endpoint, g_server);
    user::debug_write("console: receiving failed:");
    user::debug_write(ipc::error_name(error));
    return 1;
}
