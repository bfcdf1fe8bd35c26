// Fuzzes the memory service (servers/memory/memory_service.cpp) as the
// memory server runs it: memory-protocol messages from any task, decoded by
// libipc's dispatch, page faults the kernel sends in faulting threads'
// names, tasks that end, tasks the loader builds and starts, a kernel that
// refuses to unmap now and then.
//
// Input: a sequence of such events (FuzzedDataProvider). A model backend
// plays the kernel: it keeps every task's page -> frame mappings, refuses to
// map into dead tasks, queues a dead task's frames and then its id for
// reclaim, and checks every map the service asks for (a frame it allocated,
// of the kind its address says, zeroed first unless it moves between tasks,
// never mapped twice). After every event the books must balance: frames by
// kind add up, every mapped page is in the table, the service's commitment
// is what the tasks reserved and have not touched, no reclaim anomalies,
// the frame table's summary agrees with its entries.
#include "fuzz.hpp"
#include "libipc/protocols/memory.hpp"
#include "servers/memory/memory_service.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

using namespace herald;
using namespace herald::memory;
namespace proto = ipc::memory;

namespace {

// HERALD_FUZZ_TRACE=1 prints every event, to read a failing input.
const bool g_trace = std::getenv("HERALD_FUZZ_TRACE") != nullptr;
#define TRACE(...) (g_trace ? std::fprintf(stderr, __VA_ARGS__) : 0)

constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kHeap = abi::kUserHeapBase;
constexpr uint64_t kFirstTask = 1;
constexpr uint64_t kTasks = 6; // ids 1..6 run from the start; the loader builds more
// Small, so that Grow and the stack run out: 90 + 50 frames with a hole.
constexpr abi::ManagedRange kRanges[] = { { 0x10'0000, 90 }, { 0x18'0000, 50 } };
constexpr uint64_t kSpanStart = 0x10'0000;
constexpr uint64_t kSpanEnd = 0x18'0000 + 50 * kPage;

bool in_stack(uint64_t page) { return page >= abi::kUserStackBottom && page < abi::kUserSpaceEnd; }

struct Mapping {
    uint64_t frame;
    bool from_fault; // mapped fresh for a fault, not moved in by Give
};

class ModelKernel final : public Backend {
public:
    std::map<std::pair<uint64_t, uint64_t>, Mapping> mapped; // (task, page) -> frame
    std::set<uint64_t> frames_in_use;
    std::set<uint64_t> dead;
    std::set<uint64_t> refuse_unmap;
    std::deque<uint64_t> queue;               // the kernel's reclaim queue
    std::map<uint64_t, uint64_t> building;    // task handle -> task id, not started yet
    std::vector<uint64_t> closed;             // handles the service closed
    uint8_t* view { nullptr };
    const FrameTable* table { nullptr };
    // The service's last step before a map: a frame zeroed (a fresh page)
    // or a frame unmapped (Give moves it to another task).
    enum class Last { Nothing, Zeroed, Unmapped } last { Last::Nothing };
    uint64_t last_frame { 0 };

    Map map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags) override
    {
        if (dead.count(task))
            return Map::Refused;
        if (mapped.count({ task, address }))
            return Map::Occupied;
        FUZZ_CHECK(address % kPage == 0);
        FUZZ_CHECK(!frames_in_use.count(frame)); // one mapping per frame
        FrameKind kind;
        FUZZ_CHECK(table->kind_of(frame, kind));
        FUZZ_CHECK(kind == (in_stack(address) ? FrameKind::Stack : FrameKind::Heap));
        FUZZ_CHECK(last != Last::Nothing && frame == last_frame);
        bool moved = last == Last::Unmapped; // Give: the page changes address spaces
        // A fresh frame is zeroed and says so (the kernel counts frames_zeroed
        // by MapZeroed); a moved one keeps its contents and must not.
        if (moved)
            FUZZ_CHECK(!(flags & abi::MapZeroed));
        if (!moved) {
            FUZZ_CHECK(flags == (abi::MapWritable | abi::MapZeroed));
            for (uint64_t i = 0; i < kPage; i += 64)
                FUZZ_CHECK(view[frame + i] == 0);
        }
        std::memset(view + frame, 0xA5, kPage); // the task writes to its page
        last = Last::Nothing;
        mapped[{ task, address }] = Mapping { frame, !moved };
        frames_in_use.insert(frame);
        return Map::Mapped;
    }

