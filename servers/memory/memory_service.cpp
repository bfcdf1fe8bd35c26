#include "memory_service.hpp"

#include "servers/common/fault_on_purpose.hpp"

namespace herald::memory {

using abi::PageFaultVerdict;
using namespace ipc::memory;

namespace {

constexpr uint64_t kPage = abi::kPageSize;
constexpr size_t kReclaimBatch = 64;

// Page-fault error code bits (SDM Vol. 3A §4.7).
constexpr uint64_t kFaultPresent = 1u << 0;
constexpr uint64_t kFaultInstructionFetch = 1u << 4;

uint64_t page_of(uint64_t address) { return address & ~(kPage - 1); }

// Whether `pages` pages from `to` lie inside [start, end) (no wrap: end is
// at most kUserSpaceEnd).
bool inside(uint64_t to, uint64_t pages, uint64_t start, uint64_t end)
{
    return to >= start && to < end && pages <= (end - to) / kPage;
}

// Where Give may put pages: the program's window (the loader's ELF
// segments) or the stack region. Not the heap, whose pages only faults map
// (the books count them), nor the stack guard page.
bool may_receive(uint64_t to, uint64_t pages)
{
    return inside(to, pages, abi::kUserCodeBase, abi::kUserHeapBase)
        || inside(to, pages, abi::kUserStackBottom, abi::kUserSpaceEnd);
}
uint64_t max_heap_pages() { return (abi::kUserHeapLimit - abi::kUserHeapBase) / kPage; }

// Whether an unmap took the page's frame (Cleared: not settled yet).
bool taken(Backend::Unmap result) { return result == Backend::Unmap::Unmapped || result == Backend::Unmap::Cleared; }

} // namespace

const char* MemoryService::describe(InitResult result)
{
    switch (result) {
    case InitResult::Ready: return "ready";
    case InitResult::NoRanges: return "no memory to manage";
    case InitResult::TableTooLarge: return "no managed range can hold the frame table";
    case InitResult::BadRanges:
        return "the managed ranges are empty, overlap or are out of order, or their frame table does not read back as written";
    }
    return "?";
}

MemoryService::InitResult MemoryService::init(Backend& backend, const abi::ManagedRange* ranges, size_t count, uint8_t* view,
    uint64_t share_divisor)
{
    m_backend = &backend;
    if (count == 0)
        return InitResult::NoRanges;
    // Sorted, disjoint and not empty, before any arithmetic on them (the
    // span below would wrap on ranges out of order).
    for (size_t i = 0; i < count; ++i) {
        if (ranges[i].pages == 0 || ranges[i].pages > (UINT64_MAX - ranges[i].base) / kPage)
            return InitResult::BadRanges;
        if (i > 0 && ranges[i].base < ranges[i - 1].base + ranges[i - 1].pages * kPage)
            return InitResult::BadRanges;
    }
    uint64_t first = ranges[0].base;
    uint64_t end = ranges[count - 1].base + ranges[count - 1].pages * kPage;
    size_t frame_count = (end - first) / kPage;
    size_t table_pages = FrameTable::storage_bytes(frame_count) / kPage;
    // The table lives in the first range that can hold it.
    const abi::ManagedRange* home = nullptr;
    for (size_t i = 0; i < count && !home; ++i) {
        if (ranges[i].pages >= table_pages)
            home = &ranges[i];
    }
    if (!home)
        return InitResult::TableTooLarge;
    m_frames.init(view + home->base, first, frame_count);
    for (size_t i = 0; i < count; ++i) {
        if (!m_frames.add_free_range(ranges[i].base, ranges[i].pages))
            return InitResult::BadRanges;
    }
    for (size_t i = 0; i < table_pages; ++i) {
        if (!m_frames.claim(home->base + i * kPage, FrameKind::Kernel))
            return InitResult::BadRanges;
    }
    m_default_limit = share_divisor ? m_frames.count(FrameKind::Free) / share_divisor : UINT64_MAX;
    return InitResult::Ready;
}

// ---- task records ----

// The last record found is tried first: a spawn's Gives name one task, and
// a task's faults come in runs (each miss scans all kMaxTasks records).
MemoryService::TaskRecord* MemoryService::find(uint64_t task)
{
    if (task == 0)
        return nullptr;
    if (m_tasks[m_last_found].task == task)
        return &m_tasks[m_last_found];
    for (size_t i = 0; i < kMaxTasks; ++i) {
        if (m_tasks[i].task == task) {
            m_last_found = i;
            return &m_tasks[i];
        }
    }
    return nullptr;
}

MemoryService::TaskRecord* MemoryService::find_or_add(uint64_t task)
{
    if (TaskRecord* record = find(task))
        return record;
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (TaskRecord& record : m_tasks) {
            if (record.task == 0) {
                record = TaskRecord {};
                record.task = task;
                m_last_found = static_cast<size_t>(&record - m_tasks);
                return &record;
            }
        }
        if (reclaim(task)) // dead tasks' records may be waiting to go
            return nullptr; // ... and the asking task is one of them
    }
    return nullptr;
}

