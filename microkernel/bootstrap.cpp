#include "bootstrap.hpp"

#include "abi/ipc.hpp"
#include "abi/faults.hpp"
#include "abi/task.hpp"
#include "boot/boot_archive.hpp"
#include "kernel.hpp"
#include "object/device_memory.hpp"
#include "object/endpoint.hpp"
#include "object/fault_control.hpp"
#include "object/interrupt.hpp"
#include "object/io_port_range.hpp"
#include "pager/pager.hpp"
#include "log.hpp"
#include "services/services.hpp"
#include "object/system_control.hpp"
#include "task/program_loader.hpp"

namespace herald {

namespace {

// The servers built into the kernel, by their registry slot (abi/task.hpp):
// each a KernelService the registry publishes under its name.
// The references here go at the end of the bootstrap: the registry's
// handles keep their own.
struct Builtins {
    Ref<KernelObject> services[abi::kRegistryBuiltins] {};
};

u64 start_registry(const Builtins& builtins)
{
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint)
        return 0;
    SpawnOptions options;
    options.parameter = kServerEndpointHandle;
    options.handles[1 + abi::kRegistryBuiltins] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::kTaskListHandle };
    for (u64 i = 0; i < abi::kRegistryBuiltins; ++i) {
        if (!builtins.services[i])
            continue;
        options.parameter |= 1ull << (abi::kRegistryBuiltinShift + i);
        // With the grant right: a client may send the service a handle (Subscribe, SpawnWith).
        // With the mint right: the registry hands each client a copy badged with its id (docs/ipc.md).
        options.handles[1 + i] = InitialHandle { builtins.services[i].ptr(), abi::RightSend | abi::RightGrant | abi::RightMint, 0,
            abi::kRegistryBuiltinHandle + i };
    }
    u64 task = start_boot_server("registry", options, endpoint.ptr(), abi::RightReceive | abi::RightGrant);
    if (task)
        set_name_registry(endpoint.ptr());
    return task; // the registry's handle and set_name_registry keep the endpoint
}

// A server's part of the bootstrap line: its task id, or "kernel" when it
// is built into ring 0.
StringView describe(char* buffer, usize size, u64 task, bool in_kernel)
{
    BufferSink sink(buffer, size);
    if (in_kernel)
        format(sink, "kernel");
    else
        format(sink, "{}", task);
    return sink.view();
}

// The PCI server (servers/pci, docs/drivers.md): the roots of the device
// capabilities, and segment 0's ECAM area (ACPI MCFG) as its parameter.
u64 start_pci()
{
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint)
        return 0;
    SpawnOptions options;
    const McfgAreas& ecam = pci_ecam_areas();
    for (usize i = 0; i < ecam.count; ++i) {
        if (ecam.areas[i].segment == 0 && ecam.areas[i].start_bus == 0)
            options.parameter = ecam.areas[i].base | ecam.areas[i].end_bus;
    }
    options.handles[1] = InitialHandle { &IoPortRange::root(), abi::RightsAll, 0, kPciIoPortsRootHandle };
    options.handles[2] = InitialHandle { &Interrupt::root(), abi::RightsAll, 0, kPciInterruptRootHandle };
    options.handles[3] = InitialHandle { &DeviceMemory::root(), abi::RightsAll, 0, kPciDeviceMemoryRootHandle };
    // TaskList: which program a client's badge (its task id) belongs to.
    options.handles[4] = InitialHandle { &system_control(), abi::RightReceive, 0, kPciTaskListHandle };
    // DMA memory for drivers (docs/drivers.md): the memory service answers
    // AllocateDma and ReleaseDma only on a handle with this badge.
    Ref<KernelObject> memory = pager_client_object();
    if (memory)
        options.handles[5] = InitialHandle { memory.ptr(), abi::RightSend, abi::kDmaAuthorityBadge, kPciDmaAuthorityHandle };
    // RightMint: it publishes a handle the registry badges for each client.
    u64 task = start_boot_server("pci", options, endpoint.ptr(), abi::RightsAll);
    if (task)
        klog("herald: pci server is task {}: it holds the device capabilities' roots", task);
    return task; // its handle keeps the endpoint
}

u64 start_init()
{
    SpawnOptions options;
    options.handles[0] = InitialHandle { &system_control(), abi::RightSend | abi::RightReceive, 0, abi::kSystemControlHandle };
    // faults=on only: init passes it to the injector (abi/faults.hpp).
    if (FaultControl::enabled())
        options.handles[1] = InitialHandle { &fault_control(), abi::RightSend | abi::RightReceive, 0, abi::kFaultControlHandle };
    return start_boot_server("init", options, nullptr, 0);
}

} // namespace

u64 start_boot_server(const char* name, SpawnOptions& options, Endpoint* endpoint, u32 rights, Ref<TaskObject>* object)
{
    if (endpoint)
        options.handles[0] = InitialHandle { endpoint, rights, 0, kServerEndpointHandle };
    auto program = find_boot_program(name);
    if (program.is_error()) {
        klog("herald: cannot start {}: {} in the boot archive", name, error_name(program.error()));
        return 0;
    }
    auto task = spawn_program(name, program.value(), options, object);
    if (task.is_error()) {
        klog("herald: cannot start {}: {}", name, error_name(task.error()));
        return 0;
    }
    return task.value();
}

SystemTasks start_system(bool with_init)
{
    // Servers built into the kernel first: the registry publishes them.
    Builtins builtins;
    builtins.services[abi::kRegistryBuiltinConsole] = console_start_in_kernel();
    builtins.services[abi::kRegistryBuiltinLoader] = loader_start_in_kernel();
    SystemTasks tasks;
    tasks.registry = start_registry(builtins);
    tasks.console = console_start_server();
    tasks.loader = loader_start_server();
    tasks.pci = start_pci();
    if (with_init)
        tasks.init = start_init();
    char console[16];
    char loader[16];
    klog("herald: started registry (task {}), console ({}), loader ({}), init ({})", tasks.registry,
        describe(console, sizeof(console), tasks.console, console_in_kernel()),
        describe(loader, sizeof(loader), tasks.loader, loader_in_kernel()), tasks.init);
    return tasks;
}

} // namespace herald