    Unmap unmap(uint64_t task, uint64_t address, uint64_t& frame) override
    {
        // A task that ended is out of the kernel's task table before its
        // address space goes: MemoryUnmap says PeerGone, which is Refused.
        if (refuse_unmap.count(task) || dead.count(task))
            return Unmap::Refused;
        auto it = mapped.find({ task, address });
        if (it == mapped.end())
            return Unmap::NotMapped;
        frame = it->second.frame;
        frames_in_use.erase(frame);
        mapped.erase(it);
        last = Last::Unmapped;
        last_frame = frame;
        return Unmap::Unmapped;
    }

    bool unstarted_task(uint64_t handle, uint64_t& task) override
    {
        auto it = building.find(handle);
        if (it == building.end() || dead.count(it->second))
            return false;
        task = it->second;
        return true;
    }

    void close(uint64_t handle) override { closed.push_back(handle); }

    void zero(uint64_t frame) override
    {
        FrameKind kind;
        FUZZ_CHECK(table->kind_of(frame, kind) && (kind == FrameKind::Heap || kind == FrameKind::Stack));
        FUZZ_CHECK(!frames_in_use.count(frame));
        std::memset(view + frame, 0, kPage);
        last = Last::Zeroed;
        last_frame = frame;
    }

    size_t reclaim(uint64_t* out, size_t max) override
    {
        size_t count = 0;
        while (count < max && !queue.empty()) {
            out[count++] = queue.front();
            queue.pop_front();
        }
        return count;
    }

    // A task ends: its address space goes, its frames are queued, then its id.
    void exit(uint64_t task)
    {
        if (!dead.insert(task).second)
            return;
        for (auto it = mapped.begin(); it != mapped.end();) {
            if (it->first.first == task) {
                queue.push_back(it->second.frame);
                frames_in_use.erase(it->second.frame);
                it = mapped.erase(it);
            } else {
                ++it;
            }
        }
        queue.push_back(task << 1 | abi::kReclaimTaskBit);
    }

    bool id_queued(uint64_t task) const
    {
        return std::find(queue.begin(), queue.end(), task << 1 | abi::kReclaimTaskBit) != queue.end();
    }

    // Heap pages the task touched (faulted in) inside its reservation.
    uint64_t heap_faulted(uint64_t task, uint64_t reserved_pages) const
    {
        uint64_t count = 0;
        for (const auto& [key, mapping] : mapped) {
            if (key.first == task && mapping.from_fault && key.second >= kHeap && key.second < kHeap + reserved_pages * kPage)
                ++count;
        }
        return count;
    }
};

// What the service should have for one task.
struct TaskModel {
    bool record = false;          // Grow reached the service, which then keeps a record
    uint64_t reserved = 0;        // heap pages, from the replies
    uint64_t touched_at_death = 0;
};

class Harness;
void finish_faults_of(Harness& h, uint64_t task);

// As servers/memory/main.cpp serves it: a request over pages with a fault
// in flight waits until the fault's thread has mapped and finished it.
struct Server {
    MemoryService* service;
    Harness* harness;
    template<typename Operation, typename Request>
    auto handle(Operation operation, const Request& request, ipc::Badge badge)
    {
        if (service->must_wait(operation, request, badge))
            finish_faults_of(*harness, badge);
        FUZZ_CHECK(!service->must_wait(operation, request, badge));
        return service->handle(operation, request, badge);
    }
};

// A fault in flight on a server thread (1 to 3; thread 0 serves page
// faults in one step): begun, perhaps mapped, not finished.
struct Flight {
    bool active = false;
    bool tried = false; // map_fault ran
    bool mapped = false;
    Backend::Map map = Backend::Map::Refused;
    MemoryService::PendingFault pending;
};
constexpr size_t kFlightThreads = 4;

class Harness {
public:
    Harness()
    {
        // Allocated once: a fresh 700 KiB per input costs more page faults
        // than the whole run.
        static std::vector<uint64_t> memory((kSpanEnd - kSpanStart) / sizeof(uint64_t));
        std::fill(memory.begin(), memory.end(), 0x5A5A'5A5A'5A5A'5A5A);
        kernel.view = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(memory.data()) - kSpanStart);
        FUZZ_CHECK(service->init(kernel, kRanges, 2, kernel.view) == MemoryService::InitResult::Ready);
        kernel.table = &service->frames();
        m_managed = kRanges[0].pages + kRanges[1].pages;
        m_kernel_frames = service->frames().count(FrameKind::Kernel);
        for (uint64_t task = kFirstTask; task < kFirstTask + kTasks; ++task)
            tasks[task];
    }

