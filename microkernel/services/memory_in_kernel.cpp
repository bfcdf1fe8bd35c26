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
#include "../object/memory_control.hpp"
#include "../smp/tlb_shootdown.hpp"
#include "../mm/reclaim_queue.hpp"
#include "servers/memory/memory_service.hpp"

namespace herald {

namespace {

using memory::MemoryService;

// One lock around the service (in_kernel_service.hpp), taken by page faults
// too; a request lets it go while an unmap settles (KernelBackend::settle).
SpinLock g_lock;

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

    // As the ring-3 server's MemoryUnmap (object/memory_control.cpp), in any
    // task, whose threads may run on other CPUs, but in two halves: the
    // entry goes under this service's lock (clear), and the TLB shootdown
    // and the wait for the kernel's copies into the page (views,
    // mm/address_space.hpp) run with the lock let go (settle), so that page
    // faults on other CPUs go on meanwhile: a view may last a ring-0
    // console's whole UART write. The service keeps the frame aside until
    // settle returns (MemoryService::give_back; docs/memory.md, "Views").
    Unmap clear(u64 task, u64 address, Clearing& out) override
    {
        auto result = MemoryControl::the().clear_entry(task, address);
        if (result.is_error())
            return result.error() == Error::BadAddress ? Unmap::NotMapped : Unmap::Refused;
        out = Clearing { result.value().frame, result.value().address, result.value().root };
        return Unmap::Cleared;
    }

    // Called only under g_lock, by a request (InKernelService::call, which
    // took it with interrupts off: they stay off, so this thread finishes
    // the request on this CPU, and nothing else runs here meanwhile). The
    // wait holds no spin lock, as tlb_shootdown asks.
    void settle(const Clearing& cleared) override NO_THREAD_SAFETY_ANALYSIS
    {
        g_lock.unlock(kInterruptsWereOff);
        MemoryControl::settle(MemoryControl::Cleared { cleared.frame, cleared.address, cleared.space });
        (void)lock_answering_shootdowns(g_lock); // interrupts are off: nothing to save
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

KernelBackend g_backend;
MemoryService g_service;
InKernelService<ipc::memory::Protocol, MemoryService, Payloads::WithoutPayload, LockWait::AnswerShootdowns> g_object(g_service, g_lock);
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
    SpinLockGuard guard(g_lock, adopt_lock, lock_answering_shootdowns(g_lock)); // as a request takes it (in_kernel_service.hpp)
    return g_service.page_fault(thread.task->id, address, error_code);
}

} // namespace herald
