#include "bootstrap.hpp"

#include "abi/ipc.hpp"
#include "abi/task.hpp"
#include "boot/boot_archive.hpp"
#include "ipc/endpoint.hpp"
#include "ipc/irq.hpp"
#include "log.hpp"
#include "syscall/task_control.hpp"
#include "task/program_loader.hpp"

namespace herald {

namespace {

// COM1 (PC16550D at the PC's standard address) and its ISA interrupt.
constexpr u16 kCom1Base = 0x3F8;
constexpr u16 kCom1Ports = 8;
constexpr u8 kCom1Irq = 4;

u64 start(const char* name, SpawnOptions& options, Endpoint* endpoint, u32 endpoint_rights)
{
    if (endpoint)
        options.handles[0] = InitialHandle { endpoint, endpoint_rights, 0, kServerEndpointHandle };
    auto program = find_boot_program(name);
    if (program.is_error()) {
        klog("herald: cannot start {}: {} in the boot archive", name, error_name(program.error()));
        return 0;
    }
    auto task = spawn_program(name, program.value(), options);
    if (task.is_error()) {
        klog("herald: cannot start {}: {}", name, error_name(task.error()));
        return 0;
    }
    return task.value();
}

u64 start_registry()
{
    Endpoint* endpoint = Endpoint::create();
    if (!endpoint)
        return 0;
    SpawnOptions options;
    options.parameter = kServerEndpointHandle;
    u64 task = start("registry", options, endpoint, abi::RightReceive | abi::RightGrant);
    if (task)
        set_name_registry(endpoint);
    endpoint->release(); // the registry's handle and set_name_registry keep it
    return task;
}

u64 start_console()
{
    Endpoint* endpoint = Endpoint::create();
    Notification* input = Notification::create();
    if (!endpoint || !input) {
        if (endpoint)
            endpoint->release();
        if (input)
            input->release();
        return 0;
    }
    bind_notification(*endpoint, *input);
    if (!bind_isa_irq(kCom1Irq, *input, abi::kConsoleInputBit))
        klog("herald: warning: COM1's interrupt cannot be routed: the console gets no input");
    SpawnOptions options;
    options.parameter = kServerEndpointHandle;
    options.io_port_first = kCom1Base;
    options.io_port_count = kCom1Ports;
    options.handles[1] = InitialHandle { &kernel_log_control(), abi::RightSend, 0, abi::kKernelLogHandle };
    u64 task = start("console", options, endpoint, abi::RightReceive | abi::RightSend | abi::RightGrant);
    if (task) {
        klog("herald: console is task {}: from now on it prints the kernel log", task);
        kernel_log_attach(*input, abi::kConsoleLogBit, task);
    }
    input->release(); // the endpoint, the interrupt binding and the log keep it
    endpoint->release();
    return task;
}

u64 start_loader()
{
    Endpoint* endpoint = Endpoint::create();
    if (!endpoint)
        return 0;
    auto archive = boot_archive_pages();
    if (!archive) {
        klog("herald: no boot archive: no loader");
        endpoint->release();
        return 0;
    }
    SpawnOptions options;
    options.parameter = archive->length; // the archive's bytes, at abi::kArchiveViewBase
    options.map_archive = true;
    options.handles[1] = InitialHandle { &process_control(), abi::RightSend, 0, abi::kProcessControlHandle };
    u64 task = start("loader", options, endpoint, abi::RightReceive | abi::RightSend | abi::RightGrant);
    endpoint->release();
    return task;
}

u64 start_init()
{
    SpawnOptions options;
    options.handles[0] = InitialHandle { &system_control(), abi::RightSend, 0, abi::kSystemControlHandle };
    return start("init", options, nullptr, 0);
}

} // namespace

SystemTasks start_system(bool with_init)
{
    SystemTasks tasks;
    tasks.registry = start_registry();
    tasks.console = start_console();
    tasks.loader = start_loader();
    if (with_init)
        tasks.init = start_init();
    klog("herald: started registry (task {}), console ({}), loader ({}), init ({})", tasks.registry, tasks.console,
        tasks.loader, tasks.init);
    return tasks;
}

} // namespace herald