    ModelKernel kernel;
    std::unique_ptr<MemoryService> service { std::make_unique<MemoryService>() };
    std::map<uint64_t, TaskModel> tasks;
    Flight flights[kFlightThreads];
    uint64_t next_task = kFirstTask + kTasks;
    uint64_t next_handle = 100;

    // A task may still be heard from: alive, or dead with its end not yet
    // reclaimed (its request or fault was on its way when it died).
    bool can_send(uint64_t task) const { return !kernel.dead.count(task) || kernel.id_queued(task); }
    bool started(uint64_t task) const
    {
        for (const auto& [handle, id] : kernel.building) {
            if (id == task)
                return false;
        }
        return true;
    }

    void check_books()
    {
        const FrameTable& frames = service->frames();
        uint64_t free = frames.count(FrameKind::Free), stack = frames.count(FrameKind::Stack);
        uint64_t heap = frames.count(FrameKind::Heap), kernel_frames = frames.count(FrameKind::Kernel);
        FUZZ_CHECK(free + stack + heap + kernel_frames == m_managed);
        FUZZ_CHECK(kernel_frames == m_kernel_frames);
        // Frames of dead tasks wait in the queue until the service takes them back.
        uint64_t queued_frames = 0;
        for (uint64_t entry : kernel.queue)
            queued_frames += !(entry & abi::kReclaimTaskBit);
        // The server threads' batches are Heap in the table, given to no task,
        // and free for the books.
        uint64_t cached = service->cached_frames();
        // A fault in flight holds its frame; once mapped it is the task's.
        uint64_t unmapped_in_flight = 0;
        for (const Flight& flight : flights)
            unmapped_in_flight += flight.active && !flight.mapped;
        FUZZ_CHECK(stack + heap == kernel.mapped.size() + queued_frames + cached + unmapped_in_flight);
        FUZZ_CHECK(service->committed() <= free + cached + service->heap_frames_in_flight());
        FUZZ_CHECK(service->reclaim_anomalies() == 0);
        FUZZ_CHECK(frames.check_consistency());

        uint64_t committed = 0;
        for (const auto& [task, model] : tasks) {
            if (!model.record || (kernel.dead.count(task) && !kernel.id_queued(task)))
                continue;
            uint64_t touched = kernel.dead.count(task) ? model.touched_at_death : kernel.heap_faulted(task, model.reserved);
            FUZZ_CHECK(touched <= model.reserved);
            // A heap page mapped by a fault still in flight keeps its promise
            // until the fault is finished.
            for (const Flight& flight : flights)
                touched -= flight.active && flight.mapped && flight.pending.task == task && flight.pending.kind == FrameKind::Heap;
            committed += model.reserved - touched;
        }
        TRACE("  books: committed %llu, model %llu, free %llu\n", (unsigned long long)service->committed(),
            (unsigned long long)committed, (unsigned long long)free);
        FUZZ_CHECK(service->committed() == committed);
    }

    void forget_reclaimed()
    {
        for (auto& [task, model] : tasks) {
            if (kernel.dead.count(task) && !kernel.id_queued(task))
                model = TaskModel {}; // the service forgot it too
        }
    }

    void end_task(uint64_t task)
    {
        if (kernel.dead.count(task))
            return; // a task ends once
        TaskModel& model = tasks[task];
        model.touched_at_death = kernel.heap_faulted(task, model.reserved);
        kernel.exit(task);
    }

private:
    uint64_t m_managed = 0;
    uint64_t m_kernel_frames = 0;
};

uint64_t pick_task(FuzzedDataProvider& in, Harness& h)
{
    auto it = h.tasks.begin();
    std::advance(it, in.ConsumeIntegralInRange<size_t>(0, h.tasks.size() - 1));
    return it->first;
}

uint64_t small_or_any(FuzzedDataProvider& in, uint64_t small)
{
    return in.ConsumeIntegralInRange<int>(0, 15) == 0 ? in.ConsumeIntegral<uint64_t>() : in.ConsumeIntegralInRange<uint64_t>(0, small);
}