// A record that holds nothing (no reservation, no page, no limit of its
// own) can go at any time: the task's next request makes it anew. A stack
// fault that maps nothing drops the record it made, because its task may
// have ended with its end reclaimed already (a server thread received the
// fault, another reclaimed meanwhile), and then nothing else would ever
// forget that record.
void MemoryService::forget_if_empty(TaskRecord* record)
{
    if (record && record->charged() == 0 && record->heap_mapped == 0 && record->limit == 0)
        *record = TaskRecord {};
}

// A dead task's frames came back already (the kernel queues them before
// its id); what it had reserved but never touched is promised no more.
void MemoryService::forget(uint64_t task)
{
    TaskRecord* record = find(task);
    if (!record)
        return;
    m_committed -= record->heap_pages - record->heap_mapped;
    *record = TaskRecord {};
    orphan_faults_of(task);
    for (DmaBlock& block : m_dma) {
        if (block.task == task)
            block.orphaned = true; // its frames stay Dma until ReleaseDma
    }
}

bool MemoryService::reclaim(uint64_t watched)
{
    uint64_t entries[kReclaimBatch];
    bool watched_ended = false;
    for (;;) {
        size_t count = m_backend->reclaim(entries, kReclaimBatch);
        for (size_t i = 0; i < count; ++i) {
            if (entries[i] & abi::kReclaimTaskBit) {
                forget(entries[i] >> 1);
                watched_ended = watched_ended || (watched != 0 && entries[i] >> 1 == watched);
                continue;
            }
            FrameKind kind;
            if (m_frames.kind_of(entries[i], kind) && kind == FrameKind::Dma)
                continue; // its block keeps it until the device is stopped (ReleaseDma)
            if (m_frames.free(entries[i]) != FrameTable::FreeResult::Freed)
                ++m_reclaim_anomalies; // never expected: the kernel returns only what we mapped
        }
        if (count < kReclaimBatch)
            return watched_ended;
    }
}

// ---- frames ----

uint64_t MemoryService::uncommitted() const
{
    uint64_t free = m_frames.count(FrameKind::Free) + m_cached_frames + m_heap_in_flight + m_returning;
    return free > m_committed ? free - m_committed : 0;
}

uint64_t MemoryService::room(const TaskRecord& record) const
{
    uint64_t limit = record.limit ? record.limit : m_default_limit;
    return limit > record.charged() ? limit - record.charged() : 0;
}

// A frame from the thread's batch, refilled from the table once a batch;
// when the table has none left, what dead tasks left, then another
// thread's batch (a heap page's promise may rest on a frame there).
bool MemoryService::take_frame(size_t thread, FrameKind kind, uint64_t& frame)
{
    ServerThread& own = m_threads[thread];
    if (own.batch_count == 0) {
        own.batch_count = m_frames.allocate_many(FrameKind::Heap, own.batch, kBatchFrames);
        if (own.batch_count == 0) {
            reclaim();
            own.batch_count = m_frames.allocate_many(FrameKind::Heap, own.batch, kBatchFrames);
        }
        m_cached_frames += own.batch_count;
    }
    if (own.batch_count != 0)
        frame = own.batch[--own.batch_count];
    else if (!take_from_batches(thread, frame))
        return false;
    --m_cached_frames;
    if (kind != FrameKind::Heap)
        m_frames.retag(frame, kind);
    return true;
}

