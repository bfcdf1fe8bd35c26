// MemoryService: the memory server's brain, the same code in ring 3 (the
// memory server, servers/memory/main.cpp) and in ring 0 (the
// memory-in-kernel and monolithic placements,
// microkernel/services/memory_in_kernel.cpp); host-tested with a fake
// backend.
//
// It owns the frame table (frame_table.hpp) and one record per task that
// asked for heap, and decides what a page fault means (docs/memory.md):
//
//   [kUserHeapBase, heap end)         heap, reserved by Grow: map a zeroed frame
//   kStackGuardPage                   stack overflow
//   [kUserStackBottom, kUserSpaceEnd) the 20 MiB stack region (seed): map a
//                                     zeroed frame if one is free
//   anywhere else, or a protection fault on a present page: invalid
//
// Commitment: Grow counts its pages against the free frames at once
// (`committed`), so that touching reserved heap never runs out of memory;
// the stack grows from what is left over. When frames run short the service
// first takes back what dead tasks left (Backend::reclaim).
//
// Quota (docs/security.md, "Quotas"): each task may hold at most its frame
// limit: its heap reservation, the stack pages it faulted in and the pages
// Give moved into it. The default is a share of the frames free when the
// service started (kDefaultShareDivisor); SetLimit lowers it for a task
// being built. Beyond it Grow and Give are refused with kOverLimit and a
// stack fault is OverLimit (the kernel kills the task), so one task cannot
// take every frame and starve the others' page faults.
//
// DMA memory (docs/drivers.md, "DMA memory"): AllocateDma takes a run of
// contiguous frames (FrameKind::Dma) for a driver, asked by the PCI server
// (the only holder of abi::kDmaAuthorityBadge), and maps it into the
// driver's DMA window. A block is recorded with its task; when the task
// ends the kernel hands its frames back like any others, but a Dma frame is
// not freed then: its device may still write it (no IOMMU). The block waits,
// orphaned, until the PCI server has stopped the task's devices and says so
// with ReleaseDma.
//
// Unmaps in two halves (Backend::clear, Backend::settle): the ring-0
// service waits for other CPUs (TLB shootdown, the kernel's views of the
// page) with its lock let go, so a frame may be on its way back meanwhile:
// allocated in the table, owned by no task, free in substance, freed once
// when settled (give_back; docs/memory.md, "Views").
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "frame_table.hpp"
#include "libipc/protocols/memory.hpp"
#include "microkernel/abi/memory.hpp"

namespace herald::memory {

// How the service reaches the world. Not pure virtual (ring-3 programs have
// no __cxa_pure_virtual): the defaults refuse.
class Backend {
public:
    // Maps `frame` at `address` in task `task` (flags: abi::MemoryMapFlags).
    // Occupied: the page has a mapping already (a sibling thread's fault
    // mapped it first); Refused: anything else (the task is gone).
    enum class Map { Mapped, Occupied, Refused };
    virtual Map map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags)
    {
        (void)task, (void)address, (void)frame, (void)flags;
        return Map::Refused;
    }
    // The id of the task a transferred task handle names, if that task has
    // not started yet; false otherwise. The handle is the service's to close.
    virtual bool unstarted_task(uint64_t handle, uint64_t& task)
    {
        (void)handle, (void)task;
        return false;
    }
    virtual void close(uint64_t handle) { (void)handle; }
    // Unmaps the page at `address` in `task` and says which frame it was.
    // Refused: the kernel will not touch that task's pages now (it is not
    // waiting for this service: it may be running, with the page in a TLB).
    enum class Unmap { Unmapped, NotMapped, Refused, Cleared };
    virtual Unmap unmap(uint64_t task, uint64_t address, uint64_t& frame)
    {
        (void)task, (void)address, (void)frame;
        return Unmap::Refused;
    }
    // The same in two halves, for a backend whose unmap waits for other
    // CPUs (a TLB shootdown, the kernel's views of the page: docs/memory.md,
    // "Views") and would wait with the service's lock held (the ring-0
    // service's). clear() takes the page away: Cleared, the entry is gone
    // but the frame may still be reached; the service then keeps its books
    // whole and calls settle(), which returns once nothing reaches the frame
    // any more and may let the service's lock go meanwhile (anything may
    // happen to the books then: the service looks at them afresh after).
    // The defaults are unmap() whole: Unmapped, nothing to settle.
    struct Clearing {
        uint64_t frame { 0 };
        uint64_t address { 0 };
        uint64_t space { 0 }; // the backend's own: which space to settle
    };
    virtual Unmap clear(uint64_t task, uint64_t address, Clearing& out)
    {
        out.address = address;
        return unmap(task, address, out.frame);
    }
    virtual void settle(const Clearing& cleared) { (void)cleared; }
    virtual void zero(uint64_t frame) { (void)frame; }
    // Entries from the kernel's reclaim queue (abi::kReclaimTaskBit).
    virtual size_t reclaim(uint64_t* out, size_t max)
    {
        (void)out, (void)max;
        return 0;
    }

protected:
    Backend() = default;
    ~Backend() = default;
};

