// The loader in ring 3 (docs/system.md, "The loader"): the loader server
// (servers/loader), started from the boot archive with ProcessControl and
// the archive mapped read-only; it publishes itself in the registry.
// ServerTask starts it again once it has ended (boot_servers.cpp), with a
// fresh endpoint: the tasks it started keep running, its table of them
// (who started which) is lost (docs/reliability.md).
#include "services.hpp"

#include "../abi/ipc.hpp"
#include "../abi/task.hpp"
#include "../boot/boot_archive.hpp"
#include "../bootstrap.hpp"
#include "../object/endpoint.hpp"
#include "../log.hpp"
#include "../object/process_control.hpp"
#include "../object/system_control.hpp"
#include "../object/task_object.hpp"
#include "../sync/spinlock.hpp"
#include "../task/program_loader.hpp"

namespace herald {

namespace {

// Set once the server runs, replaced at a restart; the kernel's reference
// keeps the endpoint alive after the server ends (then every Call on it
// gets PeerGone).
SpinLock g_endpoint_lock;
Endpoint* g_endpoint GUARDED_BY(g_endpoint_lock);

} // namespace

bool loader_in_kernel() { return false; }

Ref<KernelObject> loader_start_in_kernel() { return {}; }

u64 loader_start_server()
{
    Ref<Endpoint> endpoint = Endpoint::create();
    if (!endpoint)
        return 0;
    auto archive = boot_archive_pages();
    if (!archive) {
        klog("herald: no boot archive: no loader");
        return 0;
    }
    SpawnOptions options;
    options.parameter = archive->length; // the archive's bytes, at abi::kArchiveViewBase
    options.map_archive = true;
    options.handles[1] = InitialHandle { &process_control(), abi::RightSend, 0, abi::kProcessControlHandle };
    options.handles[2] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::kTaskListHandle }; // List
    // RightMint: it publishes a handle the registry badges for each client.
    Ref<TaskObject> object;
    u64 task = start_boot_server("loader", options, endpoint.ptr(), abi::RightsAll, &object);
    if (!task)
        return 0;
    Endpoint* previous;
    {
        SpinLockGuard guard(g_endpoint_lock);
        previous = g_endpoint;
        g_endpoint = Ref<Endpoint>(*endpoint).leak(); // the kernel's reference
    }
    if (previous)
        Ref<Endpoint>::adopt(*previous).clear();
    boot_server_started(BootServerSlot::Loader, move(object));
    return task;
}

Ref<KernelObject> loader_client_object()
{
    SpinLockGuard guard(g_endpoint_lock);
    return g_endpoint ? Ref<KernelObject>(*g_endpoint) : Ref<KernelObject>();
}

} // namespace herald