uint64_t pick_page(FuzzedDataProvider& in)
{
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: return abi::kUserCodeBase + in.ConsumeIntegralInRange<uint64_t>(0, 16) * kPage;
    case 1: return abi::kUserSpaceEnd - in.ConsumeIntegralInRange<uint64_t>(1, 24) * kPage;
    case 2: return abi::kStackGuardPage;
    case 3: return in.ConsumeIntegral<uint64_t>();
    default: return kHeap + in.ConsumeIntegralInRange<uint64_t>(0, in.ConsumeBool() ? 3 : 48) * kPage;
    }
}

// One memory-protocol message from `task`, through dispatch.
void request(FuzzedDataProvider& in, Harness& h, uint64_t task)
{
    ipc::Message message = ipc::make_message(in.ConsumeIntegralInRange<uint32_t>(1, 6));
    // Mostly the sender's id, as the kernel badges it; now and then any
    // badge, but never one of a task that cannot send (ended and reclaimed,
    // or not started), which the kernel never delivers.
    ipc::Badge badge = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? in.ConsumeIntegral<uint64_t>() : task;
    if (badge != 0 && !(badge & abi::kKernelBadge) && (!h.can_send(badge) || !h.started(badge)))
        badge = task;
    message.badge = badge;
    bool give = message.label == proto::Give::label;
    // Addresses mostly in the heap (Release, Give's `from`), Give's pages
    // and flags mostly sane: a request has to get past the checks to reach
    // the code behind them.
    message.words[0] = small_or_any(in, 40);
    if (message.label == proto::Release::label || give)
        message.words[0] = (in.ConsumeIntegralInRange<int>(0, 3) != 0 ? kHeap + in.ConsumeIntegralInRange<uint64_t>(0, 3) * kPage : pick_page(in))
            + (in.ConsumeIntegralInRange<int>(0, 15) == 0 ? 8 : 0);
    message.words[1] = give ? pick_page(in) : small_or_any(in, 40);
    message.words[2] = give && in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(1, 4) : small_or_any(in, 8);
    message.words[3] = give && in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 3) : small_or_any(in, 7);
    if (give && in.ConsumeBool()) {
        // A Give the loader could send: one of the caller's heap pages that
        // is mapped, to a code or stack page of a task being built.
        for (const auto& [key, mapping] : h.kernel.mapped) {
            if (key.first == badge && key.second >= kHeap && key.second < abi::kUserHeapLimit && in.ConsumeBool()) {
                message.words[0] = key.second;
                break;
            }
        }
        switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: message.words[1] = abi::kUserCodeBase + in.ConsumeIntegralInRange<uint64_t>(0, 8) * kPage; break;
        case 1: message.words[1] = abi::kUserSpaceEnd - in.ConsumeIntegralInRange<uint64_t>(1, 4) * kPage; break;
        default: message.words[1] = kHeap + in.ConsumeIntegralInRange<uint64_t>(0, 4) * kPage; break; // its heap-to-be
        }
        message.words[2] = in.ConsumeIntegralInRange<uint64_t>(1, 2);
        message.words[3] = in.ConsumeIntegralInRange<uint64_t>(0, 3);
    }
    ipc::Handle given = 0;
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0 || message.label == proto::Give::label) {
        message.transfer_handle = true;
        given = h.kernel.building.empty() || in.ConsumeIntegralInRange<int>(0, 3) == 0 ? in.ConsumeIntegralInRange<uint64_t>(1, 200)
                                                             : h.kernel.building.begin()->first;
        message.words[7] = given;
    }
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0)
        message.payload_length = in.ConsumeIntegralInRange<uint32_t>(1, 16);

    std::unique_ptr<uint8_t[]> payload(new uint8_t[ipc::kMaxPayload]());
    Server server { h.service.get(), &h };
    size_t closed_before = h.kernel.closed.size();
    bool a_task = badge != 0 && !(badge & abi::kKernelBadge);
    TaskModel ignored;
    TaskModel& model = a_task ? h.tasks[badge] : ignored; // any task id may come to exist
    uint64_t reserved_before = model.reserved;
    ipc::Message out;
    ipc::Handle unclaimed = ipc::dispatch<proto::Protocol>(message, payload.get(), server, out);
    TRACE("request label %u badge %#llx words %#llx %#llx %#llx %#llx handle %s%llu payload %u -> %s %lld %#llx %#llx\n",
        message.label, (unsigned long long)badge, (unsigned long long)message.words[0], (unsigned long long)message.words[1],
        (unsigned long long)message.words[2], (unsigned long long)message.words[3], message.transfer_handle ? "" : "none ",
        (unsigned long long)given, message.payload_length, ipc::is_error_reply(out) ? "error" : "ok",
        (long long)out.words[0], (unsigned long long)out.words[0], (unsigned long long)out.words[1]);

    bool failed = ipc::is_error_reply(out);
    auto error = static_cast<ipc::Error>(static_cast<int64_t>(out.words[0]));
    if (message.transfer_handle) {
        // Give takes its handle (and closes it) when it succeeds; otherwise
        // the caller of dispatch gets it back to close.
        bool taken = !failed && message.label == proto::Give::label;
        FUZZ_CHECK(unclaimed == (taken ? 0 : given));
        FUZZ_CHECK(h.kernel.closed.size() == closed_before + (taken ? 1 : 0));
    }
    if (message.label == proto::Grow::label) {
        bool reached = !failed || (error != ipc::Error::BadMessage && error != ipc::Error::Denied);
        if (reached) {
            FUZZ_CHECK(a_task);
            model.record = true;
        }
        if (!failed) {
            proto::Grow::Reply reply;
            std::memcpy(&reply, out.words, sizeof reply);
            FUZZ_CHECK(reply.old_end == kHeap + reserved_before * kPage);
            FUZZ_CHECK(reply.new_end == reply.old_end + message.words[0] * kPage);
            model.reserved = (reply.new_end - kHeap) / kPage;
        }
    } else if (message.label == proto::Shrink::label && !failed) {
        proto::Shrink::Reply reply;
        std::memcpy(&reply, out.words, sizeof reply);
        FUZZ_CHECK(model.record || (message.words[0] == 0 && reply.new_end == kHeap));
        if (model.record) {
            FUZZ_CHECK(reply.new_end == kHeap + (reserved_before - message.words[0]) * kPage);
            model.reserved = (reply.new_end - kHeap) / kPage;
        }
    }
    // A refused unmap (Denied) stops Shrink, Release and Give at their first
    // page, before anything changed: the model has nothing to undo.
}