bool MemoryService::take_from_batches(size_t thread, uint64_t& frame)
{
    for (size_t other = 0; other < kMaxServerThreads; ++other) {
        ServerThread& t = m_threads[other];
        if (other != thread && t.batch_count != 0) {
            frame = t.batch[--t.batch_count];
            return true;
        }
    }
    return false;
}

// Every batched frame back to the table: before the free frames are
// reported (Stats), and when a DMA run needs frames a batch holds.
void MemoryService::return_batches()
{
    for (ServerThread& t : m_threads) {
        for (size_t i = 0; i < t.batch_count; ++i) {
            if (m_frames.free(t.batch[i]) != FrameTable::FreeResult::Freed)
                ++m_reclaim_anomalies; // never expected: a batch's frames are Heap
        }
        t.batch_count = 0;
    }
    m_cached_frames = 0;
}

// Takes one heap page away from its task: Unmapped or Cleared if it had a
// frame, which the caller then gives back (give_back) once its own books
// are kept: the page is the task's no more, whatever settle lets happen.
Backend::Unmap MemoryService::drop_page(TaskRecord& record, uint64_t page, Backend::Clearing& clearing)
{
    Backend::Unmap result = m_backend->clear(record.task, page, clearing);
    if (taken(result))
        --record.heap_mapped;
    return result;
}

// The frame of a page drop_page took goes back to the table. A Cleared one
// is on its way back until settle returns: Heap in the table (neither a
// fault nor a batch takes it), owned by no task (no reclaim frees it), and
// counted in m_returning, free in substance; settle may let the lock go,
// and every record the caller holds is stale after this.
void MemoryService::give_back(Backend::Unmap dropped, const Backend::Clearing& clearing)
{
    if (!taken(dropped))
        return;
    if (dropped == Backend::Unmap::Cleared) {
        ++m_returning;
        m_backend->settle(clearing);
        --m_returning;
    }
    if (m_frames.free(clearing.frame) != FrameTable::FreeResult::Freed)
        ++m_reclaim_anomalies; // never expected: the page's frame was Heap
}

// ---- page faults ----

PageFaultVerdict MemoryService::page_fault(uint64_t task, uint64_t address, uint64_t error_code)
{
    PendingFault pending = begin_fault(0, task, address, error_code);
    if (!pending.has_frame)
        return pending.verdict;
    return finish_fault(pending, map_fault(pending));
}

MemoryService::PendingFault MemoryService::begin_fault(size_t thread, uint64_t task, uint64_t address, uint64_t error_code)
{
    PendingFault pending;
    pending.task = task;
    pending.page = page_of(address);
    pending.thread = thread;
    if (thread >= kMaxServerThreads || m_threads[thread].fault.task != 0)
        return pending; // Invalid: not a thread of ours, or one with a fault in flight already
    if (error_code & (kFaultPresent | kFaultInstructionFetch))
        return pending; // Invalid: a protection fault, or code where only data may be
    TaskRecord* record = nullptr;
    pending.verdict = decide(pending, record);
    if (pending.verdict != PageFaultVerdict::Resolved) {
        if (pending.page >= abi::kUserStackBottom)
            forget_if_empty(record); // a stack fault's find_or_add may have made it
        return pending;
    }
    // A sibling thread's fault on this page is in flight: its frame is the
    // page's one promise, so this fault takes none (a second frame would be
    // spent with no promise behind it). Resolved: the access runs again and
    // finds the page mapped, or faults once more while the sibling maps it.
    if (fault_in_flight(task, pending.page, 1))
        return pending;
    if (!take_frame(thread, pending.kind, pending.frame)) {
        // A frame on its way back may be the one a promise rests on: the
        // access runs again (Resolved, nothing mapped) until it is back.
        if (m_returning == 0)
            pending.verdict = PageFaultVerdict::OutOfMemory;
        forget_if_empty(find(task)); // take_frame may have reclaimed: look again
        return pending;
    }
    // decide and take_frame may have reclaimed the task's end (it was
    // killed while its thread waited for this answer): then nothing maps.
    record = find(task);
    if (!record) {
        m_frames.free(pending.frame);
        pending.verdict = PageFaultVerdict::Invalid;
        return pending;
    }
    pending.has_frame = true;
    m_threads[thread].fault = InFlight { task, pending.page, pending.kind, false, {} };
    ++m_faults_in_flight;
    if (pending.kind == FrameKind::Heap)
        ++m_heap_in_flight;
    else
        ++record->stack_in_flight;
    return pending;
}

