// The loader in ring 0 (docs/placement.md): the loader server's own
// LoaderService (servers/loader), compiled into the kernel and answering the
// loader protocol as a KernelService in the caller's thread. The registry
// publishes it as "loader", so programs find it as they find the server, and
// send it the same messages.
//
// What ring 0 changes:
//   - tasks are the kernel's task objects, built with the same steps and
//     checks as the task system calls (object/process_control.hpp, object/task_object.hpp); the
//     service holds a reference where the server holds a handle, and a
//     client's reply handle goes straight into the caller's table.
//   - a program's pages come from the kernel's user-frame pool, as for the
//     programs the kernel starts itself (task/program_loader.cpp), written
//     through the physmap: no memory-protocol round trips (Grow, Give,
//     Shrink) and no page faults in a loader heap. The memory service still
//     pages the program's heap and the rest of its stack.
//   - nothing waits: the loader never blocks for a client in either ring;
//     a Spawn that finds another CPU spawning spins on the service's lock
//     where, in ring 3, it would queue on the loader's endpoint. Nothing under
//     the lock blocks or faults: the archive is kernel memory, and pages are
//     taken from the kernel's pool, never asked of the memory service.
#include "services.hpp"

#include "../abi/memory.hpp"
#include "../boot/boot_archive.hpp"
#include "../ipc/ipc.hpp"
#include "../ipc/ipc_internal.hpp"
#include "../log.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../sched/scheduler.hpp"
#include "../object/process_control.hpp"
#include "../task/task.hpp"
#include "../object/task_object.hpp"
#include "in_kernel_service.hpp"
#include "../lib/syscall_error.hpp"
#include "servers/loader/loader_service.hpp"

namespace herald {

namespace {

constexpr u64 kPage = layout::kPageSize;

// libipc's errors are the ABI's codes.
ipc::Error as_ipc_error(Error error) { return static_cast<ipc::Error>(static_cast<i64>(to_syscall_error(error))); }

template<typename T>
ipc::Result<void> ok_or_error(const ErrorOr<T>& result)
{
    if (result.is_error())
        return as_ipc_error(result.error());
    return {};
}

// A TaskRef is a TaskObject the service holds one reference to.
TaskObject& object_of(loader::TaskRef task) { return *reinterpret_cast<TaskObject*>(task); }

class KernelBackend final : public loader::Backend {
public:
    ipc::Result<loader::TaskRef> create(StringView name) override
    {
        auto object = process_control().create_task(name);
        if (object.is_error())
            return object.error() == Error::BadLength ? ipc::Error::BadLength : ipc::Error::NoMemory;
        // The service holds our reference now, until close() adopts it back.
        return reinterpret_cast<loader::TaskRef>(object.value().leak());
    }

    // What the memory service's Give checks, then the kernel's own frames.
    ipc::Result<void> map(loader::TaskRef task, u64 to, u64 pages, u64 flags, const u8* data, usize length,
        u64 offset) override
    {
        Task* building = object_of(task).unstarted_task();
        if (!building || !building->address_space)
            return ipc::Error::Denied;
        if (to & (kPage - 1) || to < abi::kUserCodeBase || pages == 0 || pages > (abi::kUserSpaceEnd - to) / kPage
            || flags & ~static_cast<u64>(abi::MapWritable | abi::MapExecutable) || offset > pages * kPage
            || length > pages * kPage - offset)
            return ipc::Error::InvalidRequest;
        PageFlags page_flags { .writable = (flags & abi::MapWritable) != 0, .user = true,
            .executable = (flags & abi::MapExecutable) != 0 };
        AddressSpace& space = *building->address_space;
        if (auto mapped = space.map_anonymous(VirtualAddress(to), pages, page_flags); mapped.is_error())
            return mapped.error() == Error::OutOfMemory ? ipc::Error::NoMemory : ipc::Error::InvalidRequest;
        if (length && space.write(VirtualAddress(to + offset), data, length).is_error())
            return ipc::Error::InvalidRequest; // not reached: the pages were just mapped
        return {};
    }

    // The handle is the caller's own (object/kernel_service.hpp): looked up in
    // its table, and left there.
    ipc::Result<void> give(loader::TaskRef task, ipc::Handle handle) override
    {
        auto entry = lookup_any(current_thread(), handle); // held while it is copied
        if (entry.is_error())
            return ipc::Error::BadHandle;
        HandleRef<KernelObject>& found = entry.value();
        return ok_or_error(object_of(task).give_handle(HandleEntry { found.object.ptr(), found.rights, found.badge },
            abi::HandleFirstFree));
    }

    ipc::Result<void> start(loader::TaskRef task, u64 entry, u64 stack_top, u64 argument) override
    {
        return ok_or_error(object_of(task).start(entry, stack_top, argument));
    }

    ipc::Result<u64> task_id(loader::TaskRef task) override { return object_of(task).task_id(); }

    ipc::Result<ipc::Handle> handle_for_client(loader::TaskRef task) override
    {
        u64 handle = grant_handle(*current_thread().task, object_of(task), abi::RightReceive | abi::RightSend, 0);
        if (!handle)
            return ipc::Error::NoMemory; // the caller's table is full
        return handle;
    }

    bool has_ended(loader::TaskRef task) override
    {
        abi::TaskState state = object_of(task).status().state;
        return state == abi::TaskState::Exited || state == abi::TaskState::Killed;
    }

    ipc::Result<void> kill(loader::TaskRef task) override
    {
        if (object_of(task).unstarted_task())
            return ipc::Error::BadArgument; // not reached: the service tracks started tasks only
        kill_task(object_of(task).task_id()); // false: it has ended already, which is fine
        return {};
    }

    void close(loader::TaskRef task) override { Ref<TaskObject>::adopt(object_of(task)).clear(); } // from create()

    ipc::Result<usize> list(abi::TaskListEntry* out, usize max) override
    {
        usize written = 0;
        for (usize from = 0; written < max;) {
            usize got = list_tasks(from, out + written, max - written, from);
            if (got == 0)
                break;
            written += got;
        }
        return written;
    }

    void log(StringView line) override { klog("{}", line); }
};

SpinLock g_lock;
KernelBackend g_backend;
loader::LoaderService g_service;
InKernelService<ipc::loader::Protocol, loader::LoaderService> g_object(g_service, g_lock);
bool g_running;

} // namespace

bool loader_in_kernel() { return true; }

Ref<KernelObject> loader_start_in_kernel()
{
    auto archive = boot_archive_pages();
    if (!archive) {
        klog("herald: no boot archive: no loader");
        return {};
    }
    ByteReader bytes(reinterpret_cast<const u8*>(layout::physmap_address(archive->base.get())), archive->length);
    {
        SpinLockGuard guard(g_lock);
        if (!g_service.init(g_backend, bytes))
            return {}; // it said why
    }
    __atomic_store_n(&g_running, true, __ATOMIC_RELEASE);
    klog("herald: loader in the kernel: programs' pages come from the kernel's frame pool");
    return loader_client_object();
}

u64 loader_start_server() { return 0; }

Ref<KernelObject> loader_client_object()
{
    if (!__atomic_load_n(&g_running, __ATOMIC_ACQUIRE))
        return {};
    return Ref<KernelObject>(g_object);
}

} // namespace herald
