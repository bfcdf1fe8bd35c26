// MemoryService (servers/memory/memory_service.hpp) on the host, with a fake
// Backend standing in for the kernel: it keeps each task's page -> frame
// mappings, refuses to map into dead tasks, zeroes frames in a host buffer
// that plays physical memory, and hands out a reclaim queue that a test
// fills the way the kernel does when a task ends (its frames, then its id).
// It unmaps in two halves as the ring-0 backend does (clear, then settle,
// where a test's `meanwhile` plays what other CPUs do while the service's
// lock is let go), unless a test asks for the ring-3 unmap whole.
#include "servers/memory/memory_service.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace herald;
using namespace herald::memory;
using abi::PageFaultVerdict;
namespace proto = ipc::memory;

namespace {

constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kHeap = abi::kUserHeapBase;
constexpr uint64_t kNotPresentWrite = 0b110; // user, write, not present
constexpr uint64_t kMaxHeapPages = (abi::kUserHeapLimit - abi::kUserHeapBase) / kPage;

uint64_t heap_page(uint64_t index) { return kHeap + index * kPage; }
uint64_t stack_page(uint64_t index_from_top) { return abi::kUserSpaceEnd - (index_from_top + 1) * kPage; }
bool in_heap(uint64_t page) { return page >= kHeap && page < abi::kUserHeapLimit; }
bool in_stack(uint64_t page) { return page >= abi::kUserStackBottom && page < abi::kUserSpaceEnd; }
bool in_dma(uint64_t page) { return page >= abi::kUserDmaBase && page < abi::kUserDmaBase + abi::kUserDmaSize; }

uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E37'79B9'7F4A'7C15);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EB;
    return z ^ (z >> 31);
}

// The kernel side of the service. Everything the service does wrong by the
// kernel's rules (mapping a frame twice, a frame it has not allocated, one
// it did not zero) is recorded in `errors`, which every test checks empty.
class FakeBackend final : public Backend {
public:
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> mapped; // (task, page) -> frame
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> owner;  // frame -> (task, page)
    std::set<uint64_t> dead;
    std::set<uint64_t> refuse_unmap; // the kernel will not unmap these tasks' pages now
    std::deque<uint64_t> queue; // the kernel's reclaim queue
    std::map<uint64_t, uint64_t> building; // task handle -> id of a task not started yet (Give)
    std::vector<uint64_t> closed;          // handles the service closed
    std::vector<std::string> errors;
    uint8_t* view { nullptr };
    const FrameTable* table { nullptr };
    uint64_t last_zeroed { ~uint64_t(0) };
    std::set<uint64_t> moving; // Give maps a frame it unmapped, not a zeroed one
    // The ring-0 backend's unmap in two halves (Backend::clear, settle):
    // true unless a test asks for the ring-3 one (unmap whole). `meanwhile`
    // runs inside settle, where the ring-0 service has let its lock go: what
    // another CPU may do then. A frame must not be reused before it is
    // settled: `unsettled` holds the frames cleared and not yet settled,
    // and a map or zero of one of them is an error.
    bool two_halves { true };
    std::function<void(uint64_t frame)> meanwhile;
    std::set<uint64_t> unsettled;
    size_t settles { 0 };
    size_t clears { 0 };
    size_t zero_calls { 0 };
    size_t reclaim_calls { 0 };
    std::set<uint64_t> not_reclaimed; // frames mapped MapNotReclaimed

    Map map(uint64_t task, uint64_t address, uint64_t frame, uint64_t flags) override
    {
        if (dead.count(task))
            return Map::Refused;
        if (mapped.count({ task, address }))
            return Map::Occupied;
        bool moved = moving.count(frame) != 0;
        if (unsettled.count(frame))
            errors.push_back("map: a frame not settled yet");
        if (address % kPage != 0 || (!moved && !(flags & herald::abi::MapWritable)))
            errors.push_back("map: unaligned page, or a fresh one read-only");
        if (owner.count(frame))
            errors.push_back("map: frame already mapped elsewhere");
        FrameKind kind;
        if (!table || !table->kind_of(frame, kind) || (kind != FrameKind::Heap && kind != FrameKind::Stack && kind != FrameKind::Dma))
            errors.push_back("map: frame not allocated as Heap, Stack or Dma");
        else if ((in_heap(address) && kind != FrameKind::Heap) || (in_stack(address) && kind != FrameKind::Stack)
            || (in_dma(address) != (kind == FrameKind::Dma)))
            errors.push_back("map: frame kind does not match the region");
        if (moved) {
            moving.erase(frame); // moved from another task: its contents travel with it
        } else if (frame != last_zeroed)
            errors.push_back("map: frame not zeroed just before");
        if (moved) {
            if (flags & herald::abi::MapZeroed)
                errors.push_back("map: a moved frame is marked MapZeroed (it was not zeroed)");
        } else if (!(flags & herald::abi::MapZeroed))
            errors.push_back("map: a frame zeroed for the mapping is not marked MapZeroed (the kernel counts frames_zeroed by it)");
        else {
            for (uint64_t i = 0; i < kPage; ++i) {
                if (view[frame + i] != 0) {
                    errors.push_back("map: frame contents not zero");
                    break;
                }
            }
            std::memset(view + frame, 0xA5, kPage); // the task writes to its page
        }
        if (in_dma(address) != ((flags & herald::abi::MapNotReclaimed) != 0))
            errors.push_back("map: DMA memory must be mapped MapNotReclaimed, and nothing else");
        if (flags & herald::abi::MapNotReclaimed)
            not_reclaimed.insert(frame);
        else
            not_reclaimed.erase(frame);
        mapped[{ task, address }] = frame;
        owner[frame] = { task, address };
        return Map::Mapped;
    }

    Unmap unmap(uint64_t task, uint64_t address, uint64_t& frame) override
    {
        if (refuse_unmap.count(task))
            return Unmap::Refused;
        auto it = mapped.find({ task, address });
        if (it == mapped.end())
            return Unmap::NotMapped;
        frame = it->second;
        owner.erase(frame);
        mapped.erase(it);
        moving.insert(frame);
        return Unmap::Unmapped;
    }

    Unmap clear(uint64_t task, uint64_t address, Clearing& out) override
    {
        ++clears;
        Unmap result = Backend::clear(task, address, out); // the whole unmap, then pretend it waits
        if (!two_halves || result != Unmap::Unmapped)
            return result;
        out.space = task;
        unsettled.insert(out.frame);
        return Unmap::Cleared;
    }

    void settle(const Clearing& cleared) override
    {
        ++settles;
        if (!unsettled.erase(cleared.frame))
            errors.push_back("settle: a frame not cleared, or settled twice");
        unsettled.insert(cleared.frame); // until the wait ends: what happens meanwhile must not reuse it
        if (meanwhile)
            meanwhile(cleared.frame);
        unsettled.erase(cleared.frame);
    }

    bool unstarted_task(uint64_t handle, uint64_t& task) override
    {
        auto it = building.find(handle);
        if (it == building.end())
            return false;
        task = it->second;
        return true;
    }

    void close(uint64_t handle) override { closed.push_back(handle); }

    void zero(uint64_t frame) override
    {
        ++zero_calls;
        FrameKind kind;
        if (!table || !table->kind_of(frame, kind) || (kind != FrameKind::Heap && kind != FrameKind::Stack && kind != FrameKind::Dma)) {
            errors.push_back("zero: frame not allocated as Heap, Stack or Dma");
            return; // never scribble on the table itself
        }
        if (unsettled.count(frame))
            errors.push_back("zero: a frame not settled yet");
        std::memset(view + frame, 0, kPage);
        last_zeroed = frame;
        moving.erase(frame); // freed and zeroed again: the next map is a fresh frame, not a move
    }

    size_t reclaim(uint64_t* out, size_t max) override
    {
        ++reclaim_calls;
        size_t count = 0;
        while (count < max && !queue.empty()) {
            out[count++] = queue.front();
            queue.pop_front();
        }
        return count;
    }

    // What the kernel does when a task ends: tear down its address space,
    // queue every frame it had (but those mapped MapNotReclaimed: DMA
    // memory), then its id.
    void exit(uint64_t task)
    {
        dead.insert(task);
        for (auto it = mapped.begin(); it != mapped.end();) {
            if (it->first.first == task) {
                if (!not_reclaimed.count(it->second))
                    queue.push_back(it->second);
                owner.erase(it->second);
                it = mapped.erase(it);
            } else {
                ++it;
            }
        }
        queue.push_back(task << 1 | abi::kReclaimTaskBit);
    }

    size_t heap_pages_of(uint64_t task) const
    {
        size_t pages = 0;
        for (auto& [key, frame] : mapped)
            pages += key.first == task && in_heap(key.second);
        return pages;
    }
    size_t pages_where(bool (*region)(uint64_t)) const
    {
        size_t pages = 0;
        for (auto& [key, frame] : mapped)
            pages += region(key.second);
        return pages;
    }
    bool has(uint64_t task, uint64_t page) const { return mapped.count({ task, page }) != 0; }
    FrameKind kind_at(uint64_t task, uint64_t page) const
    {
        FrameKind kind = FrameKind::Free;
        auto it = mapped.find({ task, page });
        if (it != mapped.end())
            table->kind_of(it->second, kind);
        return kind;
    }
};

// Two ranges with a hole between them: 300 + 200 = 500 managed frames over
// a span of 712, whose table takes 2 frames at the start of the first range.
const std::vector<abi::ManagedRange> kDefaultRanges = { { 0x10'0000, 300 }, { 0x30'0000, 200 } };

struct Harness {
    std::vector<abi::ManagedRange> ranges;
    std::vector<uint64_t> memory; // the whole span, from ranges[0].base
    FakeBackend backend;
    std::unique_ptr<MemoryService> service { std::make_unique<MemoryService>() };
    uint64_t managed { 0 };
    uint64_t table_pages { 0 };

    // share_divisor 0: no frame limit (the tests of commitment and faults);
    // the quota's tests pass MemoryService::kDefaultShareDivisor.
    explicit Harness(std::vector<abi::ManagedRange> r = kDefaultRanges, uint64_t share_divisor = 0) : ranges(std::move(r))
    {
        uint64_t first = ranges.front().base;
        uint64_t end = ranges.back().base + ranges.back().pages * kPage;
        memory.assign((end - first) / sizeof(uint64_t), 0x5A5A'5A5A'5A5A'5A5A);
        for (auto& range : ranges)
            managed += range.pages;
        table_pages = FrameTable::storage_bytes((end - first) / kPage) / kPage;
        backend.view = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(memory.data()) - first);
        REQUIRE(service->init(backend, ranges.data(), ranges.size(), backend.view, share_divisor)
            == MemoryService::InitResult::Ready);
        backend.table = &service->frames();
    }

    proto::Stats::Reply stats()
    {
        auto result = service->handle(proto::Stats {}, {}, 1);
        REQUIRE(result.has_value());
        return result.value();
    }
    ipc::Result<proto::Grow::Reply> grow(uint64_t task, uint64_t pages) { return service->handle(proto::Grow {}, { pages }, task); }
    ipc::Result<proto::Shrink::Reply> shrink(uint64_t task, uint64_t pages) { return service->handle(proto::Shrink {}, { pages }, task); }
    ipc::Result<proto::Release::Reply> release(uint64_t task, uint64_t address, uint64_t pages)
    {
        return service->handle(proto::Release {}, { address, pages }, task);
    }
    ipc::Result<ipc::Empty> give(uint64_t task, uint64_t handle, uint64_t from, uint64_t to, uint64_t pages,
        uint64_t flags = abi::MapWritable)
    {
        return service->handle(proto::Give {}, { { from, to, pages, flags }, handle }, task);
    }
    PageFaultVerdict fault(uint64_t task, uint64_t address, uint64_t error = kNotPresentWrite)
    {
        return service->page_fault(task, address, error);
    }
    uint64_t free_frames() const { return service->frames().count(FrameKind::Free); }
    ipc::Result<proto::AllocateDma::Reply> allocate_dma(uint64_t task, uint64_t pages,
        uint64_t caller = abi::kDmaAuthorityBadge)
    {
        return service->handle(proto::AllocateDma {}, { task, pages }, caller);
    }
    ipc::Result<proto::ReleaseDma::Reply> release_dma(uint64_t task, uint64_t caller = abi::kDmaAuthorityBadge)
    {
        return service->handle(proto::ReleaseDma {}, { task }, caller);
    }

