// Self-tests of the whole system (docs/system.md): the servers the kernel
// starts, in ring 3 from the boot archive or built into ring 0 (the image's
// placement, docs/placement.md), the loader's checks, whole lines from many
// programs on many CPUs, and a server found by name. Runs last (the IPC
// tests before it start and stop a registry of their own).
#include "microkernel/bootstrap.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/interrupt_frame.hpp"
#include "microkernel/arch/x86_64/syscall_abi.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/mm/address_space.hpp"
#include "microkernel/mm/layout.hpp"
#include "microkernel/pager/managed_memory.hpp"
#include "microkernel/abi/faults.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/object/fault_control.hpp"
#include "microkernel/object/endpoint.hpp"
#include "microkernel/object/kernel_object.hpp"
#include "microkernel/log.hpp"
#include "microkernel/services/services.hpp"
#include "microkernel/smp/processor.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

const SystemTasks& system()
{
    static SystemTasks tasks;
    static bool started;
    if (!started) {
        tasks = start_system(false);
        started = true;
    }
    return tasks;
}

i64 free_frames() { return run_to_exit("memory_free_frames", 0); }

// A server of the system runs: in ring 3 its task is alive; in ring 0 it
// has no task, and its service answers (it has a client object).
void expect_serving(Server server, u64 task)
{
    if (server_in_kernel(server)) {
        EXPECT_EQ(task, 0u);
        Ref<KernelObject> service = server_client_object(server);
        EXPECT(service.ptr() != nullptr);
        if (service)
            EXPECT(service->type() == ObjectType::KernelService);
        return;
    }
    EXPECT(task != 0);
    EXPECT(task && !find_exit(task).has_value());
}

constexpr u64 kStormPrograms = 200;

} // namespace

HERALD_SELFTEST(system_servers_start_in_their_rings)
{
    const SystemTasks& tasks = system();
    klog("selftest: placement {}", placement_name());
    EXPECT(tasks.registry != 0);
    expect_serving(Server::Console, tasks.console);
    expect_serving(Server::Loader, tasks.loader);
}

HERALD_SELFTEST(loader_refuses_bad_programs_and_goes_on)
{
    (void)system();
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0);
    expect_serving(Server::Loader, system().loader); // the loader is still up
}

// Hostile requests to the console, the loader and the memory service get
// the same answers whether the server runs in ring 3 or in ring 0, and none
// takes a server (or, in ring 0, the kernel) down (docs/placement.md).
HERALD_SELFTEST(services_answer_bad_requests_alike_in_every_ring)
{
    (void)system();
    EXPECT_EQ(run_to_exit("service_garbage", 0), 0);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
}