Backend::Map MemoryService::map_fault(const PendingFault& pending)
{
    m_backend->zero(pending.frame);
    return m_backend->map(pending.task, pending.page, pending.frame, abi::MapWritable | abi::MapZeroed);
}

// A mapped frame is the task's: if the task has ended meanwhile, the kernel
// gives it back through the reclaim queue, so it is not freed here.
PageFaultVerdict MemoryService::finish_fault(const PendingFault& pending, Backend::Map map)
{
    if (!pending.has_frame)
        return pending.verdict;
    InFlight fault = m_threads[pending.thread].fault;
    m_threads[pending.thread].fault = InFlight {};
    --m_faults_in_flight;
    bool heap = fault.kind == FrameKind::Heap;
    // A forgotten task's record and promises are gone already (orphan_faults_of).
    TaskRecord* record = fault.task_ended ? nullptr : find(fault.task);
    if (heap && !fault.task_ended)
        --m_heap_in_flight;
    if (!heap && record)
        --record->stack_in_flight;
    if (map != Backend::Map::Mapped) {
        m_frames.free(pending.frame);
        forget_if_empty(record);
    }
    // A sibling thread's fault mapped the page first: the access can be
    // run again. (Answered Invalid, the kernel would look at the page
    // itself, and a Release between this answer and its look would kill
    // the task for nothing.)
    if (map == Backend::Map::Occupied && record)
        return PageFaultVerdict::Resolved;
    if (map != Backend::Map::Mapped || !record)
        return PageFaultVerdict::Invalid; // the task ended
    if (heap) {
        --m_committed; // the promise is kept
        ++record->heap_mapped;
    } else {
        ++record->stack_mapped;
    }
    return PageFaultVerdict::Resolved;
}

// A task that ended with a fault in flight: its record goes now, the fault
// finishes later, knowing.
void MemoryService::orphan_faults_of(uint64_t task)
{
    if (m_faults_in_flight == 0)
        return;
    for (ServerThread& t : m_threads) {
        if (t.fault.task == task && !t.fault.task_ended) {
            t.fault.task_ended = true;
            if (t.fault.kind == FrameKind::Heap)
                --m_heap_in_flight; // no promise left to keep
        }
    }
}

// Whether a fault of `task` is in flight over [from, from + pages pages).
bool MemoryService::fault_in_flight(uint64_t task, uint64_t from, uint64_t pages) const
{
    if (m_faults_in_flight == 0)
        return false;
    for (const ServerThread& t : m_threads) {
        if (t.fault.task == task && !t.fault.task_ended && t.fault.page >= from && (t.fault.page - from) / kPage < pages)
            return true;
    }
    return false;
}

bool MemoryService::must_wait(Shrink, const Shrink::Request& request, ipc::Badge task) const
{
    if (m_faults_in_flight == 0 || task == 0)
        return false;
    const TaskRecord* record = m_tasks[m_last_found].task == task ? &m_tasks[m_last_found] : nullptr;
    for (size_t i = 0; i < kMaxTasks && !record; ++i)
        record = m_tasks[i].task == task ? &m_tasks[i] : nullptr;
    return record && request.pages <= record->heap_pages
        && fault_in_flight(task, record->heap_end() - request.pages * kPage, request.pages);
}