    // The invariants that hold between any two requests.
    void check_sane()
    {
        auto s = stats();
        CHECK(s.free + s.stack + s.heap + s.kernel + s.dma == s.managed);
        CHECK(s.managed == managed);
        CHECK(s.kernel == table_pages);
        CHECK(s.heap == backend.pages_where(in_heap));
        CHECK(s.stack == backend.pages_where(in_stack));
        CHECK(s.committed <= s.free);
        CHECK(service->reclaim_anomalies() == 0);
        CHECK(service->frames().check_consistency());
        CHECK(backend.errors.empty());
        CHECK(backend.queue.empty());
    }
};

// What each Give case starts from: a loader building a child (`child_handle`
// names `child`) with `pages` heap pages Grown and faulted in.
void loader_with_heap_pages(Harness& h, uint64_t loader, uint64_t child_handle, uint64_t child, uint64_t pages)
{
    h.backend.building[child_handle] = child;
    REQUIRE(h.grow(loader, pages).has_value());
    for (uint64_t page = 0; page < pages; ++page)
        REQUIRE(h.fault(loader, heap_page(page)) == PageFaultVerdict::Resolved);
}

template<typename T>
ipc::Error error_of(const ipc::Result<T>& result)
{
    REQUIRE(result.is_error());
    return result.error();
}

} // namespace

// ---- init ----

