// The console in ring 3 (docs/system.md, "The console"): the console server
// (servers/console), started from the boot archive with COM1's ports, COM1's
// interrupt as a notification bound to its endpoint, and KernelLog; from
// then on it prints the kernel log (kernel_log_attach). It publishes itself
// in the registry. ServerTask starts it again once it has ended
// (boot_servers.cpp): with a fresh endpoint and notification, COM1's
// interrupt moved over to the new notification, the kernel log attached
// to the new task. The old endpoint, with no receiver (its callers get
// PeerGone), and its notification, which nothing signals any more, go once
// the last handle to the endpoint is closed (Endpoint::release_binding).
#include "services.hpp"

#include "../abi/ipc.hpp"
#include "../abi/task.hpp"
#include "../bootstrap.hpp"
#include "../object/endpoint.hpp"
#include "../object/notification.hpp"
#include "../ipc/irq.hpp"
#include "../log.hpp"
#include "../object/kernel_log_control.hpp"
#include "../object/task_object.hpp"
#include "../sync/spinlock.hpp"
#include "../task/program_loader.hpp"

namespace herald {

namespace {

// COM1 (PC16550D at the PC's standard address) and its ISA interrupt.
constexpr u16 kCom1Base = 0x3F8;
constexpr u16 kCom1Ports = 8;
constexpr u8 kCom1Irq = 4;

// Set once the server runs, replaced at a restart; the kernel's reference
// keeps the endpoint alive after the server ends (then every Call on it
// gets PeerGone) until the next console is running.
SpinLock g_endpoint_lock;
Endpoint* g_endpoint GUARDED_BY(g_endpoint_lock);
bool g_interrupt_bound; // COM1's interrupt reaches a console's notification (only the first start binds it)

void route_input(Notification& input)
{
    bool routed = g_interrupt_bound ? rebind_isa_irq(kCom1Irq, input) : bind_isa_irq(kCom1Irq, input, abi::kConsoleInputBit);
    g_interrupt_bound = g_interrupt_bound || routed;
    if (!routed)
        klog("herald: warning: COM1's interrupt cannot be routed: the console gets no input");
}

void set_endpoint(Endpoint& endpoint)
{
    Endpoint* previous;
    {
        SpinLockGuard guard(g_endpoint_lock);
        previous = g_endpoint;
        g_endpoint = Ref<Endpoint>(endpoint).leak();
    }
    if (previous) {
        // COM1's interrupt and the kernel log signal the new console's
        // notification now: the old pair is unbound, or each would keep the
        // other for ever (two kernel objects per restart).
        previous->release_binding();
        Ref<Endpoint>::adopt(*previous).clear();
    }
}

} // namespace

bool console_in_kernel() { return false; }

Ref<KernelObject> console_start_in_kernel() { return {}; }

u64 console_start_server()
{
    Ref<Endpoint> endpoint = Endpoint::create();
    Ref<Notification> input = Notification::create();
    if (!endpoint || !input)
        return 0;
    endpoint->bind(*input);
    route_input(*input); // before it starts: it reads what the UART holds once it runs
    SpawnOptions options;
    options.parameter = kServerEndpointHandle;
    options.io_port_first = kCom1Base;
    options.io_port_count = kCom1Ports;
    options.handles[1] = InitialHandle { &kernel_log_control(), abi::RightSend, 0, abi::kKernelLogHandle };
    Ref<TaskObject> object;
    u64 task = start_boot_server("console", options, endpoint.ptr(), abi::RightReceive | abi::RightSend | abi::RightGrant,
        &object);
    if (task) {
        klog("herald: console is task {}: from now on it prints the kernel log", task);
        kernel_log_attach(*input, abi::kConsoleLogBit, task);
        set_endpoint(*endpoint);
        boot_server_started(BootServerSlot::Console, move(object));
    } else {
        endpoint->release_binding(); // `input` stays while COM1's interrupt is bound to it
    }
    return task; // the endpoint, the interrupt binding and the log keep `input`
}

Ref<KernelObject> console_client_object()
{
    SpinLockGuard guard(g_endpoint_lock);
    return g_endpoint ? Ref<KernelObject>(*g_endpoint) : Ref<KernelObject>();
}

} // namespace herald
