// The console in ring 0 (docs/placement.md): the console server's own
// ConsoleService (servers/console), compiled into the kernel and answering
// the console protocol as a KernelService in the caller's thread. The
// registry publishes it as "console", so programs find it as they find the
// server, and send it the same messages.
//
// What ring 0 changes:
//   - output: a Write goes to COM1 under the kernel log's lock, so a
//     client's line and a kernel line never split each other; the kernel
//     log itself goes straight to COM1 (no console task takes it over).
//   - input: COM1's interrupt calls the service right in the interrupt
//     handler, which drains the UART into the input ring and signals the
//     subscribers' notifications.
//   - nothing ever waits: Read answers with what is buffered, as in ring 3;
//     a Write that finds another CPU writing spins on the service's lock
//     where, in ring 3, it would queue on the console's endpoint.
// The lock is a spin lock (the interrupt takes it too), so every backend
// operation is short and never blocks: the bytes of a Write are read from
// the caller's IPC buffer through the physmap (object/kernel_service.hpp).
#include "services.hpp"

#include "../arch/x86_64/serial.hpp"
#include "../object/endpoint.hpp"
#include "../object/notification.hpp"
#include "../ipc/ipc.hpp"
#include "../ipc/ipc_internal.hpp"
#include "../ipc/irq.hpp"
#include "../sched/scheduler.hpp"
#include "../log.hpp"
#include "in_kernel_service.hpp"
#include "servers/console/console_service.hpp"

namespace herald {

namespace {

constexpr u8 kCom1Irq = 4; // COM1's ISA interrupt

// A subscriber is a reference to its notification: the kernel's own, taken
// from the caller's handle when it subscribed (the caller keeps its handle).
class KernelBackend final : public console::Backend {
public:
    void write(const uint8_t* bytes, size_t length) override { kernel_log_write_console_bytes(bytes, length); }

    bool receive(uint8_t& byte) override { return serial::receive(byte); }

    // The handle is the caller's (kernel_service.hpp): a notification it
    // may signal, which somebody can still wait on (what the ring-3
    // console's check with a signal of no bits answers too).
    ipc::Result<console::Subscriber> keep(ipc::Handle handle) override
    {
        auto notification = lookup<Notification>(current_thread(), handle, abi::RightSend);
        if (notification.is_error())
            return notification.error() == Error::NoRights ? ipc::Error::NoRights : ipc::Error::BadHandle;
        if (!notification.value()->can_be_waited_on())
            return ipc::Error::PeerGone;
        // The subscriber holds our reference now, until drop() adopts it back.
        return reinterpret_cast<console::Subscriber>(notification.value().leak());
    }

    bool signal(console::Subscriber subscriber, uint64_t bits) override
    {
        Notification& notification = *reinterpret_cast<Notification*>(subscriber);
        if (!notification.can_be_waited_on())
            return false;
        notification.signal(bits);
        return true;
    }

    void drop(console::Subscriber subscriber) override
    {
        Ref<Notification>::adopt(*reinterpret_cast<Notification*>(subscriber)).clear(); // from keep()
    }
};

SpinLock g_lock;
KernelBackend g_backend;
console::ConsoleService g_service;
InKernelService<ipc::console::Protocol, console::ConsoleService> g_object(g_service, g_lock);
bool g_running;

void input_interrupt()
{
    SpinLockGuard guard(g_lock);
    g_service.input_arrived();
}

} // namespace

bool console_in_kernel() { return true; }

Ref<KernelObject> console_start_in_kernel()
{
    g_service.init(g_backend);
    if (bind_isa_irq_to_kernel(kCom1Irq, input_interrupt))
        serial::enable_receive_interrupt();
    else
        klog("herald: warning: COM1's interrupt cannot be routed: the console gets no input");
    {
        SpinLockGuard guard(g_lock);
        g_service.input_arrived(); // bytes typed before we were here
    }
    __atomic_store_n(&g_running, true, __ATOMIC_RELEASE);
    klog("herald: console in the kernel: it writes to COM1 under the kernel log's lock");
    return console_client_object();
}

u64 console_start_server() { return 0; }

Ref<KernelObject> console_client_object()
{
    if (!__atomic_load_n(&g_running, __ATOMIC_ACQUIRE))
        return {};
    return Ref<KernelObject>(g_object);
}

} // namespace herald