TEST_CASE("memory service: init manages every range and keeps its table in Kernel frames", "[memory_service]")
{
    Harness h;
    REQUIRE(h.table_pages == 2);
    auto s = h.stats();
    CHECK(s.managed == 500);
    CHECK(s.kernel == 2);
    CHECK(s.free == 498);
    CHECK(s.stack == 0);
    CHECK(s.heap == 0);
    CHECK(s.committed == 0);
    CHECK(s.tasks == 0);
    FrameKind kind;
    REQUIRE(h.service->frames().kind_of(0x10'0000, kind));
    CHECK(kind == FrameKind::Kernel);
    REQUIRE(h.service->frames().kind_of(0x10'1000, kind));
    CHECK(kind == FrameKind::Kernel);
    REQUIRE(h.service->frames().kind_of(0x10'2000, kind));
    CHECK(kind == FrameKind::Free);
    REQUIRE(h.service->frames().kind_of(0x30'0000 + 199 * kPage, kind));
    CHECK(kind == FrameKind::Free);
    CHECK_FALSE(h.service->frames().kind_of(0x10'0000 + 300 * kPage, kind)); // the hole
    CHECK(h.service->frames().check_consistency());
    h.check_sane();
}

TEST_CASE("memory service: the table goes to the first range that can hold it", "[memory_service]")
{
    // 1 frame, then 300: a span of 556 frames needs a 2-frame table.
    Harness h({ { 0x10'0000, 1 }, { 0x20'0000, 300 } });
    REQUIRE(h.table_pages == 2);
    FrameKind kind;
    REQUIRE(h.service->frames().kind_of(0x10'0000, kind));
    CHECK(kind == FrameKind::Free);
    REQUIRE(h.service->frames().kind_of(0x20'0000, kind));
    CHECK(kind == FrameKind::Kernel);
    REQUIRE(h.service->frames().kind_of(0x20'1000, kind));
    CHECK(kind == FrameKind::Kernel);
    auto s = h.stats();
    CHECK(s.managed == 301);
    CHECK(s.kernel == 2);
    CHECK(s.free == 299);
    h.check_sane();
}

TEST_CASE("memory service: init refuses no ranges, an empty range and ranges too small for the table", "[memory_service]")
{
    FakeBackend backend;
    auto service = std::make_unique<MemoryService>();
    std::vector<uint64_t> buffer(4096 / 8);
    uint8_t* view = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(buffer.data()) - 0x10'0000);
    CHECK(service->init(backend, nullptr, 0, view) == MemoryService::InitResult::NoRanges);
    abi::ManagedRange empty[] = { { 0x10'0000, 0 } };
    CHECK(service->init(backend, empty, 1, view) == MemoryService::InitResult::BadRanges);
    // 1 + 1 frames spread over 1024: the 3-frame table fits in neither.
    std::vector<uint64_t> span(1024 * kPage / 8);
    view = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(span.data()) - 0x10'0000);
    abi::ManagedRange sparse[] = { { 0x10'0000, 1 }, { 0x10'0000 + 1023 * kPage, 1 } };
    CHECK(service->init(backend, sparse, 2, view) == MemoryService::InitResult::TableTooLarge);
}

TEST_CASE("memory service: init refuses overlapping, out-of-order and wrapping ranges", "[memory_service]")
{
    FakeBackend backend;
    auto service = std::make_unique<MemoryService>();
    std::vector<uint64_t> span(64 * kPage / 8);
    uint8_t* view = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(span.data()) - 0x10'0000);
    abi::ManagedRange overlapping[] = { { 0x10'0000, 32 }, { 0x10'0000 + 16 * kPage, 32 } };
    CHECK(service->init(backend, overlapping, 2, view) == MemoryService::InitResult::BadRanges);
    abi::ManagedRange out_of_order[] = { { 0x10'0000 + 32 * kPage, 16 }, { 0x10'0000, 16 } };
    CHECK(service->init(backend, out_of_order, 2, view) == MemoryService::InitResult::BadRanges);
    abi::ManagedRange wrapping[] = { { 0xFFFF'FFFF'FFFF'F000, 2 } };
    CHECK(service->init(backend, wrapping, 1, view) == MemoryService::InitResult::BadRanges);
    CHECK(std::string(MemoryService::describe(MemoryService::InitResult::BadRanges)).find("overlap") != std::string::npos);
}

// ---- Grow ----

TEST_CASE("memory service: Grow reserves from kUserHeapBase and commits at once", "[memory_service]")
{
    Harness h;
    auto first = h.grow(7, 10);
    REQUIRE(first.has_value());
    CHECK(first.value().old_end == kHeap);
    CHECK(first.value().new_end == heap_page(10));
    auto s = h.stats();
    CHECK(s.committed == 10);
    CHECK(s.free == 498); // reserved, not mapped
    CHECK(s.heap == 0);
    CHECK(s.tasks == 1);

    auto second = h.grow(7, 5);
    REQUIRE(second.has_value());
    CHECK(second.value().old_end == heap_page(10));
    CHECK(second.value().new_end == heap_page(15));
    auto zero = h.grow(7, 0);
    REQUIRE(zero.has_value());
    CHECK(zero.value().old_end == heap_page(15));
    CHECK(zero.value().new_end == heap_page(15));
    CHECK(h.stats().committed == 15);

    // Another task's heap starts at the base too.
    auto other = h.grow(9, 3);
    REQUIRE(other.has_value());
    CHECK(other.value().old_end == kHeap);
    CHECK(other.value().new_end == heap_page(3));
    s = h.stats();
    CHECK(s.committed == 18);
    CHECK(s.tasks == 2);
    h.check_sane();
}

TEST_CASE("memory service: Grow past the uncommitted frames is out of memory", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 100).has_value());
    // 398 left uncommitted.
    CHECK(error_of(h.grow(8, 399)) == proto::kOutOfMemory);
    CHECK(error_of(h.grow(7, 399)) == proto::kOutOfMemory);
    auto s = h.stats();
    CHECK(s.committed == 100);
    CHECK(s.free == 498);
    auto exact = h.grow(8, 398);
    REQUIRE(exact.has_value());
    CHECK(exact.value().new_end == heap_page(398));
    CHECK(h.stats().committed == 498);
    CHECK(error_of(h.grow(9, 1)) == proto::kOutOfMemory);
    CHECK(error_of(h.grow(7, 1)) == proto::kOutOfMemory);
    REQUIRE(h.grow(9, 0).has_value()); // nothing asked, nothing refused
    CHECK(h.stats().committed == 498);
    h.check_sane();
}

TEST_CASE("memory service: Grow past kUserHeapLimit is an invalid request", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    CHECK(error_of(h.grow(7, kMaxHeapPages - 4 + 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.grow(7, UINT64_MAX)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.grow(7, UINT64_MAX / kPage + 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.grow(8, kMaxHeapPages + 1)) == ipc::Error::InvalidRequest);
    // Up to the limit exactly it is a question of frames, not of layout.
    CHECK(error_of(h.grow(7, kMaxHeapPages - 4)) == proto::kOutOfMemory);
    CHECK(error_of(h.grow(8, kMaxHeapPages)) == proto::kOutOfMemory);
    CHECK(h.stats().committed == 4);
    h.check_sane();
}

TEST_CASE("memory service: Grow refuses badges that are not a task's", "[memory_service]")
{
    Harness h;
    CHECK(error_of(h.grow(0, 1)) == ipc::Error::Denied);
    CHECK(error_of(h.grow(abi::kKernelBadge, 1)) == ipc::Error::Denied);
    CHECK(error_of(h.grow(abi::kKernelBadge | 7, 1)) == ipc::Error::Denied);
    auto s = h.stats();
    CHECK(s.tasks == 0);
    CHECK(s.committed == 0);
    h.check_sane();
}

// ---- page faults ----

TEST_CASE("memory service: a heap fault maps a zeroed Heap frame and consumes commitment", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 8).has_value());
    CHECK(h.fault(7, heap_page(3) + 123) == PageFaultVerdict::Resolved);
    REQUIRE(h.backend.has(7, heap_page(3)));
    CHECK(h.backend.kind_at(7, heap_page(3)) == FrameKind::Heap);
    CHECK(h.backend.zero_calls == 1);
    auto s = h.stats();
    CHECK(s.committed == 7);
    CHECK(s.free == 497);
    CHECK(s.heap == 1);
    CHECK(s.stack == 0);

    CHECK(h.fault(7, heap_page(0), 0) == PageFaultVerdict::Resolved); // a read
    CHECK(h.fault(7, heap_page(8) - 1) == PageFaultVerdict::Resolved); // the last byte
    s = h.stats();
    CHECK(s.committed == 5);
    CHECK(s.free == 495);
    CHECK(s.heap == 3);
    h.check_sane();
}

TEST_CASE("memory service: page faults come as kernel messages, and nothing else is answered", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 2).has_value());
    ipc::Message fault = ipc::make_message(abi::kPageFaultLabel);
    fault.badge = abi::kKernelBadge;
    fault.words[0] = 7;
    fault.words[1] = heap_page(1) + 5;
    fault.words[2] = kNotPresentWrite;
    ipc::Message reply;
    REQUIRE(h.service->on_kernel_message(fault, reply) == ipc::KernelMessage::Answered);
    CHECK(reply.label == abi::kPageFaultLabel);
    CHECK(reply.words[0] == static_cast<uint64_t>(PageFaultVerdict::Resolved));
    CHECK(h.backend.has(7, heap_page(1)));

    // Not from the kernel (a task's badge, a bound notification's), or not a
    // page fault: no answer, nothing mapped.
    ipc::Message forged = fault;
    forged.badge = 7;
    forged.words[1] = heap_page(0);
    CHECK(h.service->on_kernel_message(forged, reply) == ipc::KernelMessage::NoAnswer);
    ipc::Message notification = forged;
    notification.badge = abi::kNotificationBadge;
    CHECK(h.service->on_kernel_message(notification, reply) == ipc::KernelMessage::NoAnswer);
    ipc::Message other = forged;
    other.badge = abi::kKernelBadge;
    other.label = abi::kPageFaultLabel + 1;
    CHECK(h.service->on_kernel_message(other, reply) == ipc::KernelMessage::NoAnswer);
    ipc::Message forged_injection = ipc::make_message(abi::kFaultInjectionLabel);
    forged_injection.badge = 7; // no kernel badge: not honoured (it would fault)
    CHECK(h.service->on_kernel_message(forged_injection, reply) == ipc::KernelMessage::NoAnswer);
    CHECK(!h.backend.has(7, heap_page(0)));
    h.check_sane();
}

TEST_CASE("memory service: faults outside a reservation, or protection faults, are invalid", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    CHECK(h.fault(7, heap_page(4)) == PageFaultVerdict::Invalid);        // the heap's end
    CHECK(h.fault(7, heap_page(100)) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, kHeap - 1) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, 0) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, 0x0800'0000) == PageFaultVerdict::Invalid);         // code
    CHECK(h.fault(7, abi::kMemoryViewBase) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, abi::kStackGuardPage - 1) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, abi::kUserSpaceEnd) == PageFaultVerdict::Invalid);
    CHECK(h.fault(8, heap_page(0)) == PageFaultVerdict::Invalid);         // no heap at all
    CHECK(h.fault(7, heap_page(1), 1) == PageFaultVerdict::Invalid);      // present
    CHECK(h.fault(7, heap_page(1), 0b111) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, heap_page(1), 1u << 4) == PageFaultVerdict::Invalid); // instruction fetch
    CHECK(h.fault(7, stack_page(0), 1) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, stack_page(0), 1u << 4) == PageFaultVerdict::Invalid);
    auto s = h.stats();
    CHECK(s.committed == 4);
    CHECK(s.free == 498);
    CHECK(s.heap == 0);
    CHECK(s.stack == 0);
    CHECK(h.backend.mapped.empty());
    h.check_sane();
}

TEST_CASE("memory service: the guard page is a stack overflow, the stack region grows", "[memory_service]")
{
    Harness h;
    CHECK(h.fault(7, abi::kStackGuardPage) == PageFaultVerdict::StackOverflow);
    CHECK(h.fault(7, abi::kStackGuardPage + kPage - 1) == PageFaultVerdict::StackOverflow);
    CHECK(h.fault(7, abi::kStackGuardPage, 0) == PageFaultVerdict::StackOverflow);
    CHECK(h.stats().free == 498);

    CHECK(h.fault(7, abi::kUserSpaceEnd - 8) == PageFaultVerdict::Resolved);
    CHECK(h.fault(7, abi::kUserStackBottom) == PageFaultVerdict::Resolved);
    CHECK(h.fault(8, stack_page(5) + 100) == PageFaultVerdict::Resolved); // no Grow needed
    CHECK(h.backend.kind_at(7, stack_page(0)) == FrameKind::Stack);
    CHECK(h.backend.kind_at(7, abi::kUserStackBottom) == FrameKind::Stack);
    CHECK(h.backend.kind_at(8, stack_page(5)) == FrameKind::Stack);
    auto s = h.stats();
    CHECK(s.stack == 3);
    CHECK(s.free == 495);
    CHECK(s.heap == 0);
    CHECK(s.committed == 0);
    CHECK(s.tasks == 2); // a record each: their stack pages count against their limits
    h.check_sane();
}

TEST_CASE("memory service: the stack grows only from uncommitted frames", "[memory_service]")
{
    Harness h;
    REQUIRE(h.fault(8, stack_page(0)) == PageFaultVerdict::Resolved);
    REQUIRE(h.grow(7, 497).has_value()); // every free frame promised
    CHECK(h.fault(8, stack_page(1)) == PageFaultVerdict::OutOfMemory);
    CHECK(h.fault(7, stack_page(0)) == PageFaultVerdict::OutOfMemory);
    auto s = h.stats();
    CHECK(s.free == 497);
    CHECK(s.stack == 1);
    CHECK(s.committed == 497);
    // The promise holds: the heap can still be touched in full.
    CHECK(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(7, heap_page(496)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(8, stack_page(1)) == PageFaultVerdict::OutOfMemory);
    // Releasing a page renews its promise: still nothing for the stack.
    auto released = h.release(7, heap_page(0), 1);
    REQUIRE(released.has_value());
    CHECK(released.value().frames_freed == 1);
    CHECK(h.fault(8, stack_page(1)) == PageFaultVerdict::OutOfMemory);
    // Shrinking one untouched page gives one frame to the stack.
    REQUIRE(h.shrink(7, 1).has_value()); // page 496, mapped: freed
    CHECK(h.fault(8, stack_page(1)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(8, stack_page(2)) == PageFaultVerdict::OutOfMemory);
    s = h.stats();
    CHECK(s.stack == 2);
    CHECK(s.heap == 0);
    CHECK(s.committed == 496);
    CHECK(s.free == 496);
    h.check_sane();
}

TEST_CASE("memory service: a fault the backend cannot map gives the frame back", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    REQUIRE(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    // Already mapped (a sibling thread's fault, or a spurious not-present
    // fault): the access runs again, and the frame taken goes back.
    CHECK(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    auto s = h.stats();
    CHECK(s.free == 497);
    CHECK(s.heap == 1);
    CHECK(s.committed == 3);

    // The task is dying: the kernel refuses to map, its id is not queued yet.
    h.backend.dead.insert(7);
    CHECK(h.fault(7, heap_page(1)) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, stack_page(0)) == PageFaultVerdict::Invalid);
    s = h.stats();
    CHECK(s.free == 497);
    CHECK(s.heap == 1);
    CHECK(s.stack == 0);
    CHECK(s.committed == 3);
    CHECK(s.tasks == 1);
    CHECK(h.service->frames().check_consistency());

    // Now it ends.
    h.backend.dead.erase(7);
    h.backend.exit(7);
    s = h.stats();
    CHECK(s.free == 498);
    CHECK(s.heap == 0);
    CHECK(s.committed == 0);
    CHECK(s.tasks == 0);
    h.check_sane();
}

// ---- Release and Shrink ----

TEST_CASE("memory service: Release frees the mapped pages and keeps the reservation", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 8).has_value());
    for (uint64_t page : { 0, 2, 5 })
        REQUIRE(h.fault(7, heap_page(page)) == PageFaultVerdict::Resolved);
    auto s = h.stats();
    REQUIRE(s.committed == 5);
    REQUIRE(s.free == 495);

    auto part = h.release(7, heap_page(1), 2); // pages 1 (untouched) and 2
    REQUIRE(part.has_value());
    CHECK(part.value().frames_freed == 1);
    s = h.stats();
    CHECK(s.committed == 6);
    CHECK(s.free == 496);
    CHECK(s.heap == 2);

    auto all = h.release(7, kHeap, 8);
    REQUIRE(all.has_value());
    CHECK(all.value().frames_freed == 2);
    s = h.stats();
    CHECK(s.committed == 8);
    CHECK(s.free == 498);
    CHECK(s.heap == 0);
    CHECK(h.backend.mapped.empty());

    // Still reserved: a touch maps a fresh, zeroed page again.
    CHECK(h.fault(7, heap_page(2)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(7, heap_page(7)) == PageFaultVerdict::Resolved);
    s = h.stats();
    CHECK(s.committed == 6);
    CHECK(s.heap == 2);
    auto none = h.release(7, heap_page(8), 0); // at the end, nothing
    REQUIRE(none.has_value());
    CHECK(none.value().frames_freed == 0);
    h.check_sane();
}

TEST_CASE("memory service: Release refuses unaligned ranges and ranges outside the heap", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 8).has_value());
    REQUIRE(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    CHECK(error_of(h.release(7, kHeap + 1, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, kHeap + kPage / 2, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, kHeap - kPage, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, 0, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, kHeap, 9)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, heap_page(7), 2)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, heap_page(9), 0)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, kHeap, UINT64_MAX)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(7, UINT64_MAX & ~(kPage - 1), 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release(8, kHeap, 1)) == ipc::Error::InvalidRequest); // no heap
    CHECK(error_of(h.release(0, kHeap, 1)) == ipc::Error::InvalidRequest);
    auto s = h.stats();
    CHECK(s.committed == 7);
    CHECK(s.heap == 1);
    CHECK(s.free == 497);
    h.check_sane();
}

TEST_CASE("memory service: Shrink frees mapped pages and uncommits the rest", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 8).has_value());
    REQUIRE(h.fault(7, heap_page(1)) == PageFaultVerdict::Resolved);
    REQUIRE(h.fault(7, heap_page(7)) == PageFaultVerdict::Resolved);
    REQUIRE(h.stats().committed == 6);

    auto shrunk = h.shrink(7, 3); // pages 7 (mapped), 6, 5
    REQUIRE(shrunk.has_value());
    CHECK(shrunk.value().new_end == heap_page(5));
    auto s = h.stats();
    CHECK(s.committed == 4); // 0, 2, 3, 4
    CHECK(s.heap == 1);
    CHECK(s.free == 497);
    CHECK_FALSE(h.backend.has(7, heap_page(7)));
    CHECK(h.fault(7, heap_page(5)) == PageFaultVerdict::Invalid);
    CHECK(h.fault(7, heap_page(7)) == PageFaultVerdict::Invalid);

    CHECK(error_of(h.shrink(7, 6)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.shrink(7, UINT64_MAX)) == ipc::Error::InvalidRequest);
    CHECK(h.stats().committed == 4);

    auto noop = h.shrink(7, 0);
    REQUIRE(noop.has_value());
    CHECK(noop.value().new_end == heap_page(5));
    auto empty = h.shrink(7, 5);
    REQUIRE(empty.has_value());
    CHECK(empty.value().new_end == kHeap);
    s = h.stats();
    CHECK(s.committed == 0);
    CHECK(s.heap == 0);
    CHECK(s.free == 498);
    CHECK(h.backend.mapped.empty());
    CHECK(error_of(h.shrink(7, 1)) == ipc::Error::InvalidRequest);

    // Grow again after: the heap restarts from the base.
    auto again = h.grow(7, 2);
    REQUIRE(again.has_value());
    CHECK(again.value().old_end == kHeap);

    // A task with no heap may shrink by nothing only.
    auto nothing = h.shrink(9, 0);
    REQUIRE(nothing.has_value());
    CHECK(nothing.value().new_end == kHeap);
    CHECK(error_of(h.shrink(9, 1)) == ipc::Error::InvalidRequest);
    h.check_sane();
}

// ---- reclaim ----

TEST_CASE("memory service: a task that ends gives back its frames, record and commitment", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 10).has_value());
    for (uint64_t page = 0; page < 4; ++page)
        REQUIRE(h.fault(7, heap_page(page)) == PageFaultVerdict::Resolved);
    for (uint64_t page = 0; page < 3; ++page)
        REQUIRE(h.fault(7, stack_page(page)) == PageFaultVerdict::Resolved);
    REQUIRE(h.grow(9, 5).has_value());
    REQUIRE(h.fault(9, heap_page(0)) == PageFaultVerdict::Resolved);
    REQUIRE(h.fault(9, heap_page(1)) == PageFaultVerdict::Resolved);
    REQUIRE(h.fault(9, stack_page(0)) == PageFaultVerdict::Resolved);
    auto s = h.stats();
    REQUIRE(s.tasks == 2);
    REQUIRE(s.committed == 6 + 3);
    REQUIRE(s.free == 498 - 10);

    h.backend.exit(7);
    REQUIRE(h.backend.queue.size() == 8);
    s = h.stats();
    CHECK(h.backend.queue.empty());
    CHECK(s.tasks == 1);
    CHECK(s.committed == 3);
    CHECK(s.heap == 2);
    CHECK(s.stack == 1);
    CHECK(s.free == 498 - 3);
    CHECK(h.service->reclaim_anomalies() == 0);

    h.backend.exit(9);
    s = h.stats();
    CHECK(s.tasks == 0);
    CHECK(s.committed == 0);
    CHECK(s.heap == 0);
    CHECK(s.stack == 0);
    CHECK(s.free == 498);
    CHECK(h.service->reclaim_anomalies() == 0);
    // An id nobody has a record of (only stack, or already forgotten) is harmless.
    h.backend.queue.push_back(uint64_t(12345) << 1 | abi::kReclaimTaskBit);
    h.backend.queue.push_back(uint64_t(9) << 1 | abi::kReclaimTaskBit);
    CHECK(h.stats().tasks == 0);
    h.check_sane();
}

TEST_CASE("memory service: reclaim takes more than one batch", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 150).has_value());
    for (uint64_t page = 0; page < 150; ++page)
        REQUIRE(h.fault(7, heap_page(page)) == PageFaultVerdict::Resolved);
    for (uint64_t page = 0; page < 50; ++page)
        REQUIRE(h.fault(7, stack_page(page)) == PageFaultVerdict::Resolved);
    REQUIRE(h.stats().free == 298);
    h.backend.exit(7);
    REQUIRE(h.backend.queue.size() == 201);
    auto s = h.stats();
    CHECK(s.free == 498);
    CHECK(s.tasks == 0);
    CHECK(s.committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: bogus frames in the reclaim queue are counted as anomalies", "[memory_service]")
{
    Harness h;
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    h.backend.queue.push_back(0x9000'0000);              // not managed
    h.backend.queue.push_back(0x10'0000 + 300 * kPage);  // in the hole
    h.backend.queue.push_back(0x10'0000 + 10 * kPage);   // free already
    h.backend.queue.push_back(0x10'0000 + 10 * kPage + 8); // unaligned
    auto s = h.stats();
    CHECK(h.service->reclaim_anomalies() == 4);
    CHECK(s.free == 497);
    CHECK(s.stack == 1);
    CHECK(s.managed == 500);
    CHECK(h.service->frames().check_consistency());
    CHECK(h.backend.errors.empty());
}

// ---- running out ----

TEST_CASE("memory service: when frames run short, Grow takes back what dead tasks left", "[memory_service]")
{
    Harness h;
    constexpr uint64_t kEach = 83;   // 498 = 6 × 83: the seventh finds nothing
    constexpr uint64_t kTouched = 5; // pages each task maps
    uint64_t task = 2;
    for (;; ++task) {
        auto result = h.grow(task, kEach);
        if (result.is_error()) {
            CHECK(result.error() == proto::kOutOfMemory);
            break;
        }
        for (uint64_t page = 0; page < kTouched; ++page)
            REQUIRE(h.fault(task, heap_page(page)) == PageFaultVerdict::Resolved);
    }
    CHECK(task == 8);
    auto s = h.stats();
    CHECK(s.committed == 6 * (kEach - kTouched));
    CHECK(s.free == 498 - 6 * kTouched);
    CHECK(s.free == s.committed);
    CHECK(s.tasks == 7); // the one refused has a record too
    // A stack has no frame left either.
    CHECK(h.fault(task, stack_page(0)) == PageFaultVerdict::OutOfMemory);

    // Task 3 ends; nobody asks for Stats, so only the service's own need
    // makes it look at the queue.
    h.backend.exit(3);
    size_t calls = h.backend.reclaim_calls;
    auto result = h.grow(task, kEach);
    REQUIRE(result.has_value());
    CHECK(result.value().old_end == kHeap);
    CHECK(result.value().new_end == heap_page(kEach));
    CHECK(h.backend.reclaim_calls > calls);
    CHECK(h.backend.queue.empty());
    s = h.stats();
    CHECK(s.committed == 5 * (kEach - kTouched) + kEach);
    CHECK(s.free == 498 - 5 * kTouched);
    CHECK(s.free == s.committed);
    CHECK(s.tasks == 6);

    // The stack too: one more task ends, the fault finds its frames.
    h.backend.exit(4);
    REQUIRE(h.fault(task, stack_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.backend.queue.empty());
    s = h.stats();
    CHECK(s.stack == 1);
    CHECK(s.tasks == 5);
    CHECK(s.free - s.committed == kEach - 1);
    h.check_sane();
}

TEST_CASE("memory service: a full task table makes room from the tasks that ended", "[memory_service]")
{
    Harness h;
    for (uint64_t task = 1; task <= MemoryService::kMaxTasks; ++task)
        REQUIRE(h.grow(task, 0).has_value());
    CHECK(h.stats().tasks == MemoryService::kMaxTasks);
    CHECK(error_of(h.grow(5000, 1)) == proto::kOutOfMemory);
    CHECK(h.stats().committed == 0);
    h.backend.exit(17);
    auto result = h.grow(5000, 1);
    REQUIRE(result.has_value());
    auto s = h.stats();
    CHECK(s.tasks == MemoryService::kMaxTasks);
    CHECK(s.committed == 1);
    h.check_sane();
}

// ---- requests from a task that ends while they are served ----

// A task can end while the server serves its Call (it is killed, or dies on
// another CPU): its id may then arrive through the reclaim that the request
// itself triggers. Neither its record nor its promise may outlive it
// (MemoryService::reclaim's `watched`).
TEST_CASE("memory service: a Grow from a task that ended meanwhile commits nothing for good", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 10).has_value());
    REQUIRE(h.grow(9, 488).has_value()); // everything else: Grow will have to reclaim
    h.backend.exit(7);                   // 7's id is queued, 7's Grow is being served
    (void)h.grow(7, 1);                  // success or refusal: either is fine
    auto s = h.stats();
    CHECK(s.tasks == 1);
    CHECK(s.committed == 488);
    h.backend.exit(9);
    s = h.stats();
    CHECK(s.tasks == 0);
    CHECK(s.committed == 0);
    CHECK(h.grow(11, 498).has_value()); // all of memory can be promised again
}

// The same race when the task table is full: a first Grow reclaims to make
// room, and the asking task's own id may be consumed by it (with nothing to
// forget yet); no record may be made for the dead task.
TEST_CASE("memory service: a first Grow from a task that ended meanwhile leaves no record", "[memory_service]")
{
    Harness h;
    for (uint64_t task = 1; task <= MemoryService::kMaxTasks; ++task)
        REQUIRE(h.grow(task, 0).has_value());
    h.backend.exit(17);   // makes room
    h.backend.exit(5000); // 5000 ends while its first Grow is served
    (void)h.grow(5000, 3);
    auto s = h.stats();
    CHECK(s.tasks == MemoryService::kMaxTasks - 1);
    CHECK(s.committed == 0);
}

// ---- property test ----

TEST_CASE("memory service: random requests, faults and exits keep the books balanced", "[memory_service]")
{
    for (uint64_t seed : { 1u, 2u, 3u, 42u, 2024u }) {
        CAPTURE(seed);
        // Small, so that Grow and the stack run out now and then: 140 frames.
        Harness h({ { 0x10'0000, 90 }, { 0x18'0000, 50 } });
        REQUIRE(h.table_pages == 1);
        uint64_t rng = seed;
        auto random = [&](uint64_t bound) { return bound == 0 ? 0 : splitmix64(rng) % bound; };

        struct Model {
            uint64_t heap_pages { 0 };
            bool has_record { false };
        };
        std::map<uint64_t, Model> live;
        uint64_t next_id = 2;

        auto check = [&](int step) {
            CAPTURE(step);
            auto s = h.stats();
            REQUIRE(s.free + s.stack + s.heap + s.kernel == s.managed);
            REQUIRE(s.managed == h.managed);
            REQUIRE(s.kernel == h.table_pages);
            REQUIRE(s.heap == h.backend.pages_where(in_heap));
            REQUIRE(s.stack == h.backend.pages_where(in_stack));
            uint64_t committed = 0, records = 0;
            for (auto& [task, model] : live) {
                uint64_t mapped = h.backend.heap_pages_of(task);
                REQUIRE(mapped <= model.heap_pages);
                committed += model.heap_pages - mapped;
                records += model.has_record;
            }
            REQUIRE(s.committed == committed);
            REQUIRE(s.tasks == records);
            REQUIRE(s.committed <= s.free);
            REQUIRE(h.service->reclaim_anomalies() == 0);
            REQUIRE(h.service->frames().check_consistency());
            REQUIRE(h.backend.errors.empty());
            return s;
        };

        std::map<std::string, int> seen; // outcomes, so that the test shows it reached them
        auto s = check(-1);
        for (int step = 0; step < 600; ++step) {
            CAPTURE(step);
            uint64_t uncommitted = s.free - s.committed;
            if (live.empty() || (live.size() < 6 && random(8) == 0)) {
                live[next_id++] = Model {};
                continue;
            }
            auto it = live.begin();
            std::advance(it, random(live.size()));
            uint64_t task = it->first;
            Model& model = it->second;
            uint64_t heap_end = heap_page(model.heap_pages);

            switch (random(8)) {
            case 0: { // Grow
                uint64_t pages = random(60);
                auto result = h.grow(task, pages);
                model.has_record = true;
                if (pages > uncommitted) {
                    REQUIRE(error_of(result) == proto::kOutOfMemory);
                    seen["grow refused"]++;
                } else {
                    REQUIRE(result.has_value());
                    REQUIRE(result.value().old_end == heap_end);
                    model.heap_pages += pages;
                    REQUIRE(result.value().new_end == heap_page(model.heap_pages));
                }
                break;
            }
            case 1: { // Shrink
                uint64_t pages = random(model.heap_pages + 3);
                auto result = h.shrink(task, pages);
                if (pages > model.heap_pages) {
                    REQUIRE(error_of(result) == ipc::Error::InvalidRequest);
                } else {
                    REQUIRE(result.has_value());
                    seen["shrink"] += pages != 0;
                    model.heap_pages -= pages;
                    REQUIRE(result.value().new_end == heap_page(model.heap_pages));
                }
                break;
            }
            case 2: { // Release
                uint64_t first = random(model.heap_pages + 2);
                // Mostly inside the heap, sometimes one page past it.
                uint64_t pages = random((first <= model.heap_pages ? model.heap_pages - first : 0) + 2);
                uint64_t expected = 0;
                for (uint64_t page = first; page < first + pages; ++page)
                    expected += h.backend.has(task, heap_page(page));
                auto result = h.release(task, heap_page(first), pages);
                if (!model.has_record || first + pages > model.heap_pages) {
                    REQUIRE(error_of(result) == ipc::Error::InvalidRequest);
                } else {
                    REQUIRE(result.has_value());
                    REQUIRE(result.value().frames_freed == expected);
                    if (expected)
                        seen["release freed"]++;
                }
                break;
            }
            case 3:
            case 4: { // heap fault
                uint64_t page = heap_page(random(model.heap_pages + 2));
                bool mapped = h.backend.has(task, page);
                auto verdict = h.fault(task, page + random(kPage), random(2) << 1);
                if (page < heap_end && !mapped) {
                    REQUIRE(verdict == PageFaultVerdict::Resolved);
                    REQUIRE(h.backend.kind_at(task, page) == FrameKind::Heap);
                    seen["heap fault"]++;
                } else if (page < heap_end) {
                    REQUIRE(verdict == PageFaultVerdict::Resolved); // mapped already: run it again
                } else {
                    REQUIRE(verdict == PageFaultVerdict::Invalid);
                }
                break;
            }
            case 5:
            case 6: { // stack fault, now and then on the guard page
                bool guard = random(20) == 0;
                uint64_t page = guard ? abi::kStackGuardPage : stack_page(random(40));
                bool mapped = h.backend.has(task, page);
                auto verdict = h.fault(task, page + random(kPage), 0b110);
                if (!guard)
                    model.has_record = true; // its stack pages are charged to it
                if (guard)
                    REQUIRE(verdict == PageFaultVerdict::StackOverflow);
                else if (uncommitted == 0) {
                    REQUIRE(verdict == PageFaultVerdict::OutOfMemory);
                    seen["stack refused"]++;
                    // A record that holds nothing goes with the refused fault.
                    bool holds_stack = false;
                    for (auto& [key, frame] : h.backend.mapped)
                        holds_stack = holds_stack || (key.first == task && in_stack(key.second));
                    if (model.heap_pages == 0 && !holds_stack)
                        model.has_record = false;
                }
                else if (mapped)
                    REQUIRE(verdict == PageFaultVerdict::Resolved); // mapped already: run it again
                else {
                    REQUIRE(verdict == PageFaultVerdict::Resolved);
                    REQUIRE(h.backend.kind_at(task, page) == FrameKind::Stack);
                    seen["stack fault"]++;
                }
                break;
            }
            case 7: // exit
                if (random(3) == 0) {
                    h.backend.exit(task);
                    live.erase(it);
                    seen["exit"]++;
                }
                break;
            }
            s = check(step);
        }

        for (auto& [task, model] : live)
            h.backend.exit(task);
        live.clear();
        s = check(600);
        CHECK(s.free == h.managed - h.table_pages);
        CHECK(s.heap == 0);
        CHECK(s.stack == 0);
        CHECK(s.committed == 0);
        CHECK(s.tasks == 0);
        CHECK(h.backend.mapped.empty());
        for (const char* outcome : { "grow refused", "release freed", "shrink", "heap fault", "stack refused", "stack fault", "exit" }) {
            CAPTURE(outcome);
            CHECK(seen[outcome] > 0);
        }
    }
}

// The kernel refuses to unmap the pages of a task that is not waiting for
// the service (it may be running, with the page in a TLB): Shrink and
// Release are then refused too, and the books stay balanced.
TEST_CASE("memory service: a refused unmap refuses Shrink and Release and keeps the books", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 4).has_value());
    for (uint64_t page = 0; page < 2; ++page)
        REQUIRE(h.fault(7, abi::kUserHeapBase + page * kPage) == PageFaultVerdict::Resolved);
    auto before = h.stats();
    h.backend.refuse_unmap.insert(7);
    auto shrunk = h.shrink(7, 4);
    REQUIRE(shrunk.is_error());
    CHECK(shrunk.error() == ipc::Error::Denied);
    auto released = h.release(7, abi::kUserHeapBase, 2);
    REQUIRE(released.is_error());
    CHECK(released.error() == ipc::Error::Denied);
    // The kernel refuses before it looks at the page: nothing was dropped.
    auto after = h.stats();
    CHECK(after.committed == before.committed);
    CHECK(after.free == before.free);
    h.backend.refuse_unmap.erase(7);
    auto rest = h.shrink(7, 4);
    REQUIRE(!rest.is_error());
    CHECK(rest.value().new_end == abi::kUserHeapBase);
    CHECK(h.stats().committed == 0);
    CHECK(h.stats().free == before.free + 2);
    CHECK(h.backend.errors.empty());
}


// ---- Give ----

TEST_CASE("memory service: Give moves mapped heap pages into a task being built", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 3);
    uint64_t code_frame = h.backend.mapped.at({ kLoader, heap_page(0) });
    uint64_t stack_frame = h.backend.mapped.at({ kLoader, heap_page(2) });

    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 2, abi::MapExecutable).is_error());
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(2), stack_page(0), 1).is_error());
    CHECK(h.backend.mapped.at({ kChild, abi::kUserCodeBase }) == code_frame);
    CHECK(h.backend.mapped.at({ kChild, stack_page(0) }) == stack_frame);
    CHECK(h.backend.kind_at(kChild, stack_page(0)) == FrameKind::Stack); // retagged for the statistics
    CHECK(h.backend.heap_pages_of(kLoader) == 0);
    CHECK(h.backend.closed == std::vector<uint64_t> { kChildHandle, kChildHandle });
    // The loader's pages are reserved and empty again, and it Shrinks them away.
    CHECK(h.stats().committed == 3);
    REQUIRE(!h.shrink(kLoader, 3).is_error());
    auto s = h.stats();
    CHECK(s.committed == 0);
    CHECK(s.heap + s.stack == 3); // the child's pages
    CHECK(h.backend.errors.empty());

    CHECK(h.give(kLoader, 77, heap_page(0), abi::kUserCodeBase, 1).error() == ipc::Error::Denied); // not a task being built
}

// Found by tests/fuzz (memory_service): Give promised the caller's emptied
// pages again without a free frame behind each, so with memory fully
// committed the books said more frames were promised than were free, and
// another task's stack fault found none left.
TEST_CASE("memory service: Give never promises more frames than are free", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    // check_sane() less its rule that heap frames are at heap addresses:
    // moved pages keep their kind at the child's code address.
    auto check_books = [&h] {
        auto s = h.stats();
        CHECK(s.committed <= s.free);
        CHECK(s.free + s.stack + s.heap + s.kernel + s.dma == s.managed);
        CHECK(s.heap + s.stack == h.backend.mapped.size());
        CHECK(h.service->frames().check_consistency());
        CHECK(h.backend.errors.empty());
    };
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 2);
    uint64_t rest = h.stats().free - h.stats().committed;
    REQUIRE(h.grow(5, rest - 1).has_value()); // one frame left that nobody was promised

    auto refused = h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 2);
    REQUIRE(refused.is_error());
    CHECK(refused.error() == proto::kOutOfMemory);
    CHECK(h.backend.heap_pages_of(kLoader) == 2); // nothing moved
    check_books();

    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 1).is_error());
    check_books();
    CHECK(h.fault(6, stack_page(0)) == PageFaultVerdict::OutOfMemory); // the last frame is promised
    REQUIRE(!h.shrink(kLoader, 2).is_error());
    check_books();
}

