// The memory service in ring 3 (docs/placement.md): the memory server, a
// ring-3 task (servers/memory/main.cpp), is the pager. Page faults reach it as Calls the kernel makes
// in the faulting thread's name (ipc_short_call_from_kernel); it answers after
// mapping a frame with its MemoryControl handle (object/memory_control.hpp).
#include "../pager/pager.hpp"

#include "../boot/boot_archive.hpp"
#include "../object/endpoint.hpp"
#include "../ipc/ipc.hpp"
#include "../log.hpp"
#include "../object/memory_control.hpp"
#include "../task/program_loader.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"
#include "../pager/managed_memory.hpp"

namespace herald {

namespace {

// Set once by pager_start(), before any other task exists; never cleared
// (the kernel's reference keeps the endpoint alive even if the server dies:
// then every fault gets PeerGone, and the faulting task is killed).
Endpoint* g_endpoint;
u64 g_server_task;

constexpr const char* kServerProgram = "memory";

} // namespace

const char* pager_mode_name() { return "server"; }

bool pager_in_kernel() { return false; }

void pager_start()
{
    managed_memory_take();
    auto program = find_boot_program(kServerProgram);
    if (program.is_error()) {
        klog("herald: no memory server in the boot archive ({}): user page faults kill their task",
            error_name(program.error()));
        return;
    }
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint) {
        klog("herald: warning: no memory for the memory server's endpoint");
        return;
    }
    SpawnOptions options;
    options.is_memory_server = true;
    options.cpu = 0; // its main thread serves CPU 0's faults, its other threads the other CPUs' (servers/memory/main.cpp)
    options.handles[0] = InitialHandle { endpoint.ptr(), abi::RightReceive, 0, abi::kMemoryEndpointHandle };
    options.handles[1] = InitialHandle { &memory_control(), abi::RightSend, 0, abi::kMemoryControlHandle };
    auto task = spawn_program(kServerProgram, program.value(), options);
    if (task.is_error()) {
        klog("herald: warning: cannot start the memory server: {}", error_name(task.error()));
        return;
    }
    g_server_task = task.value();
    __atomic_store_n(&g_endpoint, endpoint.leak(), __ATOMIC_RELEASE); // the kernel's reference, for good
    klog("herald: memory server is task {}", g_server_task);
}

void pager_task_ended(u64 task)
{
    // g_endpoint first: its release store publishes g_server_task.
    if (!__atomic_load_n(&g_endpoint, __ATOMIC_ACQUIRE) || task == 0 || task != g_server_task)
        return;
    klog("herald: warning: the memory server (task {}) ended: from now on a user page fault kills its task "
         "and no task gets more memory",
        task);
}

Ref<KernelObject> pager_client_object()
{
    Endpoint* endpoint = __atomic_load_n(&g_endpoint, __ATOMIC_ACQUIRE);
    return endpoint ? Ref<KernelObject>(*endpoint) : Ref<KernelObject>();
}

abi::PageFaultVerdict pager_resolve_fault(Thread& thread, u64 address, u64 error_code)
{
    Endpoint* endpoint = __atomic_load_n(&g_endpoint, __ATOMIC_ACQUIRE);
    if (!endpoint || thread.task->id == g_server_task)
        return abi::PageFaultVerdict::PagerUnavailable; // the pager cannot page itself
    count<Event::FaultsPager>();
    auto answer = ipc_short_call_from_kernel(thread, *endpoint, abi::MessageInfo { abi::kPageFaultLabel, 0, false }.encode(),
        thread.task->id, address, error_code);
    if (answer.is_error())
        return abi::PageFaultVerdict::PagerUnavailable;
    KernelCallAnswer reply = answer.value();
    if (abi::MessageInfo::decode(reply.info).label != abi::kPageFaultLabel
        || reply.word0 > static_cast<u64>(abi::PageFaultVerdict::OverLimit)
        || reply.word0 == static_cast<u64>(abi::PageFaultVerdict::PagerUnavailable))
        return abi::PageFaultVerdict::PagerUnavailable; // an answer that is none
    return static_cast<abi::PageFaultVerdict>(reply.word0);
}

} // namespace herald