class MemoryService {
public:
    static constexpr size_t kMaxTasks = 1024; // as many as the kernel runs at once
    // A task may hold 1/kDefaultShareDivisor of the frames free at start:
    // one task can never take them all, and the self-tests' largest
    // legitimate user (64 MiB of heap and 8 MiB of stack... in 128 MiB
    // managed, tests/insystem/memory_tests.cpp) still fits.
    static constexpr uint64_t kDefaultShareDivisor = 2;
    // DMA blocks out at once, all drivers together (a virtio device needs a
    // few: rings and buffers).
    static constexpr size_t kMaxDmaBlocks = 64;

    enum class InitResult {
        Ready,
        NoRanges,      // nothing to manage
        TableTooLarge, // no range can hold the frame table
        BadRanges,     // an empty range, ranges that overlap or are out of
                       // order, or a table that did not read back as written
                       // (memory somebody else writes)
    };
    static const char* describe(InitResult);

    // Builds the frame table over `ranges` (sorted, disjoint), placing it in
    // the first range that can hold it: `view` + physical address reaches a
    // managed frame (the memory view, or the kernel's physmap).
    // Each task may hold 1/share_divisor of the frames free then (0: no
    // limit, for tests of everything but the quota).
    InitResult init(Backend& backend, const abi::ManagedRange* ranges, size_t count, uint8_t* view,
        uint64_t share_divisor = kDefaultShareDivisor);

    ipc::Result<ipc::memory::Grow::Reply> handle(ipc::memory::Grow, const ipc::memory::Grow::Request&, ipc::Badge task);
    ipc::Result<ipc::memory::Shrink::Reply> handle(ipc::memory::Shrink, const ipc::memory::Shrink::Request&, ipc::Badge task);
    ipc::Result<ipc::memory::Release::Reply> handle(ipc::memory::Release, const ipc::memory::Release::Request&, ipc::Badge task);
    ipc::Result<ipc::memory::Stats::Reply> handle(ipc::memory::Stats, const ipc::memory::Stats::Request&, ipc::Badge task);
    ipc::Result<ipc::Empty> handle(ipc::memory::Give, const ipc::memory::Give::Request&, ipc::Badge task);
    ipc::Result<ipc::memory::Limits::Reply> handle(ipc::memory::Limits, const ipc::memory::Limits::Request&, ipc::Badge task);
    ipc::Result<ipc::Empty> handle(ipc::memory::SetLimit, const ipc::memory::SetLimit::Request&, ipc::Badge task);
    ipc::Result<ipc::memory::AllocateDma::Reply> handle(ipc::memory::AllocateDma, const ipc::memory::AllocateDma::Request&,
        ipc::Badge caller);
    ipc::Result<ipc::memory::ReleaseDma::Reply> handle(ipc::memory::ReleaseDma, const ipc::memory::ReleaseDma::Request&,
        ipc::Badge caller);

    // One step, under the caller's lock throughout (ring 0): begin_fault,
    // map_fault and finish_fault on server thread 0.
    abi::PageFaultVerdict page_fault(uint64_t task, uint64_t address, uint64_t error_code);