// Found by tests/fuzz (memory_service): Give accepted any destination from
// kUserCodeBase up, the heap region included. A page given into a task's
// heap-to-be is not one of the service's heap pages, yet once the task grew
// its heap over it, Give or Shrink counted it as one: heap_mapped wrapped
// below zero and the commitment went wrong. (A page given onto the stack
// guard page would hide it, too.) Only the program's window and the stack
// region may receive pages, as the loader gives them.
TEST_CASE("memory service: Give puts pages only where programs and stacks live", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 2);
    for (uint64_t to : { heap_page(0), abi::kUserHeapBase - kPage, abi::kStackGuardPage, abi::kUserHeapLimit,
             abi::kUserStackBottom - kPage }) {
        CAPTURE(to);
        auto given = h.give(kLoader, kChildHandle, heap_page(0), to, 2);
        REQUIRE(given.is_error());
        CHECK(given.error() == ipc::Error::InvalidRequest);
    }
    CHECK(h.backend.heap_pages_of(kLoader) == 2); // nothing moved
    // The last page of the program window, and the last of the stack region.
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserHeapBase - kPage, 1).is_error());
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(1), abi::kUserSpaceEnd - kPage, 1).is_error());
    REQUIRE(!h.shrink(kLoader, 2).is_error());
    CHECK(h.stats().committed == 0);
    CHECK(h.backend.errors.empty());
}