void fault(FuzzedDataProvider& in, Harness& h, uint64_t task)
{
    uint64_t address = pick_page(in) + in.ConsumeIntegralInRange<uint64_t>(0, kPage - 1);
    uint64_t error = in.ConsumeIntegralInRange<uint64_t>(0, 31);
    bool mapped_before = h.kernel.mapped.count({ task, address & ~(kPage - 1) }) != 0;
    auto verdict = h.service->page_fault(task, address, error);
    TRACE("fault task %llu address %#llx error %llu -> %s\n", (unsigned long long)task, (unsigned long long)address,
        (unsigned long long)error, abi::page_fault_verdict_name(verdict));
    // Resolved: a fresh page, one mapped before (a not-present fault the
    // pager finds already answered: the access runs again), or one a
    // sibling thread's fault in flight is mapping (this fault takes no
    // frame; the access runs again).
    // (The sibling's answer may go to a task the kernel killed meanwhile:
    // nobody waits for it, as for any answer to a dead task.)
    if (verdict == abi::PageFaultVerdict::Resolved) {
        bool sibling = false;
        for (const Flight& flight : h.flights) {
            if (flight.active && flight.pending.has_frame && flight.pending.task == task
                && flight.pending.page == (address & ~(kPage - 1)))
                sibling = true;
        }
        if (!sibling) {
            FUZZ_CHECK(!h.kernel.dead.count(task));
            FUZZ_CHECK(h.kernel.mapped.count({ task, address & ~(kPage - 1) }));
        }
    }
    (void)mapped_before;
}

// The last step of the fault in flight on `thread`, whatever step it is at.
void finish_flight(Harness& h, size_t thread)
{
    Flight& flight = h.flights[thread];
    if (!flight.active)
        return;
    if (!flight.tried) {
        flight.map = h.service->map_fault(flight.pending);
        flight.mapped = flight.map == Backend::Map::Mapped;
    }
    uint64_t page = flight.pending.page;
    auto verdict = h.service->finish_fault(flight.pending, flight.map);
    TRACE("thread %zu finishes its fault: task %llu page %#llx -> %s\n", thread, (unsigned long long)flight.pending.task,
        (unsigned long long)page, abi::page_fault_verdict_name(verdict));
    // Resolved: mapped by this fault or another, and still there unless the
    // task has ended since (the kernel took its pages back; the service has
    // not heard yet) or a Release took it after the other fault.
    if (verdict == abi::PageFaultVerdict::Resolved && flight.mapped)
        FUZZ_CHECK(h.kernel.mapped.count({ flight.pending.task, page }) || h.kernel.dead.count(flight.pending.task));
    if (verdict == abi::PageFaultVerdict::Resolved)
        FUZZ_CHECK(flight.map != Backend::Map::Refused);
    flight = Flight {};
}

