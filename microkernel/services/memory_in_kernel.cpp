// The memory service in ring 0 (the memory-in-kernel and monolithic
// placements, docs/placement.md): the memory server's own MemoryService and
// FrameTable (servers/memory), compiled into the kernel and called directly:
// a page fault is a function call, and the memory protocol a KernelService
// that answers Calls on abi::HandleMemory without leaving the caller's
// thread. Programs cannot tell the difference; the benchmarks can
// (docs/benchmarks.md).
#include "../pager/pager.hpp"

#include "../ipc/ipc_internal.hpp"
#include "in_kernel_service.hpp"
#include "services.hpp"
#include "../sched/scheduler.hpp"
#include "../object/task_object.hpp"
#include "../log.hpp"
#include "../sync/spinlock.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../pager/managed_memory.hpp"
#include "../mm/reclaim_queue.hpp"
#include "servers/memory/memory_service.hpp"

namespace herald {

namespace {

using memory::MemoryService;

// The service's way into address spaces: the kernel's own calls, with the
// checks the MemoryControl system calls make.
class KernelBackend final : public memory::Backend {
public:
    Map map(u64 task, u64 address, u64 frame, u64 map_flags) override
    {
        auto mapped = map_managed_frame(task, VirtualAddress(address), PhysicalAddress(frame), map_flags);
        if (!mapped.is_error())
            return Map::Mapped;
        return mapped.error() == Error::AlreadyMapped ? Map::Occupied : Map::Refused;
    }

    // Only in the task that made the request, which runs this very call on
    // this CPU, and only while it has one thread: its TLB entry is dropped
    // right here, and no other CPU runs it. A request made through a memory
    // handle some other task passed on is refused: that task may be running
    // elsewhere; so is one from a task with several threads (the service
    // runs under its spin lock, where it cannot wait for a TLB shootdown:
    // a CPU spinning for that lock with interrupts off would never answer).
    Unmap unmap(u64 task, u64 address, u64& frame) override
    {
        if (task != current_thread().task->id)
            return Unmap::Refused;
        auto result = with_address_space_of(task, [](Task& owner, AddressSpace& space, void* context) -> ErrorOr<u64> {
            if (owner.live_threads > 1)
                return Error::Unsupported;
            u64 page = *static_cast<u64*>(context);
            PhysicalAddress frame = HERALD_TRY(space.unmap_pager_frame(VirtualAddress(page)));
            x86::invalidate_page(page);
            count<Event::TlbFlushPage>();
            return frame.get();
        }, &address);
        if (result.is_error())
            return result.error() == Error::NotFound ? Unmap::NotMapped : Unmap::Refused;
        frame = result.value();
        return Unmap::Unmapped;
    }

    // The handle is the caller's own (object/kernel_service.hpp): looked up in
    // its table, and left there.
    bool unstarted_task(u64 handle, u64& task) override
    {
        auto object = lookup<TaskObject>(current_thread(), handle, abi::RightReceive);
        if (object.is_error())
            return false;
        task = object.value()->task_id();
        return object.value()->unstarted_task() != nullptr;
    }

    void zero(u64 frame) override { __builtin_memset(reinterpret_cast<void*>(layout::physmap_address(frame)), 0, layout::kPageSize); }

    usize reclaim(u64* out, usize max) override { return reclaim_take(out, max); }
};

// One lock around the service (in_kernel_service.hpp), taken by page faults
// too.
SpinLock g_lock;
KernelBackend g_backend;
MemoryService g_service;
InKernelService<ipc::memory::Protocol, MemoryService, Payloads::WithoutPayload> g_object(g_service, g_lock);
bool g_running;

} // namespace

const char* pager_mode_name() { return "kernel"; }

bool pager_in_kernel() { return true; }

void pager_start()
{
    managed_memory_take();
    const PhysicalRangeSet& ranges = managed_ranges();
    abi::ManagedRange wire[PhysicalRangeSet::kMaxRanges];
    for (usize i = 0; i < ranges.count(); ++i)
        wire[i] = abi::ManagedRange { ranges[i].base.get(), ranges[i].length / layout::kPageSize };
    auto* physmap = reinterpret_cast<u8*>(layout::kPhysmapBase);
    auto ready = g_service.init(g_backend, wire, ranges.count(), physmap);
    if (ready != memory::MemoryService::InitResult::Ready) {
        klog("herald: warning: no memory service: {}: user page faults kill their task", memory::MemoryService::describe(ready));
        return;
    }
    __atomic_store_n(&g_running, true, __ATOMIC_RELEASE);
    klog("herald: memory service in the kernel, {} frames free",
        g_service.frames().count(memory::FrameKind::Free));
}

void pager_task_ended(u64) { } // the service is part of the kernel: it never ends

Ref<KernelObject> pager_client_object()
{
    if (!__atomic_load_n(&g_running, __ATOMIC_ACQUIRE))
        return {};
    return Ref<KernelObject>(g_object);
}

abi::PageFaultVerdict pager_resolve_fault(Thread& thread, u64 address, u64 error_code)
{
    if (!__atomic_load_n(&g_running, __ATOMIC_ACQUIRE))
        return abi::PageFaultVerdict::PagerUnavailable;
    count<Event::FaultsKernel>();
    SpinLockGuard guard(g_lock);
    return g_service.page_fault(thread.task->id, address, error_code);
}

} // namespace herald