// ---- the frame quota ----

// 498 frames free at start (500 managed, 2 for the table): each task may
// hold half, 249, by default.
TEST_CASE("memory service: a task may hold its share of the frames, then Grow is kOverLimit", "[memory_service]")
{
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    constexpr uint64_t kShare = 498 / MemoryService::kDefaultShareDivisor;
    CHECK(h.service->default_limit() == kShare);
    CHECK(error_of(h.grow(7, kShare + 1)) == proto::kOverLimit); // one Grow cannot take everything
    REQUIRE(h.grow(7, kShare - 10).has_value());
    CHECK(error_of(h.grow(7, 11)) == proto::kOverLimit);
    REQUIRE(h.grow(7, 10).has_value());
    CHECK(error_of(h.grow(7, 1)) == proto::kOverLimit);
    auto limits = h.service->handle(proto::Limits {}, {}, 7);
    REQUIRE(limits.has_value());
    CHECK(limits.value().limit == kShare);
    CHECK(limits.value().charged == kShare);

    // The rest is there for the others: another task's Grow and its stack.
    REQUIRE(h.grow(8, 100).has_value());
    CHECK(h.fault(9, stack_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(8, heap_page(99)) == PageFaultVerdict::Resolved);
    // Shrinking gives room back.
    REQUIRE(h.shrink(7, 5).has_value());
    REQUIRE(h.grow(7, 5).has_value());
    CHECK(error_of(h.grow(7, 1)) == proto::kOverLimit);
    h.check_sane();
}

TEST_CASE("memory service: stack pages count against the limit; a fault beyond it is OverLimit", "[memory_service]")
{
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    uint64_t share = h.service->default_limit();
    REQUIRE(h.grow(7, share - 2).has_value());
    CHECK(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(7, stack_page(1)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(7, stack_page(2)) == PageFaultVerdict::OverLimit);
    CHECK(h.fault(7, heap_page(share - 3)) == PageFaultVerdict::Resolved); // its reservation still holds
    CHECK(error_of(h.grow(7, 1)) == proto::kOverLimit);
    // A task of stack only: its faults stop at the limit too.
    for (uint64_t page = 0; page < share; ++page)
        REQUIRE(h.fault(8, stack_page(page)) == PageFaultVerdict::Resolved);
    CHECK(h.fault(8, stack_page(share)) == PageFaultVerdict::OverLimit);
    CHECK(error_of(h.grow(8, 1)) == proto::kOverLimit);
    h.check_sane();

    // When it ends, its record and its charge go with it.
    h.backend.exit(8);
    CHECK(h.stats().tasks == 1); // Stats reclaims first
    REQUIRE(h.grow(10, share).has_value());
    h.check_sane();
}

TEST_CASE("memory service: SetLimit lowers a task being built's limit; Give counts against it", "[memory_service]")
{
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55, kOther = 10, kOtherHandle = 56;
    h.backend.building[kChildHandle] = kChild;
    h.backend.building[kOtherHandle] = kOther;
    auto set_limit = [&](uint64_t handle, uint64_t pages) {
        return h.service->handle(proto::SetLimit {}, { { pages }, handle }, kLoader);
    };
    CHECK(error_of(set_limit(kChildHandle, 0)) == ipc::Error::InvalidRequest);
    CHECK(error_of(set_limit(kChildHandle, h.service->default_limit() + 1)) == ipc::Error::InvalidRequest); // never more
    CHECK(error_of(set_limit(77, 5)) == ipc::Error::Denied); // not a task being built
    REQUIRE(!set_limit(kChildHandle, 4).is_error());

    REQUIRE(h.grow(kLoader, 6).has_value());
    for (uint64_t page = 0; page < 6; ++page)
        REQUIRE(h.fault(kLoader, heap_page(page)) == PageFaultVerdict::Resolved);
    CHECK(error_of(h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 5)) == proto::kOverLimit);
    CHECK(h.backend.heap_pages_of(kLoader) == 6); // nothing moved
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 3).is_error());
    CHECK(error_of(set_limit(kChildHandle, 2)) == proto::kOverLimit); // below what it holds
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(3), stack_page(0), 1).is_error());
    auto limits = h.service->handle(proto::Limits {}, {}, kChild);
    REQUIRE(limits.has_value());
    CHECK(limits.value().limit == 4);
    CHECK(limits.value().charged == 4);
    // Its limit is reached: its stack and its heap stop there.
    CHECK(h.fault(kChild, stack_page(1)) == PageFaultVerdict::OverLimit);
    CHECK(error_of(h.grow(kChild, 1)) == proto::kOverLimit);
    // Another task being built keeps the default.
    REQUIRE(!h.give(kLoader, kOtherHandle, heap_page(4), abi::kUserCodeBase, 2).is_error());
    CHECK(h.fault(kOther, stack_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.backend.errors.empty());
}

// ---- DMA memory ----

TEST_CASE("memory service: AllocateDma maps contiguous zeroed frames into the task's DMA window", "[memory_service][dma]")
{
    Harness h;
    uint64_t free_before = h.free_frames();
    auto first = h.allocate_dma(7, 4);
    REQUIRE_FALSE(first.is_error());
    CHECK(first.value().address == abi::kUserDmaBase);
    for (uint64_t i = 0; i < 4; ++i) {
        REQUIRE(h.backend.has(7, abi::kUserDmaBase + i * kPage));
        CHECK(h.backend.mapped[{ 7, abi::kUserDmaBase + i * kPage }] == first.value().physical + i * kPage);
        CHECK(h.backend.kind_at(7, abi::kUserDmaBase + i * kPage) == FrameKind::Dma);
    }
    auto second = h.allocate_dma(7, 2);
    REQUIRE_FALSE(second.is_error());
    CHECK(second.value().address == abi::kUserDmaBase + 4 * kPage); // after the first block
    CHECK(h.free_frames() == free_before - 6);
    CHECK(h.stats().dma == 6);
    CHECK(h.service->handle(proto::Limits {}, {}, 7).value().charged == 6);
    // A DMA page is not heap: a fault there is invalid, Release refuses it.
    CHECK(h.fault(7, abi::kUserDmaBase + 10 * kPage) == PageFaultVerdict::Invalid);
    h.check_sane();
}