bool MemoryService::must_wait(Release, const Release::Request& request, ipc::Badge task) const
{
    return fault_in_flight(task, request.address, request.pages);
}

bool MemoryService::must_wait(Give, const Give::Request& request, ipc::Badge caller) const
{
    return fault_in_flight(caller, request.value.from, request.value.pages);
}

// Resolved (with `pending.kind` and `record` set) if a fresh frame should
// be mapped at `pending.page`; else the answer.
PageFaultVerdict MemoryService::decide(PendingFault& pending, TaskRecord*& record)
{
    if (pending.page == abi::kStackGuardPage)
        return PageFaultVerdict::StackOverflow;
    if (pending.page >= abi::kUserStackBottom && pending.page < abi::kUserSpaceEnd) {
        record = find_or_add(pending.task);
        if (!record)
            return PageFaultVerdict::OutOfMemory; // no room for its books
        if (room(*record) == 0)
            return PageFaultVerdict::OverLimit;
        if (uncommitted() == 0)
            reclaim();
        if (uncommitted() == 0)
            return PageFaultVerdict::OutOfMemory;
        pending.kind = FrameKind::Stack;
        return PageFaultVerdict::Resolved;
    }
    record = find(pending.task);
    if (!record || pending.page < abi::kUserHeapBase || pending.page >= record->heap_end())
        return PageFaultVerdict::Invalid;
    pending.kind = FrameKind::Heap;
    return PageFaultVerdict::Resolved;
}

bool MemoryService::is_page_fault(const ipc::Message& in)
{
    return in.badge == abi::kKernelBadge && in.label == abi::kPageFaultLabel && in.payload_length == 0 && !in.transfer_handle;
}

ipc::KernelMessage MemoryService::on_kernel_message(const ipc::Message& in, ipc::Message& reply)
{
    if (in.badge != abi::kKernelBadge)
        return ipc::KernelMessage::NoAnswer; // a bound notification's bits, say: none is bound here
    if (servers::is_fault_injection(in))
        servers::fault_on_purpose();
    if (in.label != abi::kPageFaultLabel || in.payload_length != 0 || in.transfer_handle)
        return ipc::KernelMessage::NoAnswer;
    reply = ipc::make_message(abi::kPageFaultLabel);
    reply.words[0] = static_cast<uint64_t>(page_fault(in.words[0], in.words[1], in.words[2]));
    return ipc::KernelMessage::Answered;
}

// ---- requests ----

ipc::Result<Grow::Reply> MemoryService::handle(Grow, const Grow::Request& request, ipc::Badge task)
{
    if (task == 0 || task & abi::kKernelBadge)
        return ipc::Error::Denied; // not a handle the kernel badged for a task
    TaskRecord* record = find_or_add(task);
    if (!record)
        return kOutOfMemory;
    if (request.pages > max_heap_pages() - record->heap_pages)
        return ipc::Error::InvalidRequest;
    if (request.pages > room(*record))
        return kOverLimit;
    if (request.pages > uncommitted() && reclaim(task))
        return ipc::Error::Denied; // the caller has ended meanwhile: its record is gone
    if (request.pages > uncommitted())
        return kOutOfMemory;
    uint64_t old_end = record->heap_end();
    record->heap_pages += request.pages;
    m_committed += request.pages;
    return Grow::Reply { old_end, record->heap_end() };
}

ipc::Result<Shrink::Reply> MemoryService::handle(Shrink, const Shrink::Request& request, ipc::Badge task)
{
    if (must_wait(Shrink {}, request, task))
        return ipc::Error::Busy;
    TaskRecord* record = find(task);
    if (!record)
        return request.pages == 0 ? ipc::Result<Shrink::Reply>(Shrink::Reply { abi::kUserHeapBase }) : ipc::Error::InvalidRequest;
    if (request.pages > record->heap_pages)
        return ipc::Error::InvalidRequest;
    // Each page's books are kept before its frame goes back (give_back may
    // let the lock go: a sibling's request then sees the heap as it is).
    for (uint64_t i = 0; i < request.pages; ++i) {
        record = find(task);
        if (!record)
            return ipc::Error::Denied; // the task ended meanwhile
        if (record->heap_pages == 0)
            break; // a sibling's Shrink took the rest meanwhile
        Backend::Clearing clearing;
        Backend::Unmap dropped = drop_page(*record, record->heap_end() - kPage, clearing);
        if (dropped == Backend::Unmap::Refused)
            return ipc::Error::Denied; // what was dropped so far stays dropped
        if (dropped == Backend::Unmap::NotMapped)
            --m_committed; // reserved, never touched
        --record->heap_pages;
        give_back(dropped, clearing);
    }
    record = find(task);
    return Shrink::Reply { record ? record->heap_end() : abi::kUserHeapBase };
}

