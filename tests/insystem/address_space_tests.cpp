// Self-tests of an address space's own lock and reference (docs/memory.md,
// "An address space's lock"): the pager's MemoryMap holds the task table
// lock only to find the space and take a reference, then maps under the
// space's lock, so the task may end between the two, or while the map runs.
// These cases map into a task that is killed meanwhile, once step by step
// (the reference outlives the task) and then from every other CPU at once
// while the kill tears the space down. What would break without the lock,
// the teardown's mark or the reference: a map that succeeds into a space
// already torn down, or a page table added behind the teardown that nobody
// frees (the kernel's user-frame count, which page tables come from, then
// stays above where it was).
#include "microkernel/abi/memory.hpp"
#include "microkernel/log.hpp"
#include "microkernel/mm/address_space.hpp"
#include "microkernel/object/memory_control.hpp"
#include "microkernel/pager/managed_memory.hpp"
#include "microkernel/smp/processor.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

// user/programs/threads.cpp: nine threads that wait in every way there is.
constexpr u64 kThreadsBlockForever = 3;
// Each map a page-table apart, so that most of them add a table.
constexpr u64 kMapStride = 2 * 1024 * 1024;
// Maps per mapper and round that need a new table; then it maps the first
// address again (AlreadyMapped, under the lock all the same) until the end.
constexpr u64 kTablesPerMapper = 32;
constexpr int kRounds = 12;

PageFlags read_only() { return PageFlags { .writable = false }; }

// A task of `threads` that waits until killed; 0 if it did not start.
u64 start_waiting_task()
{
    u64 task = spawn_with("threads", kThreadsBlockForever);
    EXPECT(task != 0);
    return task;
}

void kill_and_wait(u64 task)
{
    EXPECT(kill_task(task));
    auto exit = wait_for_exit(task, 10'000);
    EXPECT(exit.has_value());
}

// ---- the racing mappers: kernel threads, one per other CPU ----
struct Mapper {
    u64 task { 0 };
    PhysicalAddress frame;
    u64 base { 0 };
    u64 maps { 0 };      // that succeeded
    bool saw_end { false }; // PeerGone, or the task no longer listed
    bool odd_error { false };
    bool done { false };
};

Mapper g_mappers[x86::kMaxCpus];

void map_until_the_task_ends(u64 index)
{
    Mapper& m = g_mappers[index];
    for (u64 i = 0;; ++i) {
        Ref<AddressSpace> space = address_space_of(m.task);
        if (!space) {
            m.saw_end = true;
            break;
        }
        u64 address = m.base + (i < kTablesPerMapper ? i : 0) * kMapStride;
        auto mapped = space->map_pager_frame(VirtualAddress(address), m.frame, read_only(), false);
        if (!mapped.is_error()) {
            __atomic_add_fetch(&m.maps, 1, __ATOMIC_RELEASE);
        } else if (mapped.error() == Error::PeerGone) {
            m.saw_end = true;
            break;
        } else if (mapped.error() != Error::AlreadyMapped) {
            m.odd_error = true;
            break;
        }
    }
    __atomic_store_n(&m.done, true, __ATOMIC_RELEASE);
    scheduler_exit_current();
}

} // namespace

// Step by step: the reference taken while the task lived keeps the object
// valid after the task's end, and every change through it is refused.
HERALD_SELFTEST(a_map_through_a_reference_after_the_task_ended_is_refused)
{
    usize tables_before = user_frames_in_use();
    u64 task = start_waiting_task();
    if (!task)
        return;
    Ref<AddressSpace> space = address_space_of(task);
    EXPECT(static_cast<bool>(space));
    kill_and_wait(task); // its teardown ran: the exit is recorded after it
    EXPECT(!address_space_of(task));
    auto frame = allocate_user_frame();
    EXPECT(frame.has_value());
    if (space && frame) {
        auto mapped = space->map_pager_frame(VirtualAddress(abi::kUserHeapBase), *frame, read_only(), false);
        EXPECT(mapped.is_error() && mapped.error() == Error::PeerGone);
        auto unmapped = space->unmap_pager_frame(VirtualAddress(abi::kUserHeapBase));
        EXPECT(unmapped.is_error() && unmapped.error() == Error::PeerGone);
    }
    if (frame)
        free_user_frame(*frame);
    space.clear(); // the last reference: the object goes
    // MemoryMap of a task that is gone: PeerGone, as the memory server expects.
    const PhysicalRangeSet& managed = managed_ranges();
    if (managed.count() > 0) {
        auto mapped = memory_control().map(task, abi::kUserHeapBase, managed[0].base.get(), abi::MapWritable);
        EXPECT(mapped.is_error() && mapped.error() == Error::PeerGone);
    }
    EXPECT(eventually([&] { return user_frames_in_use() == tables_before; }, 5000));
    EXPECT_EQ(user_frames_in_use(), tables_before);
}

// Every other CPU maps into the task as fast as it can (most maps add a page
// table) while this one kills it: each mapper must end on PeerGone or on the
// task's absence, never on another error, and every page table comes back.
HERALD_SELFTEST(maps_from_every_cpu_race_the_end_of_their_task)
{
    usize cpus = processor_count();
    usize mappers = cpus > 1 ? cpus - 1 : 1;
    auto frame = allocate_user_frame(); // mapped read-only, owned by nobody: never freed by a teardown
    EXPECT(frame.has_value());
    if (!frame)
        return;
    usize tables_before = user_frames_in_use();
    u64 total_maps = 0;
    for (int round = 0; round < kRounds; ++round) {
        u64 task = start_waiting_task();
        if (!task)
            break;
        for (usize i = 0; i < mappers; ++i) {
            g_mappers[i] = Mapper { task, *frame, abi::kUserHeapBase + (i * kTablesPerMapper + 1) * kMapStride };
            auto thread = create_kernel_thread("mapper", map_until_the_task_ends, i);
            EXPECT(!thread.is_error());
            if (thread.is_error())
                return;
            scheduler_enqueue_on(*thread.value(), cpus > 1 ? (this_processor().index + 1 + i) % cpus : 0);
        }
        // Kill once each mapper is at work, at a moment that moves a little
        // from round to round (the mappers' progress decides it).
        bool started = eventually([&] {
            for (usize i = 0; i < mappers; ++i) {
                if (__atomic_load_n(&g_mappers[i].maps, __ATOMIC_ACQUIRE) < 1 + static_cast<u64>(round % 4))
                    return false;
            }
            return true;
        }, 5000);
        EXPECT(started);
        kill_and_wait(task);
        EXPECT(eventually([&] {
            for (usize i = 0; i < mappers; ++i) {
                if (!__atomic_load_n(&g_mappers[i].done, __ATOMIC_ACQUIRE))
                    return false;
            }
            return true;
        }, 5000));
        for (usize i = 0; i < mappers; ++i) {
            EXPECT(g_mappers[i].saw_end);
            EXPECT(!g_mappers[i].odd_error);
            total_maps += g_mappers[i].maps;
        }
    }
    EXPECT(eventually([&] { return threads_ending() == 0 && user_frames_in_use() == tables_before; }, 5000));
    EXPECT_EQ(user_frames_in_use(), tables_before);
    free_user_frame(*frame);
    klog("selftest: {} maps raced {} task ends on {} CPUs", total_maps, kRounds, cpus);
}
