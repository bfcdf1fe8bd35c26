// rtc: the driver of the CMOS real-time clock (an MC146818A on the PC and in
// QEMU), the worked example of docs/drivers.md, "Writing a driver". It
// serves the clock protocol (libipc/protocols/clock.hpp) as "rtc".
//
// What it gets, and from where: its line in init.manifest (written by its
// CMakeLists.txt: `rtc 0 restart ports=0x70-0x71 irq=8`) lets it ask the PCI
// server for the CMOS ports 0x70-0x71 and for IRQ 8; it enables the ports,
// binds the line to a notification, and turns on the chip's update-ended
// interrupt (once a second, after the chip has moved its time on).
//
// Two threads, and all port I/O on the main one (the index/data pair must
// not be split between two threads): the main thread serves requests; the
// interrupt thread waits on the notification and Calls the main thread's
// endpoint with the internal Tick request, which reads register C (the chip
// releases its line), acknowledges the interrupt (the kernel unmasks it)
// and counts the update. Exits 2 when it is not granted the clock, 3 when
// it cannot set up (each with a log line).
#include <stdint.h>

#include "libipc/protocols/clock.hpp"
#include "libipc/protocols/registry.hpp"
#include "mc146818.hpp"
#include "servers/pci/pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

using namespace herald;

constexpr uint64_t kUpdateBit = 1;            // the notification bit IRQ 8 signals
constexpr uint64_t kLookAnywayMs = 2000;      // no interrupt for two updates: read C anyway
constexpr ipc::Badge kTickBadge = 0x7157;     // the interrupt thread's handle to our endpoint

// The internal request of the interrupt thread: "the line fired (or it has
// been quiet too long): look at register C".
struct Tick {
    static constexpr uint32_t label = 100;
    struct Request {
        uint64_t interrupted; // 1: the line fired, acknowledge it
    };
    using Reply = ipc::Empty;
};
using ServerProtocol = ipc::Protocol<ipc::clock::Now, Tick>;

int64_t call(abi::SyscallNumber number, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    return user::syscall3(user::number_of(number), a1, a2, a3);
}

uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }

// mc146818::RegisterReader over the ports (main thread only).
uint8_t read_register(void*, uint8_t index)
{
    outb(mc146818::kIndexPort, index);
    return inb(mc146818::kDataPort);
}

void write_register(uint8_t index, uint8_t value)
{
    outb(mc146818::kIndexPort, index);
    outb(mc146818::kDataPort, value);
}

ipc::Handle g_interrupt;
ipc::Handle g_notification;
ipc::Handle g_tick;
uint64_t g_updates;           // update-ended interrupts taken
bool g_said_error;            // a bad time was logged once

struct Server {
    ipc::Result<ipc::clock::Now::Reply> handle(ipc::clock::Now, const ipc::Empty&, ipc::Badge)
    {
        mc146818::DateTime time {};
        mc146818::TimeError error = mc146818::read_time(read_register, nullptr, time);
        if (error != mc146818::TimeError::None) {
            if (!g_said_error)
                user::println("rtc: cannot read the time: {}", mc146818::error_name(error));
            g_said_error = true;
            return error == mc146818::TimeError::NeverSteady ? ipc::clock::kBusy : ipc::clock::kInvalidTime;
        }
        return ipc::clock::Now::Reply { time.year, time.month, time.day, time.hour, time.minute, time.second, g_updates };
    }

    ipc::Result<ipc::Empty> handle(Tick, const Tick::Request& request, ipc::Badge badge)
    {
        if (badge != kTickBadge)
            return ipc::Error::Denied;
        // First the device stops asking (reading C clears its flags and
        // releases IRQ 8), then the kernel unmasks the line: the other order
        // could take the same interrupt twice.
        uint8_t flags = read_register(nullptr, mc146818::kRegisterC);
        if (request.interrupted)
            (void)call(abi::SyscallNumber::InterruptAck, g_interrupt);
        // Counted only when the line fired: an update seen by the
        // look-anyway path means an interrupt went missing.
        if (request.interrupted && (flags & mc146818::kUpdateEndedFlag))
            ++g_updates;
        return ipc::Empty {};
    }
};