ipc::Result<Release::Reply> MemoryService::handle(Release, const Release::Request& request, ipc::Badge task)
{
    if (must_wait(Release {}, request, task))
        return ipc::Error::Busy;
    TaskRecord* record = find(task);
    if (!record || request.address & (kPage - 1) || request.address < abi::kUserHeapBase
        || request.address > record->heap_end() || request.pages > (record->heap_end() - request.address) / kPage)
        return ipc::Error::InvalidRequest;
    uint64_t freed = 0;
    for (uint64_t i = 0; i < request.pages; ++i) {
        uint64_t page = request.address + i * kPage;
        record = find(task); // give_back may have let the lock go
        if (!record)
            return ipc::Error::Denied; // the task ended meanwhile
        if (page >= record->heap_end())
            break; // a sibling's Shrink took the rest meanwhile
        Backend::Clearing clearing;
        Backend::Unmap dropped = drop_page(*record, page, clearing);
        if (dropped == Backend::Unmap::Refused)
            return ipc::Error::Denied;
        if (taken(dropped)) {
            ++freed;
            ++m_committed; // still reserved: promised again
        }
        give_back(dropped, clearing);
    }
    return Release::Reply { freed };
}

ipc::Result<Stats::Reply> MemoryService::handle(Stats, const Stats::Request&, ipc::Badge)
{
    reclaim(); // so that a task that just ended is counted as gone
    return_batches(); // what the threads hold aside is free
    uint64_t tasks = 0;
    for (const TaskRecord& record : m_tasks)
        tasks += record.task != 0;
    // A frame on its way back is Heap in the table but free in substance.
    return Stats::Reply { m_frames.count(FrameKind::Free) + m_returning, m_frames.count(FrameKind::Stack),
        m_frames.count(FrameKind::Kernel), m_frames.count(FrameKind::Heap) - m_returning, m_frames.managed_frames(),
        m_committed, tasks, m_frames.count(FrameKind::Dma) };
}

