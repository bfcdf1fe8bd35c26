// The console in ring 3 (docs/system.md, "The console"): the console server
// (servers/console), started from the boot archive with COM1's ports, COM1's
// interrupt as a notification bound to its endpoint, and KernelLog; from
// then on it prints the kernel log (kernel_log_attach). It publishes itself
// in the registry.
#include "services.hpp"

#include "../abi/ipc.hpp"
#include "../abi/task.hpp"
#include "../bootstrap.hpp"
#include "../object/endpoint.hpp"
#include "../object/notification.hpp"
#include "../ipc/irq.hpp"
#include "../log.hpp"
#include "../object/kernel_log_control.hpp"
#include "../task/program_loader.hpp"

namespace herald {

namespace {

// COM1 (PC16550D at the PC's standard address) and its ISA interrupt.
constexpr u16 kCom1Base = 0x3F8;
constexpr u16 kCom1Ports = 8;
constexpr u8 kCom1Irq = 4;

// Set once the server runs; the kernel's reference keeps the endpoint alive
// after the server ends (then every Call on it gets PeerGone).
Endpoint* g_endpoint;

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
    if (!bind_isa_irq(kCom1Irq, *input, abi::kConsoleInputBit))
        klog("herald: warning: COM1's interrupt cannot be routed: the console gets no input");
    SpawnOptions options;
    options.parameter = kServerEndpointHandle;
    options.io_port_first = kCom1Base;
    options.io_port_count = kCom1Ports;
    options.handles[1] = InitialHandle { &kernel_log_control(), abi::RightSend, 0, abi::kKernelLogHandle };
    u64 task = start_boot_server("console", options, endpoint.ptr(), abi::RightReceive | abi::RightSend | abi::RightGrant);
    if (task) {
        klog("herald: console is task {}: from now on it prints the kernel log", task);
        kernel_log_attach(*input, abi::kConsoleLogBit, task);
        // The kernel's reference, for as long as it runs.
        __atomic_store_n(&g_endpoint, Ref<Endpoint>(*endpoint).leak(), __ATOMIC_RELEASE);
    }
    return task; // the endpoint, the interrupt binding and the log keep `input`
}

Ref<KernelObject> console_client_object()
{
    Endpoint* endpoint = __atomic_load_n(&g_endpoint, __ATOMIC_ACQUIRE);
    return endpoint ? Ref<KernelObject>(*endpoint) : Ref<KernelObject>();
}

} // namespace herald