Server g_server;

// The interrupt thread: wait for IRQ 8 (or kLookAnywayMs, in case an
// interrupt was lost), then have the main thread look. Register-only calls:
// this thread has no IPC buffer.
int64_t interrupt_loop(uint64_t)
{
    for (;;) {
        auto bits = ipc::sys::wait(g_notification, abi::WaitMode::Timeout, kLookAnywayMs);
        ipc::Message tick = ipc::make_message(Tick::label);
        tick.words[0] = !bits.is_error() && (bits.value() & kUpdateBit);
        if (ipc::sys::call(g_tick, tick).is_error())
            return 1;
    }
}

// The ports and the line, from the PCI server, as far as our manifest line
// grants them; false (with a log line) if not.
bool get_clock(ipc::Client<pci::Protocol>& pci)
{
    auto ports = pci.call<pci::RequestPorts>({ mc146818::kIndexPort, mc146818::kDataPort });
    if (ports.is_error()) {
        user::println("rtc: ports 0x70-0x71: {} (does init.manifest grant rtc ports=0x70-0x71?)", ipc::error_name(ports.error()));
        return false;
    }
    if (call(abi::SyscallNumber::IoPortEnable, ports.value().handle) != 0) {
        user::println("rtc: cannot enable ports 0x70-0x71");
        return false;
    }
    auto line = pci.call<pci::RequestIrq>({ mc146818::kIrq });
    if (line.is_error()) {
        user::println("rtc: IRQ 8: {} (does init.manifest grant rtc irq=8?)", ipc::error_name(line.error()));
        return false;
    }
    auto notification = ipc::sys::notification_create();
    if (notification.is_error())
        return false;
    int64_t bound = call(abi::SyscallNumber::InterruptBind, line.value().handle, notification.value(), kUpdateBit);
    if (bound != 0) {
        user::println("rtc: cannot bind IRQ 8: {}", ipc::error_name(static_cast<ipc::Error>(bound)));
        return false;
    }
    g_interrupt = line.value().handle;
    g_notification = notification.value();
    return true;
}

// An interrupt after every update; reading C clears a flag an earlier
// driver left set (with it set, the chip would never raise the line again).
void enable_update_interrupt()
{
    uint8_t b = read_register(nullptr, mc146818::kRegisterB);
    write_register(mc146818::kRegisterB, static_cast<uint8_t>(b | mc146818::kUpdateEndedEnable));
    (void)read_register(nullptr, mc146818::kRegisterC);
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    ipc::Handle pci_handle = user::find_server("pci");
    if (pci_handle == abi::HandleNone) {
        user::println("rtc: no pci server");
        return 2;
    }
    ipc::Client<pci::Protocol> pci(user::ipc(), pci_handle);
    if (!get_clock(pci))
        return 2;
    enable_update_interrupt();

    auto endpoint = ipc::sys::endpoint_create();
    if (endpoint.is_error())
        return 3;
    auto tick = ipc::sys::handle_mint(endpoint.value(), abi::RightSend, kTickBadge);
    auto for_clients = ipc::sys::handle_mint(endpoint.value(), abi::RightSend, 0);
    if (tick.is_error() || for_clients.is_error()
        || ipc::registry::publish(user::ipc(), abi::HandleRegistry, "rtc", for_clients.value()).is_error()) {
        user::println("rtc: cannot publish \"rtc\" (is another rtc running?)");
        return 3;
    }
    (void)ipc::sys::handle_close(for_clients.value());
    g_tick = tick.value();
    if (!user::thread_create(interrupt_loop, 0)) {
        user::println("rtc: no interrupt thread");
        return 3;
    }
    uint8_t b = read_register(nullptr, mc146818::kRegisterB);
    user::println("rtc: serving ({}, {}-hour)", b & mc146818::kBinary ? "binary" : "BCD", b & mc146818::k24Hour ? 24 : 12);
    ipc::Error error = ipc::serve<ServerProtocol>(user::ipc(), endpoint.value(), g_server);
    user::println("rtc: stopped: {}", ipc::error_name(error));
    return 1;
}