TEST_CASE("memory service: AllocateDma finds a run across the hole only where frames are contiguous", "[memory_service][dma]")
{
    // 300 frames (2 of them the table) and 200 frames with a hole between:
    // 298 pages fit only in the first range, 250 in neither once 100 of the
    // first are taken.
    Harness h;
    REQUIRE_FALSE(h.grow(3, 1).is_error());
    REQUIRE(h.fault(3, heap_page(0)) == PageFaultVerdict::Resolved); // one frame of the first range taken
    auto big = h.allocate_dma(7, 256);
    REQUIRE_FALSE(big.is_error());
    CHECK(big.value().physical >= 0x10'0000);
    CHECK(big.value().physical + 256 * kPage <= 0x10'0000 + 300 * kPage);
    auto too_long = h.allocate_dma(8, 201); // 41 left in the first range, 200 in the second
    CHECK(error_of(too_long) == proto::kOutOfMemory);
    auto fits = h.allocate_dma(8, 200);
    REQUIRE_FALSE(fits.is_error());
    CHECK(fits.value().physical == 0x30'0000);
    h.check_sane();
}

TEST_CASE("memory service: AllocateDma refuses callers and arguments it must", "[memory_service][dma]")
{
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    CHECK(error_of(h.allocate_dma(7, 1, 7)) == ipc::Error::Denied);  // the task itself
    CHECK(error_of(h.allocate_dma(7, 1, 5)) == ipc::Error::Denied);  // any task's own handle
    CHECK(error_of(h.release_dma(7, 7)) == ipc::Error::Denied);
    CHECK(error_of(h.allocate_dma(7, 0)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.allocate_dma(7, proto::kMaxDmaPages + 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.allocate_dma(0, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.allocate_dma(abi::kKernelBadge | 7, 1)) == ipc::Error::InvalidRequest);
    CHECK(error_of(h.release_dma(0)) == ipc::Error::InvalidRequest);
    // Beyond the frame limit (half the free frames, 249): kOverLimit.
    REQUIRE_FALSE(h.allocate_dma(7, 200).is_error());
    CHECK(error_of(h.allocate_dma(7, 50)) == proto::kOverLimit);
    // A task that ended: the map is refused, nothing stays taken.
    h.backend.dead.insert(9);
    uint64_t free_before = h.free_frames();
    CHECK(error_of(h.allocate_dma(9, 3)) == ipc::Error::Denied);
    CHECK(h.free_frames() == free_before);
    h.check_sane();
}

TEST_CASE("memory service: a dead driver's DMA frames come back only after ReleaseDma", "[memory_service][dma]")
{
    Harness h;
    auto block = h.allocate_dma(7, 8);
    REQUIRE_FALSE(block.is_error());
    REQUIRE_FALSE(h.grow(7, 2).is_error());
    REQUIRE(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    // Still running: nothing to release.
    auto early = h.release_dma(7);
    REQUIRE_FALSE(early.is_error());
    CHECK(early.value().freed == 0);
    CHECK(early.value().held == 8);
    uint64_t free_before_exit = h.stats().free; // the batches back in the table
    h.backend.exit(7);
    auto s = h.stats(); // drains the reclaim queue
    CHECK(s.dma == 8);  // the heap frame came back; the DMA frames did not
    CHECK(h.free_frames() == free_before_exit + 1);
    CHECK(h.service->frames().count(FrameKind::Dma) == 8);
    // Allocations meanwhile never get those frames.
    for (int i = 0; i < 20; ++i) {
        auto other = h.allocate_dma(8, 4);
        REQUIRE_FALSE(other.is_error());
        CHECK((other.value().physical + 4 * kPage <= block.value().physical
            || other.value().physical >= block.value().physical + 8 * kPage));
    }
    auto released = h.release_dma(7);
    REQUIRE_FALSE(released.is_error());
    CHECK(released.value().freed == 8);
    CHECK(released.value().held == 0);
    CHECK(h.stats().dma == 80); // task 8's
    CHECK(h.release_dma(7).value().freed == 0); // once only
    h.check_sane();
}

TEST_CASE("memory service: DMA block records run out with kTooManyBlocks and come back", "[memory_service][dma]")
{
    Harness h;
    for (size_t i = 0; i < MemoryService::kMaxDmaBlocks; ++i)
        REQUIRE_FALSE(h.allocate_dma(7, 1).is_error());
    CHECK(error_of(h.allocate_dma(8, 1)) == proto::kTooManyBlocks);
    h.backend.exit(7);
    CHECK(h.release_dma(7).value().freed == MemoryService::kMaxDmaBlocks);
    CHECK_FALSE(h.allocate_dma(8, 1).is_error());
    h.check_sane();
}

// ---- a fault in flight (the ring-3 server's threads keep the lock for the books only) ----

namespace {
using Pending = MemoryService::PendingFault;
Pending begin(Harness& h, size_t thread, uint64_t task, uint64_t address)
{
    return h.service->begin_fault(thread, task, address, kNotPresentWrite);
}
// The steps a server thread runs with the lock let go, then the last one.
PageFaultVerdict finish(Harness& h, const Pending& pending)
{
    Backend::Map mapped = pending.has_frame ? h.service->map_fault(pending) : Backend::Map::Refused;
    return h.service->finish_fault(pending, mapped);
}
bool shrink_waits(Harness& h, uint64_t task, uint64_t pages)
{
    return h.service->must_wait(proto::Shrink {}, { pages }, task);
}
bool release_waits(Harness& h, uint64_t task, uint64_t address, uint64_t pages)
{
    return h.service->must_wait(proto::Release {}, { address, pages }, task);
}
} // namespace

TEST_CASE("memory service: a fault in steps maps what page_fault maps", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    Pending pending = begin(h, 1, 7, heap_page(2) + 5);
    REQUIRE(pending.has_frame);
    CHECK(pending.kind == FrameKind::Heap);
    CHECK(h.service->heap_frames_in_flight() == 1);
    CHECK(h.service->faults_in_flight() == 1);
    CHECK(finish(h, pending) == PageFaultVerdict::Resolved);
    CHECK(h.service->heap_frames_in_flight() == 0);
    CHECK(h.service->faults_in_flight() == 0);
    CHECK(h.backend.has(7, heap_page(2)));
    CHECK(h.stats().committed == 3);
    // Answers that need no frame come from the first step.
    Pending guard = begin(h, 1, 7, abi::kStackGuardPage);
    CHECK_FALSE(guard.has_frame);
    CHECK(h.service->finish_fault(guard, Backend::Map::Refused) == PageFaultVerdict::StackOverflow);
    Pending outside = begin(h, 1, 7, heap_page(4));
    CHECK_FALSE(outside.has_frame);
    CHECK(h.service->finish_fault(outside, Backend::Map::Refused) == PageFaultVerdict::Invalid);
    Pending stack = begin(h, 1, 7, stack_page(0));
    REQUIRE(stack.has_frame);
    CHECK(stack.kind == FrameKind::Stack);
    CHECK(finish(h, stack) == PageFaultVerdict::Resolved);
    CHECK(h.backend.kind_at(7, stack_page(0)) == FrameKind::Stack);
    h.check_sane();
}

TEST_CASE("memory service: a thread has one fault in flight, and thread numbers are checked", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    Pending first = begin(h, 2, 7, heap_page(0));
    REQUIRE(first.has_frame);
    Pending second = begin(h, 2, 7, heap_page(1));
    CHECK_FALSE(second.has_frame);
    CHECK(second.verdict == PageFaultVerdict::Invalid);
    Pending beyond = begin(h, MemoryService::kMaxServerThreads, 7, heap_page(1));
    CHECK_FALSE(beyond.has_frame);
    CHECK(finish(h, first) == PageFaultVerdict::Resolved);
    h.check_sane();
}

TEST_CASE("memory service: Shrink waits for a fault in flight over its pages, then takes the page back", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 4).has_value());
    uint64_t free_before = h.stats().free;
    Pending pending = begin(h, 1, 7, heap_page(3));
    REQUIRE(pending.has_frame);
    CHECK_FALSE(shrink_waits(h, 7, 0));
    CHECK_FALSE(shrink_waits(h, 9, 2)); // another task's Shrink
    CHECK(shrink_waits(h, 7, 1));       // page 3 is the last page
    CHECK(shrink_waits(h, 7, 2));
    CHECK_FALSE(shrink_waits(h, 7, 5)); // more than it has: refused anyway
    // Asked anyway (no server thread does), Shrink is Busy and changes nothing.
    CHECK(error_of(h.shrink(7, 2)) == ipc::Error::Busy);
    Backend::Map mapped = h.service->map_fault(pending); // the lock let go: the map happens
    REQUIRE(mapped == Backend::Map::Mapped);
    CHECK(shrink_waits(h, 7, 2)); // still: the books are not kept yet
    CHECK(h.service->finish_fault(pending, mapped) == PageFaultVerdict::Resolved);
    CHECK_FALSE(shrink_waits(h, 7, 2));
    REQUIRE(h.shrink(7, 2).has_value()); // page 3 mapped, page 2 never touched
    CHECK_FALSE(h.backend.has(7, heap_page(3)));
    auto s = h.stats();
    CHECK(s.committed == 2);
    CHECK(s.free == free_before);
    h.check_sane();
}

TEST_CASE("memory service: a Shrink below a fault in flight does not wait", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    Pending pending = begin(h, 0, 7, heap_page(0));
    REQUIRE(pending.has_frame);
    CHECK_FALSE(shrink_waits(h, 7, 3)); // pages 1..3
    REQUIRE(h.shrink(7, 3).has_value());
    CHECK(finish(h, pending) == PageFaultVerdict::Resolved);
    CHECK(h.stats().committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: Release waits for a fault in flight over its pages, then frees the page", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 4).has_value());
    Pending pending = begin(h, 3, 7, heap_page(1));
    REQUIRE(pending.has_frame);
    CHECK(release_waits(h, 7, heap_page(1), 1));
    CHECK(release_waits(h, 7, heap_page(0), 2));
    CHECK_FALSE(release_waits(h, 7, heap_page(2), 2));
    CHECK_FALSE(release_waits(h, 7, heap_page(0), 1));
    CHECK_FALSE(release_waits(h, 8, heap_page(1), 1));
    CHECK(error_of(h.release(7, heap_page(0), 2)) == ipc::Error::Busy);
    CHECK(finish(h, pending) == PageFaultVerdict::Resolved);
    auto released = h.release(7, heap_page(0), 2);
    REQUIRE(released.has_value());
    CHECK(released.value().frames_freed == 1); // the fault's page: nothing stays mapped in the range
    CHECK_FALSE(h.backend.has(7, heap_page(1)));
    CHECK(h.stats().committed == 4);
    h.check_sane();
}

TEST_CASE("memory service: Give waits for a fault in flight over the pages it moves", "[memory_service]")
{
    Harness h;
    h.backend.two_halves = GENERATE(true, false); // the ring-0 unmap (clear, settle), then the ring-3 one whole
    REQUIRE(h.grow(7, 2).has_value());
    REQUIRE(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    h.backend.building[50] = 20;
    Pending pending = begin(h, 1, 7, heap_page(1));
    REQUIRE(pending.has_frame);
    CHECK_FALSE(h.service->must_wait(proto::Give {}, { { heap_page(0), abi::kUserCodeBase, 1, abi::MapWritable }, 50 }, 7));
    CHECK(h.service->must_wait(proto::Give {}, { { heap_page(0), abi::kUserCodeBase, 2, abi::MapWritable }, 50 }, 7));
    CHECK(error_of(h.give(7, 50, heap_page(0), abi::kUserCodeBase, 2)) == ipc::Error::Busy);
    CHECK(finish(h, pending) == PageFaultVerdict::Resolved);
    REQUIRE_FALSE(h.give(7, 50, heap_page(0), abi::kUserCodeBase, 2).is_error());
    CHECK(h.backend.has(20, abi::kUserCodeBase + kPage));
    CHECK(h.backend.heap_pages_of(7) == 0);
    CHECK(h.stats().committed == 2); // both pages promised again
    CHECK(h.service->reclaim_anomalies() == 0);
    CHECK(h.backend.errors.empty());
}

TEST_CASE("memory service: a task that ends before its fault maps gets nothing, and the frame comes back", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    uint64_t free_before = h.stats().free;
    Pending heap = begin(h, 0, 7, heap_page(0));
    Pending stack = begin(h, 1, 7, stack_page(1));
    REQUIRE(heap.has_frame);
    REQUIRE(stack.has_frame);
    h.backend.exit(7);
    CHECK(h.stats().committed == 0); // Stats reclaims: the task's record and promises are gone
    CHECK(h.service->heap_frames_in_flight() == 0);
    CHECK(finish(h, heap) == PageFaultVerdict::Invalid); // the map fails: the task is gone
    CHECK(finish(h, stack) == PageFaultVerdict::Invalid);
    CHECK(h.service->faults_in_flight() == 0);
    auto s = h.stats();
    CHECK(s.free == free_before);
    CHECK(s.tasks == 0);
    h.check_sane();
}

TEST_CASE("memory service: a task that ends after its fault mapped gives the frame back once", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    uint64_t free_before = h.stats().free;
    Pending heap = begin(h, 0, 7, heap_page(0));
    Pending stack = begin(h, 1, 7, stack_page(0));
    REQUIRE(heap.has_frame);
    REQUIRE(stack.has_frame);
    REQUIRE(h.service->map_fault(heap) == Backend::Map::Mapped);
    REQUIRE(h.service->map_fault(stack) == Backend::Map::Mapped);
    h.backend.exit(7); // the kernel queues both frames, then the id
    auto mid = h.stats(); // another thread reclaims: the frames are free already
    CHECK(mid.free == free_before);
    CHECK(mid.committed == 0);
    CHECK(h.service->finish_fault(heap, Backend::Map::Mapped) == PageFaultVerdict::Invalid);
    CHECK(h.service->finish_fault(stack, Backend::Map::Mapped) == PageFaultVerdict::Invalid);
    auto s = h.stats();
    CHECK(s.free == free_before); // not freed twice
    CHECK(s.committed == 0);
    CHECK(s.tasks == 0);
    CHECK(h.service->heap_frames_in_flight() == 0);
    h.check_sane();
}

TEST_CASE("memory service: a task that ends after its fault finished gives the frame back through reclaim", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    uint64_t free_before = h.stats().free;
    Pending heap = begin(h, 0, 7, heap_page(0));
    REQUIRE(heap.has_frame);
    Backend::Map mapped = h.service->map_fault(heap);
    CHECK(h.service->finish_fault(heap, mapped) == PageFaultVerdict::Resolved);
    h.backend.exit(7);
    auto s = h.stats();
    CHECK(s.free == free_before);
    CHECK(s.committed == 0);
    h.check_sane();
}

// A server thread may receive a stack fault of a task, then (the lock let
// go) another thread reclaims the task's end before the first one decides:
// the fault must not leave a record for the dead task behind, since its end
// has been seen already and nothing would ever forget it (issue 14, item 4).
TEST_CASE("memory service: a stack fault decided after its task's end was reclaimed leaves no record", "[memory_service]")
{
    Harness h;
    uint64_t free_before = h.stats().free;
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    h.backend.exit(7);
    REQUIRE(h.stats().tasks == 0); // reclaimed: 7 is forgotten
    SECTION("in steps (the ring-3 server's threads)")
    {
        Pending late = begin(h, 0, 7, stack_page(1));
        CHECK(finish(h, late) == PageFaultVerdict::Invalid); // the map is refused: the task is gone
    }
    SECTION("in one step (ring 0)")
    {
        CHECK(h.fault(7, stack_page(1)) == PageFaultVerdict::Invalid);
    }
    SECTION("with no frame left to map")
    {
        REQUIRE(h.grow(8, h.stats().free).has_value()); // every free frame is promised
        CHECK(h.fault(7, stack_page(1)) == PageFaultVerdict::OutOfMemory);
        REQUIRE(h.shrink(8, h.stats().committed).has_value());
        h.backend.exit(8);
    }
    auto s = h.stats();
    CHECK(s.tasks == 0);
    CHECK(s.free == free_before);
    h.check_sane();
}

TEST_CASE("memory service: two threads' faults on one page map it once", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 4).has_value());
    Pending first = begin(h, 0, 7, heap_page(0));
    Pending second = begin(h, 1, 7, heap_page(0) + 8);
    REQUIRE(first.has_frame);
    // The page's one promise is the first fault's frame: the second takes
    // none (a second frame would have no promise behind it) and answers
    // Resolved, so that its access runs again and finds the page.
    CHECK_FALSE(second.has_frame);
    CHECK(second.verdict == PageFaultVerdict::Resolved);
    CHECK(h.service->finish_fault(second, Backend::Map::Refused) == PageFaultVerdict::Resolved);
    CHECK(finish(h, first) == PageFaultVerdict::Resolved);
    auto s = h.stats();
    CHECK(s.committed == 3);
    CHECK(s.heap == 1);
    h.check_sane();
}

TEST_CASE("memory service: a heap frame in flight is still promised", "[memory_service]")
{
    Harness h;
    uint64_t free = h.stats().free;
    REQUIRE(h.grow(7, free).has_value()); // every frame promised
    Pending pending = begin(h, 0, 7, heap_page(0));
    REQUIRE(pending.has_frame);
    CHECK(error_of(h.grow(9, 1)) == proto::kOutOfMemory);
    Pending stack = begin(h, 1, 9, stack_page(0));
    CHECK_FALSE(stack.has_frame);
    CHECK(stack.verdict == PageFaultVerdict::OutOfMemory);
    CHECK(finish(h, pending) == PageFaultVerdict::Resolved);
    CHECK(h.stats().committed == free - 1);
    h.check_sane();
}

TEST_CASE("memory service: stack faults in flight count against the limit", "[memory_service]")
{
    // Before they did not: each CPU's thread could take one page beyond it.
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    h.backend.building[60] = 7;
    REQUIRE_FALSE(h.service->handle(proto::SetLimit {}, { { 3 }, 60 }, 1).is_error());
    h.backend.building.clear();
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    Pending one = begin(h, 0, 7, stack_page(1));
    REQUIRE(one.has_frame);
    Pending two = begin(h, 1, 7, stack_page(2));
    REQUIRE(two.has_frame); // the limit's last page
    Pending three = begin(h, 2, 7, stack_page(3));
    CHECK_FALSE(three.has_frame);
    CHECK(three.verdict == PageFaultVerdict::OverLimit);
    auto limits = h.service->handle(proto::Limits {}, {}, 7);
    REQUIRE(limits.has_value());
    CHECK(limits.value().charged == 3);
    CHECK(error_of(h.grow(7, 1)) == proto::kOverLimit);
    CHECK(finish(h, one) == PageFaultVerdict::Resolved);
    CHECK(finish(h, two) == PageFaultVerdict::Resolved);
    CHECK(h.service->handle(proto::Limits {}, {}, 7).value().charged == 3);
    CHECK(h.fault(7, stack_page(3)) == PageFaultVerdict::OverLimit);
    // A stack fault that does not map gives its charge back.
    REQUIRE(h.shrink(7, 0).has_value());
    h.check_sane();
}

TEST_CASE("memory service: a sibling's stack fault on the same page is charged once", "[memory_service]")
{
    Harness h(kDefaultRanges, MemoryService::kDefaultShareDivisor);
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    uint64_t charged = h.service->handle(proto::Limits {}, {}, 7).value().charged;
    Pending first = begin(h, 0, 7, stack_page(1));
    Pending second = begin(h, 1, 7, stack_page(1)); // a sibling thread, the same page
    CHECK_FALSE(second.has_frame); // charged once for the page, not twice
    CHECK(second.verdict == PageFaultVerdict::Resolved);
    CHECK(h.service->handle(proto::Limits {}, {}, 7).value().charged == charged + 1);
    CHECK(finish(h, first) == PageFaultVerdict::Resolved);
    CHECK(h.service->finish_fault(second, Backend::Map::Refused) == PageFaultVerdict::Resolved);
    CHECK(h.service->handle(proto::Limits {}, {}, 7).value().charged == charged + 1);
    h.check_sane();
}

// ---- per-thread batches of frames ----

TEST_CASE("memory service: a thread takes frames from the table a batch at a time", "[memory_service]")
{
    Harness h;
    REQUIRE(h.grow(7, 40).has_value());
    uint64_t free = h.free_frames();
    REQUIRE(h.fault(7, heap_page(0)) == PageFaultVerdict::Resolved);
    // One batch left the table; one of its frames is mapped.
    CHECK(h.free_frames() == free - MemoryService::kBatchFrames);
    CHECK(h.service->cached_frames() == MemoryService::kBatchFrames - 1);
    for (uint64_t page = 1; page < MemoryService::kBatchFrames; ++page)
        REQUIRE(h.fault(7, heap_page(page)) == PageFaultVerdict::Resolved);
    CHECK(h.free_frames() == free - MemoryService::kBatchFrames);
    CHECK(h.service->cached_frames() == 0);
    REQUIRE(h.fault(7, heap_page(MemoryService::kBatchFrames)) == PageFaultVerdict::Resolved);
    CHECK(h.free_frames() == free - 2 * MemoryService::kBatchFrames);
    // Another thread has a batch of its own.
    Pending other = begin(h, 5, 7, stack_page(0));
    REQUIRE(other.has_frame);
    CHECK(h.service->cached_frames() == 2 * MemoryService::kBatchFrames - 2);
    CHECK(finish(h, other) == PageFaultVerdict::Resolved);
    // Stats reports them free: they go back to the table first.
    auto s = h.stats();
    CHECK(h.service->cached_frames() == 0);
    CHECK(s.free == free - MemoryService::kBatchFrames - 2);
    CHECK(s.committed == 40 - MemoryService::kBatchFrames - 1);
    h.check_sane();
}

TEST_CASE("memory service: batched frames stay free for promises and the stack", "[memory_service]")
{
    Harness h;
    uint64_t free = h.stats().free;
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved); // thread 0 holds a batch
    CHECK(h.service->cached_frames() == MemoryService::kBatchFrames - 1);
    // Every frame left may be promised, batched ones too...
    REQUIRE(h.grow(9, free - 1).has_value());
    CHECK(error_of(h.grow(9, 1)) == proto::kOutOfMemory);
    // ...and each promise is kept, on any thread, the table empty or not.
    for (uint64_t page = 0; page < free - 1; ++page) {
        Pending pending = begin(h, page % 3, 9, heap_page(page));
        REQUIRE(pending.has_frame);
        REQUIRE(finish(h, pending) == PageFaultVerdict::Resolved);
    }
    CHECK(h.free_frames() == 0);
    CHECK(h.service->cached_frames() == 0);
    CHECK(h.fault(7, stack_page(1)) == PageFaultVerdict::OutOfMemory);
    h.check_sane();
}

TEST_CASE("memory service: AllocateDma gets the frames a batch held", "[memory_service][dma]")
{
    Harness h({ { 0x10'0000, 40 } }); // 39 frames free, the table in the first
    REQUIRE(h.fault(7, stack_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.service->cached_frames() == MemoryService::kBatchFrames - 1);
    uint64_t in_table = h.free_frames();
    CHECK(in_table == 39 - MemoryService::kBatchFrames);
    // More than the table has free: the batch gives its frames back.
    auto dma = h.allocate_dma(8, in_table + 10);
    REQUIRE_FALSE(dma.is_error());
    CHECK(h.service->cached_frames() == 0);
    CHECK(h.service->frames().count(FrameKind::Dma) == in_table + 10);
    h.check_sane();
}

TEST_CASE("memory service: random faults in flight on several threads keep the books balanced", "[memory_service]")
{
    // Faults begun on 4 threads and finished in any order, between Grow,
    // Shrink, Release and task ends (a request waits, as a server thread
    // does, by finishing the faults in its way first).
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        Harness h;
        uint64_t state = seed;
        uint64_t free_at_start = h.stats().free;
        std::vector<Pending> in_flight(4);
        std::vector<bool> busy(4, false);
        std::vector<Backend::Map> mapped(4, Backend::Map::Refused); // Refused: not mapped (yet)
        std::vector<bool> tried(4, false);
        std::set<uint64_t> alive = { 7, 8, 9 };
        uint64_t next_task = 10;
        auto finish_thread = [&](size_t t) {
            if (!busy[t])
                return;
            h.service->finish_fault(in_flight[t], mapped[t]);
            busy[t] = false;
        };
        auto finish_task = [&](uint64_t task) {
            for (size_t t = 0; t < 4; ++t) {
                if (busy[t] && in_flight[t].task == task)
                    finish_thread(t);
            }
        };
        for (int step = 0; step < 400; ++step) {
            uint64_t task = 7 + splitmix64(state) % 3;
            if (!alive.count(task))
                task = *alive.begin();
            size_t thread = splitmix64(state) % 4;
            switch (splitmix64(state) % 8) {
            case 0: (void)h.grow(task, splitmix64(state) % 6); break;
            case 1: finish_task(task); (void)h.shrink(task, splitmix64(state) % 4); break;
            case 2: finish_task(task); (void)h.release(task, heap_page(splitmix64(state) % 8), splitmix64(state) % 4); break;
            case 3: // a thread begins a fault
                if (!busy[thread]) {
                    uint64_t page = splitmix64(state) % 3 == 0 ? stack_page(splitmix64(state) % 6) : heap_page(splitmix64(state) % 10);
                    in_flight[thread] = begin(h, thread, task, page);
                    busy[thread] = in_flight[thread].has_frame;
                    mapped[thread] = Backend::Map::Refused;
                    tried[thread] = false;
                }
                break;
            case 4: // ... maps with the lock let go
                if (busy[thread] && !tried[thread]) {
                    mapped[thread] = h.service->map_fault(in_flight[thread]);
                    tried[thread] = true;
                }
                break;
            case 5: finish_thread(thread); break;
            case 6: // a task ends, its faults wherever they are
                if (splitmix64(state) % 4 == 0) {
                    h.backend.exit(task);
                    alive.erase(task);
                    alive.insert(next_task++);
                }
                break;
            default: (void)h.fault(task, heap_page(splitmix64(state) % 10)); break;
            }
            if (step % 16 == 0) {
                auto s = h.stats();
                REQUIRE(s.committed <= s.free + h.service->heap_frames_in_flight());
                REQUIRE(h.service->reclaim_anomalies() == 0);
                REQUIRE(h.service->frames().check_consistency());
                REQUIRE(h.backend.errors.empty());
            }
        }
        for (size_t t = 0; t < 4; ++t)
            finish_thread(t);
        for (uint64_t task : alive)
            h.backend.exit(task);
        auto s = h.stats();
        CHECK(s.free == free_at_start);
        CHECK(s.committed == 0);
        CHECK(s.tasks == 0);
        CHECK(h.service->heap_frames_in_flight() == 0);
        CHECK(h.service->faults_in_flight() == 0);
        h.check_sane();
    }
}

// ---- an unmap in two halves (the ring-0 service: Backend::clear, settle) ----

// What the ring-0 service does (services/memory_in_kernel.cpp): the entry
// goes under its lock, and the wait for other CPUs (TLB shootdown, views)
// runs with the lock let go. The fake's `meanwhile` plays another CPU then.

TEST_CASE("memory service: a frame on its way back is not handed out, is counted free, and is freed once", "[memory_service][returning]")
{
    Harness h;
    REQUIRE(h.grow(1, 4).has_value());
    for (uint64_t page = 0; page < 4; ++page)
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    REQUIRE(h.grow(2, 40).has_value());
    uint64_t frame = h.backend.mapped.at({ 1, heap_page(1) });
    auto before = h.stats();
    bool ran = false;
    h.backend.meanwhile = [&](uint64_t returning) {
        ran = true;
        CHECK(returning == frame);
        CHECK(h.service->returning_frames() == 1);
        FrameKind kind;
        REQUIRE(h.service->frames().kind_of(frame, kind));
        CHECK(kind == FrameKind::Heap); // allocated in the table: no fault or batch takes it
        CHECK_FALSE(h.backend.has(1, heap_page(1)));
        // Faults on other CPUs go on, and none gets the frame (the fake
        // records a zero or map of an unsettled frame as an error).
        for (uint64_t page = 0; page < 40; ++page)
            CHECK(h.fault(2, heap_page(page)) == PageFaultVerdict::Resolved);
        // The released page itself faults in afresh: another frame.
        CHECK(h.fault(1, heap_page(1)) == PageFaultVerdict::Resolved);
        CHECK(h.backend.mapped.at({ 1, heap_page(1) }) != frame);
        // Stats counts it as free (in substance), not as heap.
        auto s = h.stats();
        CHECK(s.free + s.stack + s.heap + s.kernel + s.dma == s.managed);
        CHECK(s.heap == h.backend.pages_where(in_heap));
        CHECK(s.free == before.free - 40 - 1 + 1); // task 2's pages, page 1 again, the frame on its way back
        CHECK(h.backend.errors.empty());
    };
    auto released = h.release(1, heap_page(1), 1);
    REQUIRE(released.has_value());
    CHECK(released.value().frames_freed == 1);
    CHECK(ran);
    CHECK(h.backend.settles == 1);
    CHECK(h.service->returning_frames() == 0);
    FrameKind kind;
    REQUIRE(h.service->frames().kind_of(frame, kind));
    CHECK(kind == FrameKind::Free);
    h.backend.meanwhile = nullptr;
    auto after = h.stats();
    CHECK(after.free == before.free - 40); // task 2's 40 pages; task 1 holds 4 again
    CHECK(after.committed == before.committed - 40);
    h.check_sane();
}

TEST_CASE("memory service: the unmap whole (ring 3) keeps the same books", "[memory_service][returning]")
{
    Harness h;
    h.backend.two_halves = false;
    REQUIRE(h.grow(1, 4).has_value());
    for (uint64_t page = 0; page < 4; ++page)
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    auto before = h.stats();
    REQUIRE(h.release(1, heap_page(0), 4).value().frames_freed == 4);
    REQUIRE(h.shrink(1, 4).has_value());
    CHECK(h.backend.settles == 0);
    auto after = h.stats();
    CHECK(after.free == before.free + 4);
    CHECK(after.committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: with every frame taken, a fault waits for the frame on its way back", "[memory_service][returning]")
{
    Harness h;
    uint64_t all = h.free_frames();
    REQUIRE(h.grow(1, all).has_value());
    for (uint64_t page = 0; page < all; ++page)
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    REQUIRE(h.free_frames() == 0);
    CHECK(h.service->cached_frames() == 0);
    uint64_t frame = h.backend.mapped.at({ 1, heap_page(0) });
    h.backend.meanwhile = [&](uint64_t) {
        // The page is promised again, and the only frame left is on its way
        // back: the access runs again (Resolved, nothing mapped) rather
        // than kill the task for a promise the service keeps.
        CHECK(h.fault(1, heap_page(0)) == PageFaultVerdict::Resolved);
        CHECK_FALSE(h.backend.has(1, heap_page(0)));
        // Neither a stack fault nor Grow may have it: the released page's
        // promise rests on it (as once the Release is over).
        CHECK(h.fault(3, stack_page(0)) == PageFaultVerdict::OutOfMemory);
        CHECK_FALSE(h.backend.has(3, stack_page(0)));
        CHECK(error_of(h.grow(3, 1)) == proto::kOutOfMemory);
    };
    REQUIRE(h.release(1, heap_page(0), 1).value().frames_freed == 1);
    h.backend.meanwhile = nullptr;
    CHECK(h.free_frames() == 1);
    REQUIRE(h.fault(1, heap_page(0)) == PageFaultVerdict::Resolved);
    CHECK(h.backend.mapped.at({ 1, heap_page(0) }) == frame);
    CHECK(h.free_frames() == 0);
    CHECK(h.stats().tasks == 2); // task 1, and the empty record Grow made for task 3
    h.check_sane();
}

TEST_CASE("memory service: a task killed while its Release settles gives every frame back once", "[memory_service][returning]")
{
    Harness h;
    uint64_t free_at_start = h.free_frames();
    REQUIRE(h.grow(1, 8).has_value());
    for (uint64_t page = 0; page < 8; ++page)
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    REQUIRE(h.fault(1, stack_page(0)) == PageFaultVerdict::Resolved);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls != 2)
            return;
        // The task is killed on another CPU and its end reclaimed (Stats
        // drains the queue), while its thread's Release is in the second page.
        h.backend.exit(1);
        auto s = h.stats();
        CHECK(s.tasks == 0);
        CHECK(s.committed == 0);
        CHECK(s.free == free_at_start); // the two frames on their way back count as free
        CHECK(h.service->returning_frames() == 1);
    };
    auto released = h.release(1, heap_page(2), 4);
    CHECK(error_of(released) == ipc::Error::Denied); // the task ended meanwhile
    CHECK(calls == 2);
    h.backend.meanwhile = nullptr;
    CHECK(h.service->returning_frames() == 0);
    CHECK(h.free_frames() + h.service->cached_frames() == free_at_start);
    auto s = h.stats();
    CHECK(s.free == free_at_start);
    CHECK(s.heap == 0);
    CHECK(s.stack == 0);
    CHECK(s.committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: a sibling's Shrink while a Release settles keeps the books right", "[memory_service][returning]")
{
    Harness h;
    REQUIRE(h.grow(1, 8).has_value());
    for (uint64_t page = 0; page < 8; ++page)
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls == 1) // another thread of the task Shrinks the heap to 5 pages, over the range released
            CHECK(h.shrink(1, 3).value().new_end == heap_page(5));
    };
    auto released = h.release(1, heap_page(3), 5); // pages 3..7; 5..7 go with the Shrink meanwhile
    REQUIRE(released.has_value());
    CHECK(released.value().frames_freed == 2);
    // Release stops at the new end: pages past it are no longer the task's
    // to release. Going on would not change the books (their clears answer
    // NotMapped, which Release ignores), so what can tell is the clears:
    // Release's 2 and the Shrink's 3, not 3 more past the end.
    CHECK(h.backend.clears == 5);
    h.backend.meanwhile = nullptr;
    CHECK(h.backend.heap_pages_of(1) == 3);
    auto s = h.stats();
    CHECK(s.committed == 2); // pages 3 and 4, released and promised again
    REQUIRE(h.shrink(1, 5).has_value());
    CHECK(h.stats().committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: Give maps a frame into its target only once it is settled", "[memory_service][returning]")
{
    Harness h;
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 3);
    REQUIRE(h.grow(2, 8).has_value());
    std::vector<uint64_t> frames;
    for (uint64_t page = 0; page < 3; ++page)
        frames.push_back(h.backend.mapped.at({ kLoader, heap_page(page) }));
    size_t seen = 0;
    h.backend.meanwhile = [&](uint64_t frame) {
        CHECK(frame == frames[seen]);
        CHECK_FALSE(h.backend.owner.count(frame)); // in neither task yet
        FrameKind kind;
        REQUIRE(h.service->frames().kind_of(frame, kind));
        CHECK(kind != FrameKind::Free);
        CHECK(h.service->returning_frames() == 0); // not free in substance: it goes to the child
        CHECK(h.fault(2, heap_page(seen)) == PageFaultVerdict::Resolved); // and no fault takes it
        ++seen;
    };
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 3, abi::MapExecutable).is_error());
    h.backend.meanwhile = nullptr;
    CHECK(seen == 3);
    for (uint64_t page = 0; page < 3; ++page)
        CHECK(h.backend.mapped.at({ kChild, abi::kUserCodeBase + page * kPage }) == frames[page]);
    REQUIRE(!h.shrink(kLoader, 3).is_error());
    REQUIRE(!h.shrink(2, 8).is_error());
    auto s = h.stats();
    CHECK(s.committed == 0);
    CHECK(s.heap == 3); // the child's pages
    CHECK(h.backend.errors.empty());
}

TEST_CASE("memory service: a target that ends while Give settles gets nothing, and the frame is freed once", "[memory_service][returning]")
{
    Harness h;
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    uint64_t free_at_start = h.free_frames();
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 2);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls == 2) {
            h.backend.exit(kChild); // its first page comes back through the queue
            (void)h.stats();
        }
    };
    CHECK(h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 2).is_error());
    h.backend.meanwhile = nullptr;
    REQUIRE(!h.shrink(kLoader, 2).is_error());
    auto s = h.stats();
    CHECK(s.free == free_at_start);
    CHECK(s.tasks == 1); // the loader's, empty; none left for the child
    CHECK(s.committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: a task killed while its Shrink settles keeps no promise and frees every frame once", "[memory_service][returning]")
{
    Harness h;
    uint64_t free_at_start = h.free_frames();
    REQUIRE(h.grow(1, 6).has_value());
    for (uint64_t page = 0; page < 4; ++page) // pages 4 and 5 stay reserved, never touched
        REQUIRE(h.fault(1, heap_page(page)) == PageFaultVerdict::Resolved);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls != 1)
            return;
        h.backend.exit(1);
        (void)h.stats(); // reclaims its end: the record and its promises go
        CHECK(h.stats().committed == 0);
    };
    CHECK(error_of(h.shrink(1, 6)) == ipc::Error::Denied); // pages 5, 4 (not mapped), then 3 settles, and the task is gone
    h.backend.meanwhile = nullptr;
    CHECK(calls == 1);
    auto s = h.stats();
    CHECK(s.free == free_at_start);
    CHECK(s.committed == 0);
    CHECK(s.tasks == 0);
    h.check_sane();
}

TEST_CASE("memory service: another task's Grow while Give settles cannot take Give's promises", "[memory_service][returning]")
{
    Harness h;
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55, kOther = 2, kGrower = 3;
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 2);
    auto s = h.stats();
    REQUIRE(h.grow(kOther, s.free - s.committed - 2).has_value()); // a margin of exactly 2: Give's 2 pages
    s = h.stats();
    REQUIRE(s.free - s.committed == 2);
    int calls = 0;
    bool grown = false;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls == 1) // the first page cleared, the second still to come
            grown = h.grow(kGrower, 1).has_value();
    };
    REQUIRE(!h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 2).is_error());
    h.backend.meanwhile = nullptr;
    CHECK(calls == 2);
    CHECK_FALSE(grown); // the margin was Give's
    s = h.stats(); // not check_sane: the child's Heap frames sit at its code address
    CHECK(s.committed <= s.free); // every promise has a free frame behind it
    CHECK(s.committed == s.free); // the loader's 2 pages promised again, and task 2's
    CHECK(h.backend.errors.empty());
    CHECK(h.service->frames().check_consistency());
}