// The pages stay allocated (Heap): they just change address spaces. The
// caller keeps its reservation, promised again, and normally Shrinks it.
ipc::Result<ipc::Empty> MemoryService::handle(Give, const Give::Request& request, ipc::Badge caller)
{
    if (must_wait(Give {}, request, caller))
        return ipc::Error::Busy;
    const Give::Fields& f = request.value;
    // The handle is ours to close only if Give succeeds; if not, the
    // dispatcher closes it.
    uint64_t target = 0;
    if (!m_backend->unstarted_task(request.handle, target))
        return ipc::Error::Denied;
    TaskRecord* record = find(caller);
    if (!record || f.pages == 0 || (f.from | f.to) & (kPage - 1)
        || f.flags & ~static_cast<uint64_t>(abi::MapWritable | abi::MapExecutable) || f.from < abi::kUserHeapBase
        || f.from > record->heap_end() || f.pages > (record->heap_end() - f.from) / kPage || !may_receive(f.to, f.pages))
        return ipc::Error::InvalidRequest;
    // Each page moved leaves a page of the caller's reservation empty and
    // promised again, until the caller Shrinks it: like any promise it needs
    // a free frame behind it, or a task's stack could find none left.
    if (f.pages > uncommitted() && reclaim(caller))
        return ipc::Error::Denied; // the caller has ended meanwhile: its record is gone
    if (f.pages > uncommitted())
        return kOutOfMemory;
    // The pages count against the task that gets them (its program and
    // first stack pages). find_or_add may reclaim: look the caller up again.
    TaskRecord* receiver = find_or_add(target);
    record = find(caller);
    if (!receiver || !record)
        return receiver ? ipc::Error::Denied : kOutOfMemory;
    if (f.pages > room(*receiver))
        return kOverLimit;
    // Every page's promise is taken now, not one by one: settle may let the
    // lock go between pages, and another task's Grow must not promise the
    // margin meanwhile. What no page moved for is given back on the way out.
    m_committed += f.pages;
    uint64_t ahead = f.pages; // promised, its page not moved yet
    auto refuse = [&](ipc::Error error) {
        m_committed -= ahead;
        return error;
    };
    for (uint64_t i = 0; i < f.pages; ++i) {
        // A frame between clear and settle is still the caller's to reach
        // (a TLB entry, a view): only once settled does it go into the
        // target. It stays allocated meanwhile, owned by neither task, so
        // no fault or reclaim takes it; settle may let the lock go, so the
        // records are looked up afresh after it.
        if (!record)
            return refuse(ipc::Error::Denied); // the caller ended meanwhile
        Backend::Clearing clearing;
        Backend::Unmap dropped = m_backend->clear(caller, f.from + i * kPage, clearing);
        if (!taken(dropped)) // the pages before it moved already
            return refuse(dropped == Backend::Unmap::Refused ? ipc::Error::Denied : ipc::Error::InvalidRequest);
        --record->heap_mapped; // its promise was taken above
        --ahead;
        uint64_t frame = clearing.frame;
        uint64_t to = f.to + i * kPage;
        if (to >= abi::kUserStackBottom)
            m_frames.retag(frame, FrameKind::Stack); // the statistics say what the page is for
        if (dropped == Backend::Unmap::Cleared) {
            m_backend->settle(clearing);
            // Meanwhile a sibling may have started the target (it may run:
            // its pages are not changed under it) or closed the handle, the
            // target may have ended, or a concurrent Give filled it.
            uint64_t still = 0;
            if (!m_backend->unstarted_task(request.handle, still) || still != target) {
                m_frames.free(frame);
                forget_if_empty(find(target)); // a record made for it above, for nothing
                return refuse(ipc::Error::Denied);
            }
            receiver = find_or_add(target);
            if (!receiver || room(*receiver) == 0) {
                m_frames.free(frame);
                return refuse(receiver ? kOverLimit : kOutOfMemory); // no record: as before the loop
            }
            record = find(caller); // after find_or_add, which may reclaim
        }
        if (m_backend->map(target, to, frame, f.flags) != Backend::Map::Mapped) {
            m_frames.free(frame); // the task went away, or the address was taken
            forget_if_empty(receiver); // find_or_add may have made it for a task that ended
            return refuse(ipc::Error::InvalidRequest);
        }
        ++receiver->given;
    }
    m_backend->close(request.handle);
    return ipc::Empty {};
}

ipc::Result<Limits::Reply> MemoryService::handle(Limits, const Limits::Request&, ipc::Badge task)
{
    TaskRecord* record = find(task);
    if (!record)
        return Limits::Reply { m_default_limit, 0 };
    return Limits::Reply { record->limit ? record->limit : m_default_limit, record->charged() };
}

// Only for a task being built (the handle proves the caller is building
// it), and only lower than the default: a spawner may give a program less,
// never more.
ipc::Result<ipc::Empty> MemoryService::handle(SetLimit, const SetLimit::Request& request, ipc::Badge)
{
    uint64_t target = 0;
    if (!m_backend->unstarted_task(request.handle, target))
        return ipc::Error::Denied;
    if (request.value.pages == 0 || request.value.pages > m_default_limit)
        return ipc::Error::InvalidRequest;
    TaskRecord* record = find_or_add(target);
    if (!record)
        return kOutOfMemory;
    if (request.value.pages < record->charged())
        return kOverLimit;
    record->limit = request.value.pages;
    m_backend->close(request.handle);
    return ipc::Empty {};
}