    // A page fault in three steps, for a server whose threads share the
    // service under one lock and hold it only for the books (the ring-3
    // server, servers/memory/main.cpp; docs/memory.md, "A fault in flight"):
    //   begin_fault (under the lock) decides, takes a frame from the
    //       thread's batch and records the fault as in flight;
    //   map_fault (with the lock let go) zeroes the frame and maps it: it
    //       touches no books, only the frame and the backend;
    //   finish_fault (under the lock again) keeps the books, or takes the
    //       frame back if it was not mapped: the task ended (Invalid), or a
    //       sibling thread's fault mapped the page first (Resolved: the
    //       instruction runs again, and faults afresh if the page has been
    //       released since).
    // While a fault is in flight its page is the fault's: Shrink, Release
    // and Give over it must wait (must_wait), so that nothing maps into a
    // range after the task let it go. Its frame counts against the task's
    // limit (a stack page) or keeps its promise (a heap page). `thread`
    // (below kMaxServerThreads) has at most one fault in flight; every
    // PendingFault with a frame must be finished, once.
    struct PendingFault {
        uint64_t task { 0 };
        uint64_t page { 0 };
        uint64_t frame { 0 };
        size_t thread { 0 };
        bool has_frame { false }; // false: `verdict` is the answer already
        FrameKind kind { FrameKind::Free };
        abi::PageFaultVerdict verdict { abi::PageFaultVerdict::Invalid };
    };
    PendingFault begin_fault(size_t thread, uint64_t task, uint64_t address, uint64_t error_code);
    Backend::Map map_fault(const PendingFault& pending);
    abi::PageFaultVerdict finish_fault(const PendingFault& pending, Backend::Map mapped);

    // Whether a request must wait (the lock let go) until a fault in flight
    // over its pages is finished: Shrink, Release and Give of the task's own
    // pages. Called anyway, they answer ipc::Error::Busy and change nothing.
    bool must_wait(ipc::memory::Shrink, const ipc::memory::Shrink::Request&, ipc::Badge task) const;
    bool must_wait(ipc::memory::Release, const ipc::memory::Release::Request&, ipc::Badge task) const;
    bool must_wait(ipc::memory::Give, const ipc::memory::Give::Request&, ipc::Badge task) const;
    template<typename Operation, typename Request>
    bool must_wait(Operation, const Request&, ipc::Badge) const
    {
        return false;
    }

    // Whether a message is a page fault the kernel sent (what
    // on_kernel_message answers with page_fault()).
    static bool is_page_fault(const ipc::Message& in);

    // Messages only the kernel sends (badge exactly abi::kKernelBadge): a
    // page fault in a faulting thread's name (abi::kPageFaultLabel, how the
    // ring-3 server gets them), answered with its verdict; the
    // fault-injection request (abi::kFaultInjectionLabel, test and benchmark
    // images only), which makes the service fault on purpose. NoAnswer for
    // anything else.
    ipc::KernelMessage on_kernel_message(const ipc::Message& in, ipc::Message& reply);

    // Takes back what the kernel reclaimed from dead tasks. True if task
    // `watched` was among those that ended: a request from a task that died
    // while it was being served must not leave a record or a promise behind.
    bool reclaim(uint64_t watched = 0);