// 200 programs through the loader, all printing at once on every CPU: none
// fails, the run checks that every line came out whole (tests/qemu), and
// every frame they used comes back.
HERALD_SELFTEST(two_hundred_programs_print_whole_lines_and_give_back_their_frames)
{
    (void)system();
    klog("selftest: storm on {} CPUs", processor_count());
    i64 before = free_frames();
    EXPECT_EQ(run_to_exit("spawn_storm", kStormPrograms, -1, 240'000), 0);
    EXPECT_EQ(free_frames(), before);
}

// Four threads of one task, one per CPU (modulo), each spawning 8 programs
// through the loader at once and printing as they go: every spawn ends with
// its child's own status (a loader thread that built or answered with
// another thread's state, or a client thread whose IPC went through another
// thread's buffer, gives a wrong program or status), and tests/qemu checks
// that every child's line came out whole.
HERALD_SELFTEST(threads_spawn_through_the_loader_at_once)
{
    (void)system();
    constexpr u64 kThreads = 4;
    constexpr u64 kSpawnsPerThread = 8;
    EXPECT_EQ(run_to_exit("spawn_together", kThreads | kSpawnsPerThread << 8, -1, 120'000), 0);
    expect_serving(Server::Loader, system().loader);
}

// The loader maps the stack each thread will serve on before it serves
// (servers/loader/main.cpp, touch_stack: kServingStackBytes, 24 KiB), so
// that a request never grows a loader stack by a frame (qemu-sysfuzz-smp*
// counts free frames around its spawns). Each loader thread waits for its
// next request (in IPC, its registers saved at its kernel stack's top): the
// 16 KiB below where it waits must be mapped, well within the 24 KiB it
// touched from a little above that point. A thread whose requests alone
// reached down would have mapped a page or two below it. Only a thread
// queued as a receiver counts as waiting: one blocked deeper (in a Call to
// the console or the memory server, or in a page fault's kernel Call) has
// its stack pointer below the receive point, and is looked at again later.
// Each thread's margin (its stack pointer above the lowest page mapped, up
// to 24 KiB) goes to the log, so that a shrinking margin shows.
namespace {

constexpr u64 kLoaderStackMapped = 16 * KiB;
constexpr u64 kLoaderStackTouched = 24 * KiB; // servers/loader/main.cpp, kServingStackBytes
constexpr u64 kMaxLoaderThreads = 16;

struct LoaderStacks {
    u64 threads { 0 };
    u64 waiting { 0 };      // queued as receivers, in their own receive
    u64 short_of_stack { 0 };
    u64 ids[kMaxLoaderThreads] {};     // the waiting ones
    u64 margins[kMaxLoaderThreads] {}; // theirs, in bytes
};

// Whether `thread` waits in its own receive (IpcReceive or
// IpcReplyReceive): queued on an endpoint, not as a caller, its system-call
// frame the one at its kernel stack's top (a kernel Call, a page fault's,
// puts a scratch frame there).
bool waits_in_its_receive(const Thread& thread, const x86::InterruptFrame& frame)
{
    if (!__atomic_load_n(&thread.ipc.blocked_on, __ATOMIC_ACQUIRE) || thread.ipc.awaiting_reply
        || thread.ipc.frame != &frame)
        return false;
    u64 number = syscall_number(frame);
    return number == static_cast<u64>(abi::SyscallNumber::IpcReceive)
        || number == static_cast<u64>(abi::SyscallNumber::IpcReplyReceive);
}

// How far below `rsp` the pages are mapped without a gap, up to
// kLoaderStackTouched: the margin.
u64 mapped_below(AddressSpace& space, u64 rsp)
{
    u64 top = align_down(rsp, abi::kPageSize);
    u64 lowest = top;
    while (rsp - lowest < kLoaderStackTouched && space.translate(VirtualAddress(lowest - abi::kPageSize)))
        lowest -= abi::kPageSize;
    return space.translate(VirtualAddress(top)) ? rsp - lowest : 0;
}

// Under the task table lock (with_address_space_of): each thread of the
// loader, and whether the pages below where it waits are mapped.
ErrorOr<u64> look_at_loader_stacks(Task& task, AddressSpace& space, void* context)
{
    auto& stacks = *static_cast<LoaderStacks*>(context);
    for (Thread* thread = task.threads; thread; thread = thread->sibling) {
        ++stacks.threads;
        if (!thread->is_user || !thread->has_run || thread->state != ThreadState::Blocked)
            continue;
        auto* frame = reinterpret_cast<x86::InterruptFrame*>(thread->kernel_stack_top - sizeof(x86::InterruptFrame));
        if (frame->cs != x86::kUserCodeSelector || !waits_in_its_receive(*thread, *frame))
            continue;
        u64 margin = mapped_below(space, frame->rsp);
        if (stacks.waiting < kMaxLoaderThreads) {
            stacks.ids[stacks.waiting] = thread->id;
            stacks.margins[stacks.waiting] = margin;
        }
        ++stacks.waiting;
        if (margin < kLoaderStackMapped) {
            klog("selftest: loader thread {}: waits at {:#x} with only {} bytes mapped below", thread->id, frame->rsp,
                margin);
            ++stacks.short_of_stack;
        }
    }
    return 0u;
}

} // namespace

HERALD_SELFTEST(the_loaders_threads_wait_on_stacks_mapped_ahead)
{
    u64 loader = system().loader;
    if (!loader) {
        klog("selftest: the loader is built into the kernel: no loader stacks");
        return;
    }
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0); // every thread has started, some have served
    LoaderStacks stacks;
    bool all_wait = eventually([&] {
        stacks = {};
        return !with_address_space_of(loader, look_at_loader_stacks, &stacks).is_error() && stacks.threads > 0
            && stacks.waiting == stacks.threads;
    }, 10'000);
    klog("selftest: {} loader threads, {} waiting, {} short of stack", stacks.threads, stacks.waiting,
        stacks.short_of_stack);
    for (u64 i = 0; i < stacks.waiting && i < kMaxLoaderThreads; ++i)
        klog("selftest: loader thread {}: {} bytes mapped below where it waits (looked down to {})", stacks.ids[i],
            stacks.margins[i], kLoaderStackTouched);
    EXPECT(all_wait);
    EXPECT_EQ(stacks.short_of_stack, 0u);
}

HERALD_SELFTEST(a_client_reaches_the_example_server_by_name)
{
    (void)system();
    u64 server = spawn("echo"); // servers/echo: publishes "echo"
    EXPECT_EQ(run_to_exit("echo_by_name_client", 0), 0);
    EXPECT(kill_task(server));
    EXPECT(wait_for_exit(server).has_value());
}

// A hostile program (user/programs/hostile_authority.cpp) tries each
// authority hole of docs/security.md; every attempt must fail with a clear
// error, and the servers it attacks keep serving. Its argument is the mode.
constexpr u64 kHostileKill = 1;
constexpr u64 kHostileBadges = 3;
constexpr u64 kHostileRegistry = 4;
constexpr u64 kHostileUnbadgedLookup = 7;

HERALD_SELFTEST(a_program_cannot_kill_or_list_what_it_did_not_start)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileKill), 0);
    expect_serving(Server::Loader, system().loader);
}

HERALD_SELFTEST(badges_cannot_be_forged)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileBadges), 0);
}