// ---- DMA memory ----

MemoryService::DmaBlock* MemoryService::free_dma_block()
{
    for (DmaBlock& block : m_dma) {
        if (block.task == 0)
            return &block;
    }
    return nullptr;
}

void MemoryService::free_run(uint64_t physical, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; ++i) {
        if (m_frames.free(physical + i * kPage) != FrameTable::FreeResult::Freed)
            ++m_reclaim_anomalies; // never expected: a block's frames are Dma
    }
}

ipc::Result<AllocateDma::Reply> MemoryService::handle(AllocateDma, const AllocateDma::Request& request, ipc::Badge caller)
{
    if (caller != abi::kDmaAuthorityBadge)
        return ipc::Error::Denied; // only the PCI server asks, for a driver
    if (request.task == 0 || request.task & (abi::kKernelBadge | abi::kDmaAuthorityBadge))
        return ipc::Error::InvalidRequest;
    if (request.pages == 0 || request.pages > kMaxDmaPages)
        return ipc::Error::InvalidRequest;
    DmaBlock* block = free_dma_block();
    if (!block)
        return kTooManyBlocks;
    TaskRecord* record = find_or_add(request.task);
    if (!record)
        return ipc::Error::Denied; // it ended (or there is no room for its books)
    if (request.pages > abi::kUserDmaSize / kPage - record->dma_pages)
        return ipc::Error::InvalidRequest; // its window is full
    if (request.pages > room(*record))
        return kOverLimit;
    if (request.pages > uncommitted())
        reclaim();
    record = find(request.task); // reclaim may have dropped it: it ended
    if (!record)
        return ipc::Error::Denied;
    uint64_t physical = 0;
    if (request.pages > uncommitted())
        return kOutOfMemory;
    if (!m_frames.allocate_run(FrameKind::Dma, request.pages, physical)) {
        return_batches(); // a batch may hold the frames the run needs
        if (!m_frames.allocate_run(FrameKind::Dma, request.pages, physical))
            return kOutOfMemory;
    }
    uint64_t address = abi::kUserDmaBase + record->dma_pages * kPage;
    for (uint64_t i = 0; i < request.pages; ++i) {
        m_backend->zero(physical + i * kPage);
        // Not reclaimed: the kernel keeps a dead driver's DMA frames out of
        // its reclaim queue (a device still running may write them); this
        // block's books free them (ReleaseDma).
        uint64_t flags = abi::MapWritable | abi::MapZeroed | abi::MapNotReclaimed;
        if (m_backend->map(request.task, address + i * kPage, physical + i * kPage, flags) != Backend::Map::Mapped) {
            // The task ended meanwhile. What was mapped stays this block's:
            // keep the block, orphaned when the task's end is seen,
            // released like any other.
            if (i == 0) {
                free_run(physical, request.pages);
                return ipc::Error::Denied;
            }
            free_run(physical + i * kPage, request.pages - i);
            *block = DmaBlock { request.task, physical, i, false, {} };
            record->dma_pages += i;
            return ipc::Error::Denied;
        }
    }
    *block = DmaBlock { request.task, physical, request.pages, false, {} };
    record->dma_pages += request.pages;
    return AllocateDma::Reply { address, physical };
}

ipc::Result<ReleaseDma::Reply> MemoryService::handle(ReleaseDma, const ReleaseDma::Request& request, ipc::Badge caller)
{
    if (caller != abi::kDmaAuthorityBadge)
        return ipc::Error::Denied; // only the PCI server knows the devices were stopped
    if (request.task == 0)
        return ipc::Error::InvalidRequest;
    reclaim(); // so that a task that just ended is seen as ended
    ReleaseDma::Reply reply { 0, 0 };
    for (DmaBlock& block : m_dma) {
        if (block.task != request.task)
            continue;
        if (!block.orphaned) {
            reply.held += block.pages;
            continue;
        }
        free_run(block.physical, block.pages);
        reply.freed += block.pages;
        block = DmaBlock {};
    }
    return reply;
}

} // namespace herald::memory