    const FrameTable& frames() const { return m_frames; }
    uint64_t committed() const { return m_committed; }
    uint64_t heap_frames_in_flight() const { return m_heap_in_flight; }
    uint64_t reclaim_anomalies() const { return m_reclaim_anomalies; }
    uint64_t default_limit() const { return m_default_limit; }
    // Frames in the server threads' batches: Heap in the table, free in
    // substance (uncommitted() counts them); Stats gives them back first.
    uint64_t cached_frames() const { return m_cached_frames; }
    size_t faults_in_flight() const { return m_faults_in_flight; }
    // Frames on their way back (a Release or Shrink between clear and
    // settle): Heap in the table, owned by no task, free in substance
    // (uncommitted() and Stats count them so), and freed once, when they
    // are settled.
    uint64_t returning_frames() const { return m_returning; }
    // Server threads (one per CPU) whose faults may be in flight at once,
    // each with its batch.
    static constexpr size_t kMaxServerThreads = 16;
    // Frames a thread takes from the frame table at once: the table's scan
    // (about 320 instructions a frame through allocate()) is paid once a
    // batch, and 16 threads hold at most 512 frames (2 MiB) aside.
    static constexpr size_t kBatchFrames = 32;

private:
    struct TaskRecord {
        uint64_t task { 0 };        // 0: a free slot (task 0 is the kernel, never a client)
        uint64_t heap_pages { 0 };  // the heap is [kUserHeapBase, heap_end())
        uint64_t heap_mapped { 0 }; // pages of the heap that have a frame
        uint64_t stack_mapped { 0 }; // stack pages its faults mapped
        uint64_t stack_in_flight { 0 }; // stack faults begun, not finished: frames it holds already
        uint64_t given { 0 };        // pages Give moved into it
        uint64_t limit { 0 };        // its frame limit; 0: the default
        uint64_t dma_pages { 0 };    // pages of its DMA window in use (AllocateDma)
        uint64_t heap_end() const { return abi::kUserHeapBase + heap_pages * abi::kPageSize; }
        // What counts against the limit: the whole reservation (promised
        // frames are as good as taken), not just what is mapped.
        uint64_t charged() const { return heap_pages + stack_mapped + stack_in_flight + given + dma_pages; }
    };
    // A run of Dma frames and whose it is.
    struct DmaBlock {
        uint64_t task { 0 };      // 0: a free record
        uint64_t physical { 0 };
        uint64_t pages { 0 };
        bool orphaned { false };  // the task ended: waiting for ReleaseDma
        uint8_t reserved[7] {};
    };
    // A server thread's own: its batch of frames and its fault in flight.
    struct InFlight {
        uint64_t task { 0 }; // 0: none
        uint64_t page { 0 };
        FrameKind kind { FrameKind::Free };
        bool task_ended { false }; // forget() ran meanwhile: its books are gone
        uint8_t reserved[6] {};
    };
    struct ServerThread {
        uint64_t batch[kBatchFrames] {}; // Heap in the table, given to no task
        size_t batch_count { 0 };
        InFlight fault;
    };
    // All zeros when constructed: a ring-3 program keeps the service in
    // .bss, with no constructor to run.

    TaskRecord* find(uint64_t task);
    TaskRecord* find_or_add(uint64_t task);
    void forget(uint64_t task);
    void forget_if_empty(TaskRecord* record);
    // Frames free and not promised to a heap.
    uint64_t uncommitted() const;
    // How many more frames the task may hold.
    uint64_t room(const TaskRecord& record) const;
    bool take_frame(size_t thread, FrameKind kind, uint64_t& frame);
    bool take_from_batches(size_t thread, uint64_t& frame);
    void return_batches();
    bool fault_in_flight(uint64_t task, uint64_t from, uint64_t pages) const;
    void orphan_faults_of(uint64_t task);
    abi::PageFaultVerdict decide(PendingFault& pending, TaskRecord*& record);
    Backend::Unmap drop_page(TaskRecord& record, uint64_t page, Backend::Clearing& clearing);
    void give_back(Backend::Unmap dropped, const Backend::Clearing& clearing);
    DmaBlock* free_dma_block();
    void free_run(uint64_t physical, uint64_t pages);

    Backend* m_backend { nullptr };
    FrameTable m_frames;
    TaskRecord m_tasks[kMaxTasks];
    DmaBlock m_dma[kMaxDmaBlocks];
    ServerThread m_threads[kMaxServerThreads];
    size_t m_faults_in_flight { 0 };
    uint64_t m_cached_frames { 0 }; // in all threads' batches
    uint64_t m_returning { 0 };     // returning_frames()
    uint64_t m_committed { 0 };
    // Heap frames of faults in flight (of tasks not yet forgotten): promised
    // frames in all but name, so uncommitted() counts them as free.
    uint64_t m_heap_in_flight { 0 };
    uint64_t m_reclaim_anomalies { 0 };
    uint64_t m_default_limit { 0 };
    size_t m_last_found { 0 }; // find()'s hint: an index into m_tasks
};

} // namespace herald::memory