void finish_faults_of(Harness& h, uint64_t task)
{
    for (size_t thread = 0; thread < kFlightThreads; ++thread) {
        if (h.flights[thread].active && h.flights[thread].pending.task == task)
            finish_flight(h, thread);
    }
}

// One step of a fault on server thread 1 to 3: it begins, maps with the
// lock let go, or finishes.
void fault_step(FuzzedDataProvider& in, Harness& h, uint64_t task)
{
    size_t thread = in.ConsumeIntegralInRange<size_t>(1, kFlightThreads - 1);
    Flight& flight = h.flights[thread];
    if (flight.active && !flight.tried && in.ConsumeBool()) {
        flight.map = h.service->map_fault(flight.pending);
        flight.tried = true;
        flight.mapped = flight.map == Backend::Map::Mapped;
        TRACE("thread %zu maps task %llu page %#llx: %s\n", thread, (unsigned long long)flight.pending.task,
            (unsigned long long)flight.pending.page, flight.mapped ? "mapped" : "refused");
        return;
    }
    if (flight.active) {
        finish_flight(h, thread);
        return;
    }
    if (!h.can_send(task) || !h.started(task))
        return;
    uint64_t address = pick_page(in) + in.ConsumeIntegralInRange<uint64_t>(0, kPage - 1);
    uint64_t error = in.ConsumeBool() ? 0b110 : in.ConsumeIntegralInRange<uint64_t>(0, 31);
    flight.pending = h.service->begin_fault(thread, task, address, error);
    flight.active = flight.pending.has_frame;
    TRACE("thread %zu begins a fault: task %llu address %#llx error %llu -> %s\n", thread, (unsigned long long)task,
        (unsigned long long)address, (unsigned long long)error,
        flight.active ? "in flight" : abi::page_fault_verdict_name(flight.pending.verdict));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    auto h = std::make_unique<Harness>();
    h->check_books();
    for (int step = 0; step < 200 && in.remaining_bytes() > 0; ++step) {
        uint64_t task = pick_task(in, *h);
        switch (in.ConsumeIntegralInRange<int>(0, 9)) {
        case 0: case 1: case 2: case 3:
            if (h->can_send(task) && h->started(task))
                request(in, *h, task);
            break;
        case 4: case 5:
            if (h->can_send(task) && h->started(task))
                fault(in, *h, task);
            break;
        case 6:
            fault_step(in, *h, task);
            break;
        case 7:
            TRACE("end task %llu\n", (unsigned long long)task);
            h->end_task(task);
            break;
        case 8: { // the loader builds a task, or starts one it built
            if (in.ConsumeBool() || h->kernel.building.empty()) {
                uint64_t id = h->next_task++;
                h->tasks[id];
                TRACE("build task %llu (handle %llu)\n", (unsigned long long)id, (unsigned long long)h->next_handle);
                h->kernel.building[h->next_handle++] = id;
            } else {
                TRACE("start task %llu\n", (unsigned long long)h->kernel.building.begin()->second);
                h->kernel.building.erase(h->kernel.building.begin());
            }
            break;
        }
        default: // the kernel will not unmap this task's pages for a while
            TRACE("unmap refusal for task %llu toggled\n", (unsigned long long)task);
            if (!h->kernel.refuse_unmap.insert(task).second)
                h->kernel.refuse_unmap.erase(task);
            break;
        }
        h->forget_reclaimed();
        h->check_books();
    }
    for (size_t thread = 0; thread < kFlightThreads; ++thread)
        finish_flight(*h, thread);
    for (auto& [task, model] : h->tasks)
        h->end_task(task);
    (void)h->service->handle(proto::Stats {}, {}, kFirstTask); // takes everything back
    h->forget_reclaimed();
    h->check_books();
    FUZZ_CHECK(h->service->frames().count(FrameKind::Free) == h->service->frames().managed_frames() - h->service->frames().count(FrameKind::Kernel));
    FUZZ_CHECK(h->service->committed() == 0);
    return 0;
}