// A caller with badge 0 (an unbadged registry handle, which only the kernel
// gives) gets a copy without RightMint of a server published with it, not
// the published handle, with which it could badge copies as anyone.
HERALD_SELFTEST(an_unbadged_lookup_gets_no_mint_right)
{
    (void)system();
    SpawnOptions options;
    options.parameter = kHostileUnbadgedLookup;
    options.handles[0] = InitialHandle { name_registry().ptr(), abi::RightSend | abi::RightGrant, 0, abi::HandleFirstFree };
    u64 task = spawn("hostile_authority", options);
    auto exit = wait_for_exit(task, 60'000);
    EXPECT(exit.has_value() && !exit->killed);
    EXPECT_EQ(exit ? exit->status : -1, 0);
    expect_serving(Server::Loader, system().loader);
}

HERALD_SELFTEST(the_registry_cannot_be_squatted_or_filled)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_authority", kHostileRegistry), 0);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
}

// A fork bomb through the loader (user/programs/hostile_quota.cpp, docs/
// security.md "Quotas"): alone it is refused with kTooManyTasks at exactly
// the per-client limit; its copies, each starting tasks until refused, are
// all refused with kTooManyTasks, none beyond the limit. Afterwards the
// loader still answers and another program runs to its end.
constexpr u64 kHostileBomb = 1;

HERALD_SELFTEST(a_fork_bomb_through_the_loader_is_refused_and_the_rest_goes_on)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_quota", kHostileBomb, -9999, 240'000), 0);
    expect_serving(Server::Loader, system().loader);
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0); // spawns through the loader, to its end
}

// Tasks named `name` that have not ended (the kernel's own list).
u64 running_tasks_named(const char* name)
{
    abi::TaskListEntry entries[16];
    u64 count = 0;
    for (usize from = 0;;) {
        usize got = list_tasks(from, entries, 16, from);
        if (got == 0)
            return count;
        for (usize i = 0; i < got; ++i) {
            if (entries[i].state != abi::TaskState::Running && entries[i].state != abi::TaskState::Building)
                continue;
            if (StringView(entries[i].name) == StringView(name))
                ++count;
        }
    }
}

// A task's tree ends with it (docs/security.md, "Quotas"): a parent that
// exits, and one its starter kills through the loader, each leave no
// `sleep` and no copy of theirs running (user/programs/hostile_quota.cpp).
constexpr u64 kHostileOrphans = 3;

HERALD_SELFTEST(a_task_the_loader_started_takes_its_tree_with_it)
{
    (void)system();
    u64 sleepers = running_tasks_named("sleep");
    EXPECT_EQ(run_to_exit("hostile_quota", kHostileOrphans), 0);
    u64 waited = 0;
    while ((running_tasks_named("sleep") > sleepers || running_tasks_named("hostile_quota") > 0) && waited < 5000) {
        scheduler_sleep_ms(kTickMs);
        waited += kTickMs;
    }
    EXPECT_EQ(running_tasks_named("sleep"), sleepers);
    EXPECT_EQ(running_tasks_named("hostile_quota"), 0u);
}