TEST_CASE("memory service: a target started while Give settles gets no more pages", "[memory_service][returning]")
{
    Harness h;
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    uint64_t free_at_start = h.free_frames();
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 2);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls == 1)
            h.backend.building.erase(kChildHandle); // a sibling starts the child: it may run now
    };
    CHECK(error_of(h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 2)) == ipc::Error::Denied);
    h.backend.meanwhile = nullptr;
    CHECK(calls == 1); // the second page stays the loader's
    CHECK_FALSE(h.backend.has(kChild, abi::kUserCodeBase)); // a running task's pages are not changed under it
    CHECK(h.backend.has(kLoader, heap_page(1)));
    REQUIRE(!h.shrink(kLoader, 2).is_error());
    auto s = h.stats();
    CHECK(s.free == free_at_start);
    CHECK(s.committed == 0);
    h.check_sane();
}

TEST_CASE("memory service: a caller killed while its Give settles keeps no promise", "[memory_service][returning]")
{
    Harness h;
    constexpr uint64_t kLoader = 4, kChild = 9, kChildHandle = 55;
    uint64_t free_at_start = h.free_frames();
    loader_with_heap_pages(h, kLoader, kChildHandle, kChild, 3);
    int calls = 0;
    h.backend.meanwhile = [&](uint64_t) {
        if (++calls != 1)
            return;
        h.backend.exit(kLoader); // its two pages left come back through the queue
        (void)h.stats();         // reclaims its end: the record and its promises go
    };
    CHECK(error_of(h.give(kLoader, kChildHandle, heap_page(0), abi::kUserCodeBase, 3)) == ipc::Error::Denied);
    h.backend.meanwhile = nullptr;
    CHECK(calls == 1);
    CHECK(h.backend.has(kChild, abi::kUserCodeBase)); // the first page moved before the caller ended
    h.backend.exit(kChild);
    auto s = h.stats();
    CHECK(s.committed == 0); // the two promises taken ahead for pages never moved are given back
    CHECK(s.free == free_at_start);
    CHECK(s.tasks == 0);
    h.check_sane();
}