// Tasks named `name` or `sleep` above `sleepers` still running after
// waiting up to 5 s for kills to land: 0 when a tree has ended whole.
u64 left_of_a_tree(const char* name, u64 sleepers)
{
    u64 waited = 0;
    while ((running_tasks_named("sleep") > sleepers || running_tasks_named(name) > 0) && waited < 5000) {
        scheduler_sleep_ms(kTickMs);
        waited += kTickMs;
    }
    u64 now = running_tasks_named("sleep");
    return (now > sleepers ? now - sleepers : 0) + running_tasks_named(name);
}

// A fork bomb inside one tree (hostile_quota mode tree, docs/security.md
// "Quotas"): its copies, each within its own client limit, together hold
// exactly kMaxTasksPerTree tasks, every refusal kTooManyTasks; beside the
// full tree another program runs to its end; killing the root ends it all.
// With the tree limit switched off the copies fill the loader's table (192)
// and `hello` is refused.
constexpr u64 kHostileTree = 7;

HERALD_SELFTEST(a_fork_bomb_in_one_tree_is_held_to_the_tree_limit)
{
    (void)system();
    u64 sleepers = running_tasks_named("sleep");
    EXPECT_EQ(run_to_exit("hostile_quota", kHostileTree, -9999, 240'000), 0);
    EXPECT_EQ(left_of_a_tree("hostile_quota", sleepers), 0u);
    expect_serving(Server::Loader, system().loader);
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0);
}

// Copies of one program publishing names (hostile_quota mode names): they
// get kMaxNamesPerProgram together, every refusal kTooManyNames, and
// another program (hostile_authority's registry attack) still publishes
// and finds the servers. With the per-program limit switched off the
// copies fill the registry and the other program's checks fail.
constexpr u64 kHostileNames = 9;

HERALD_SELFTEST(copies_of_one_program_cannot_fill_the_registry)
{
    (void)system();
    u64 sleepers = running_tasks_named("sleep");
    EXPECT_EQ(run_to_exit("hostile_quota", kHostileNames, -9999, 240'000), 0);
    EXPECT_EQ(left_of_a_tree("hostile_quota", sleepers), 0u);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
}

// The kernel's quotas on handles (hostile_quota mode handles, microkernel/
// object/handle_table.hpp): endpoints made until refused stop at
// kMaxIpcObjectHandles with QuotaExceeded, notifications share the quota, a
// full table is QuotaExceeded; afterwards the program still starts `hello`
// to its end, and the loader and the console still answer. With the
// per-kind quota switched off the endpoints went on to the whole table.
constexpr u64 kHostileHandles = 11;

HERALD_SELFTEST(a_task_that_makes_endpoints_until_refused_gets_quota_exceeded)
{
    (void)system();
    EXPECT_EQ(run_to_exit("hostile_quota", kHostileHandles, -9999, 120'000), 0);
    expect_serving(Server::Console, system().console);
    expect_serving(Server::Loader, system().loader);
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0);
}

// Whether `task` is still there and its thread sleeps (a hog holding
// what it took), within two minutes.
bool holds_on(u64 task)
{
    for (u64 waited = 0; task && waited < 120'000 && !find_exit(task); waited += kTickMs) {
        scheduler_sleep_ms(kTickMs);
        auto thread = main_thread_snapshot(task);
        if (thread && thread->state == ThreadState::Sleeping)
            return true;
    }
    return false;
}

// A hostile memory hog (user/programs/hostile_quota.cpp, docs/security.md
// "Quotas"): it Grows until refused, which must be kOverLimit at exactly
// its frame limit, with frames left over; meanwhile another program still
// faults in its pages (16 MiB of heap, 256 KiB of stack) and ends, and the
// loader still builds programs. A hog whose stack goes beyond its limit is
// killed alone. With the limit switched off the hog takes every frame and
// memory_touch's Grow is refused.
constexpr u64 kHostileFrames = 5;
constexpr u64 kHostileStackHog = 6;
constexpr i64 kKilledByPageFault = -1000 - 14; // task/user_faults.cpp
// memory_touch's parameter: heap pages, stack pages.
constexpr u64 touch_pages(u64 heap_pages, u64 stack_pages) { return stack_pages << 32 | heap_pages; }

HERALD_SELFTEST(a_memory_hog_gets_its_share_and_the_others_still_fault_in_their_pages)
{
    (void)system(); // the loader and the registry, for loader_checks
    i64 before = free_frames();
    u64 hog = spawn_with("hostile_quota", kHostileFrames);
    EXPECT(holds_on(hog));
    EXPECT(free_frames() > run_to_exit("memory_free_frames", 2)); // more free than promised to heaps
    EXPECT_EQ(run_to_exit("memory_touch", touch_pages(16 * MiB / kPageSize, 64)), 0);
    EXPECT_EQ(run_to_exit("loader_checks", 0), 0); // spawns through the loader, to its end
    EXPECT(kill_task(hog));
    EXPECT(wait_for_exit(hog, 60'000).has_value());
    EXPECT_EQ(free_frames(), before);

    u64 stack_hog = spawn_with("hostile_quota", kHostileStackHog);
    auto exit = wait_for_exit(stack_hog, 120'000);
    EXPECT(exit.has_value() && exit->killed && exit->status == kKilledByPageFault);
    EXPECT_EQ(free_frames(), before);
    EXPECT_EQ(run_to_exit("memory_touch", touch_pages(1, 64)), 0);
}

// Authority over devices (docs/drivers.md): the PCI server hands a driver
// what its line of init.manifest grants (device_checks: the CMOS ports, IRQ
// 8, QEMU's display, whose BAR it maps), and nothing to a driver without
// one (hostile_driver), while it goes on serving.
constexpr u64 kDeviceChecksDriver = 6;

HERALD_SELFTEST(a_driver_gets_what_its_manifest_line_grants)
{
    EXPECT(system().pci != 0);
    EXPECT_EQ(run_to_exit("device_checks", kDeviceChecksDriver), 0);
}

// DMA memory (docs/drivers.md, "DMA memory"): device_checks (dma=16) gets 16
// pages in two blocks and writes in each the physical address it was told;
// the frames must really be there, in order (found through the physmap),
// and stay out of use after it ended, with the display it claimed still
// bus master, until the PCI server has turned that off (at its next
// request, device_checks' dma_released mode).
constexpr u64 kDeviceChecksDma = 7;
constexpr u64 kDeviceChecksDmaReleased = 8;
constexpr u64 kDmaMagic = 0x444D'4143'4845'434B; // device_checks' "DMACHECK"
constexpr u64 kDmaPages = 16;

// How many managed frames hold device_checks' pattern where it said
// (`right`), and how many hold it elsewhere (`wrong`).
void find_dma_pattern(u64& right, u64& wrong)
{
    right = wrong = 0;
    for (const PhysicalRange& range : managed_ranges()) {
        for (u64 offset = 0; offset < range.length; offset += layout::kPageSize) {
            u64 frame = range.base.get() + offset;
            // device_checks' kDmaPatternWord: the reclaim queue links frames through their first word.
            auto* words = reinterpret_cast<const volatile u64*>(layout::physmap_address(frame)) + 64;
            if (words[0] != kDmaMagic)
                continue;
            if (words[1] == frame && words[2] < kDmaPages)
                ++right;
            else
                ++wrong;
        }
    }
}

// QEMU's display (1234:1111) on bus 0, through configuration mechanism #1;
// its command register's Bus Master Enable (PCI 3.0 §6.2.2), -1 if absent.
int display_bus_master()
{
    constexpr u16 kAddress = 0xCF8, kData = 0xCFC;
    for (u32 device = 0; device < 32; ++device) {
        u32 base = 0x8000'0000u | device << 11;
        x86::outl(kAddress, base);
        u32 id;
        asm volatile("inl %1, %0" : "=a"(id) : "Nd"(kData));
        if (id != 0x1111'1234u)
            continue;
        x86::outl(kAddress, base | 0x04);
        u32 command;
        asm volatile("inl %1, %0" : "=a"(command) : "Nd"(kData));
        return (command >> 2) & 1;
    }
    return -1;
}

HERALD_SELFTEST(a_driver_gets_contiguous_dma_memory_reused_only_after_its_device_stopped)
{
    EXPECT(system().pci != 0);
    EXPECT_EQ(run_to_exit("device_checks", kDeviceChecksDma), 0);
    u64 right = 0, wrong = 0;
    find_dma_pattern(right, wrong);
    EXPECT_EQ(right, kDmaPages);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(display_bus_master(), 1); // claimed by a driver with dma=: on until the server sees it ended
    EXPECT_EQ(run_to_exit("device_checks", kDeviceChecksDmaReleased), 0);
    EXPECT_EQ(display_bus_master(), 0);
}

HERALD_SELFTEST(a_driver_asking_beyond_its_grant_is_refused)
{
    EXPECT(system().pci != 0);
    EXPECT_EQ(run_to_exit("hostile_driver", 0), 0);
    EXPECT(system().pci && !find_exit(system().pci).has_value());
}

// The kernel log through the console: a line of the longest length does not
// hold up the lines after it, and a program's last line without '\n' is
// printed when it returns (the run checks both lines).
HERALD_SELFTEST(the_console_prints_long_kernel_lines_and_unfinished_last_lines)
{
    (void)system();
    EXPECT_EQ(run_to_exit("long_line", 0), 0);
}

// Last: the console ends, and the kernel writes its log to COM1 again
// (log.hpp); the run checks the line, and the results that follow it.
HERALD_SELFTEST(the_kernel_takes_com1_back_when_the_console_ends)
{
    if (console_in_kernel())
        return skip("the console is built into the kernel: no console task to end, and the kernel log goes to COM1 already");
    u64 console = system().console;
    EXPECT(console != 0);
    if (!console)
        return;
    // Killed between two batches, not in the middle of printing one (a batch
    // it took is no longer in the kernel's ring): nothing left to take, and
    // the console waiting in receive, two ticks in a row.
    auto idle = [&] {
        auto thread = main_thread_snapshot(console);
        return kernel_log_waiting_lines() == 0 && thread && thread->state == ThreadState::Blocked;
    };
    int idle_looks = 0;
    for (u64 waited = 0; waited < 60'000 && idle_looks < 2; waited += kTickMs) {
        idle_looks = idle() ? idle_looks + 1 : 0;
        if (idle_looks < 2)
            scheduler_sleep_ms(kTickMs);
    }
    EXPECT_EQ(idle_looks, 2);
    EXPECT(kill_task(console));
    EXPECT(wait_for_exit(console, 60'000).has_value()); // generous: a loaded host can starve emulated CPUs
    klog("selftest: written by the kernel itself after the console ended");
}


// FaultInject's checks (abi/faults.hpp, docs/reliability.md "Fault
// injection"): fault_inject_checks, given a FaultControl handle with chosen
// rights (or none), tries every kind with the `faults=` switch off, without
// the handle, with a handle that lacks RightSend, and every bad argument;
// then the good ones on a victim (`sleep`, blocked in the kernel, so that
// its saved registers can be changed), which must die of the forced
// exception (#GP, the HLT written at its next instruction) or the kill.
constexpr u64 kFaultChecksSwitchOff = 1;
constexpr u64 kFaultChecksNoHandle = 2;
constexpr u64 kFaultChecksReceiveOnly = 3;
constexpr u64 kFaultChecksArguments = 4;
constexpr u64 kFaultChecksKill = 5;
constexpr u64 kFaultChecksArmAtInterrupt = 6;
constexpr u64 kVictimSleepMs = 3000;

// Runs fault_inject_checks in `mode` against `victim` with a FaultControl
// handle of `rights` (0: no handle) and the switch set to `switch_on`; its
// exit status (the number of failed checks).
i64 run_fault_checks(u64 mode, u64 victim, u32 rights, bool switch_on)
{
    bool before = FaultControl::enabled();
    FaultControl::set_enabled(switch_on);
    SpawnOptions options;
    options.parameter = mode | (victim << 8);
    if (rights)
        options.handles[0] = InitialHandle { &fault_control(), rights, 0, abi::HandleFirstFree };
    u64 task = spawn("fault_inject_checks", options);
    i64 status = -9999;
    if (task) {
        auto exit = wait_for_exit(task, 30'000);
        EXPECT(exit.has_value());
        if (exit) {
            EXPECT(!exit->killed);
            status = exit->status;
        }
    }
    FaultControl::set_enabled(before);
    return status;
}

HERALD_SELFTEST(injected_faults_are_refused_without_the_switch_or_the_right)
{
    (void)system();
    u64 victim = spawn_with("sleep", kVictimSleepMs);
    EXPECT_EQ(run_fault_checks(kFaultChecksSwitchOff, victim, abi::RightSend | abi::RightReceive, false), 0);
    EXPECT_EQ(run_fault_checks(kFaultChecksNoHandle, victim, 0, true), 0);
    EXPECT_EQ(run_fault_checks(kFaultChecksReceiveOnly, victim, abi::RightReceive, true), 0);
    // Nothing happened to it: it sleeps its time out and exits 0.
    auto exit = wait_for_exit(victim, 30'000);
    EXPECT(exit.has_value());
    EXPECT(exit && !exit->killed && exit->status == 0);
}

HERALD_SELFTEST(injected_faults_check_their_arguments_and_hurt_only_their_target)
{
    (void)system();
    u64 victim = spawn_with("sleep", kVictimSleepMs);
    scheduler_sleep_ms(50); // in its Sleep: its registers saved, not on a CPU
    EXPECT_EQ(run_fault_checks(kFaultChecksArguments, victim, abi::RightSend | abi::RightReceive, true), 0);
    auto exit = wait_for_exit(victim, 30'000);
    EXPECT(exit.has_value());
    EXPECT(exit && exit->killed);
    EXPECT(exit && exit->status == abi::fault_status(13)); // #GP: the HLT at its next instruction
    u64 second = spawn_with("sleep", kVictimSleepMs);
    EXPECT_EQ(run_fault_checks(kFaultChecksKill, second, abi::RightSend | abi::RightReceive, true), 0);
    auto killed = wait_for_exit(second, 30'000);
    EXPECT(killed.has_value());
    EXPECT(killed && killed->killed && killed->status == abi::kKilledStatus);
}

// A forced exception armed for an interrupt (FaultMoment::Interrupt) lands
// where an interrupt finds its victim running in ring 3: for a busy echo
// server (two stress clients calling it without pause) a different
// instruction from one injection to the next. At its next instruction
// (FaultMoment::Next) it would be the same one nearly every time: the one
// after the server's receive. Fails with fewer than two distinct RIPs (the
// exit record's, which the kill report prints too) in kArmedInjections.
constexpr usize kArmedInjections = 6;
constexpr u64 kEchoEndpointHandle = 8;          // where ipc_echo_server and ipc_stress_client find it
constexpr u64 kStressRoundTrips = 1'000'000;    // more than they make before the server dies

SpawnOptions with_echo_endpoint(Endpoint& endpoint, u32 rights, u64 parameter)
{
    SpawnOptions options;
    options.parameter = parameter;
    options.handles[0] = InitialHandle { &endpoint, rights, 0, kEchoEndpointHandle };
    return options;
}

// The RIP at which the armed exception killed a busy echo server, 0 if it
// did not (a failed expectation).
u64 arm_into_busy_echo_server()
{
    Ref<Endpoint> endpoint = Endpoint::create();
    EXPECT(endpoint.ptr() != nullptr);
    if (!endpoint)
        return 0;
    u64 server = spawn("ipc_echo_server", with_echo_endpoint(*endpoint, abi::RightReceive, kEchoEndpointHandle));
    u64 clients[2] {};
    for (u64& client : clients)
        client = spawn("ipc_stress_client",
            with_echo_endpoint(*endpoint, abi::RightSend, (kStressRoundTrips << 16) | kEchoEndpointHandle));
    endpoint.clear(); // the tasks' handles keep it alive
    scheduler_sleep_ms(5 * kTickMs); // let them talk
    EXPECT_EQ(run_fault_checks(kFaultChecksArmAtInterrupt, server, abi::RightSend | abi::RightReceive, true), 0);
    auto exit = wait_for_exit(server, 30'000);
    EXPECT(exit.has_value());
    EXPECT(exit && exit->killed && exit->status == abi::fault_status(13)); // #GP: the HLT
    if (!exit)
        EXPECT(kill_task(server));
    for (u64 client : clients)
        EXPECT(wait_for_exit(client, 30'000).has_value()); // PeerGone ends them
    return exit && exit->killed ? exit->fault_rip : 0;
}

HERALD_SELFTEST(injected_exceptions_at_interrupts_land_at_varied_instructions)
{
    (void)system();
    u64 rips[kArmedInjections] {};
    usize distinct = 0;
    for (usize i = 0; i < kArmedInjections; ++i) {
        rips[i] = arm_into_busy_echo_server();
        EXPECT(rips[i] != 0);
        bool seen = false;
        for (usize j = 0; j < i; ++j)
            seen = seen || rips[j] == rips[i];
        distinct += seen ? 0 : 1;
        klog("selftest: armed exception {} landed at RIP={:#x}", i, rips[i]);
    }
    klog("selftest: {} armed exceptions, {} distinct RIPs", kArmedInjections, distinct);
    EXPECT(distinct >= 2);
}
