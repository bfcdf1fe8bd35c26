// The virtio-blk driver in the system (docs/drivers.md, "Testing the
// driver"): run alone (by name), by qemu-selftest-virtio-blk, with the test
// disk (servers/virtio-blk/test_disk.hpp) attached as virtio-blk-pci. The
// driver gets its device from the PCI server (its manifest line grants it),
// blk_checks reads known sectors, writes and reads back, with several
// requests in flight; then the driver is killed while a client is in the
// middle of its reads: the client gets PeerGone, the kernel and the PCI
// server go on, and a new driver serves the disk again. The drivers run on
// MSI-X (the kernel counts the messages it received while blk_checks ran);
// the third, told not to use it, serves through its function's INTx line,
// which the PCI server routes (on q35: GSI 16-23, level-triggered): the
// kernel counts the interrupts delivered on drivers' lines, and no MSI
// message comes (the PCI server turned the dead driver's MSI-X off). Each
// blk_checks run's guest time is logged ("selftest: virtio-blk ..."). A
// program the driver does not serve (hostile_driver) is Denied every
// request, while blk_checks, which it does serve here, goes on
// (docs/security.md, "The disk").
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/ipc/irq.hpp"
#include "microkernel/object/interrupt.hpp"
#include "microkernel/object/notification.hpp"
#include "microkernel/lib/string_view.hpp"
#include "microkernel/log.hpp"
#include "microkernel/object/system_control.hpp"
#include "microkernel/stats/event_counters.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/task/task.hpp"
#include "programs.hpp"
#include "selftest.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

constexpr u64 kBlkChecks = 1;
constexpr u64 kBlkHammer = 2;
constexpr u64 kHostileAlsoTheDisk = 2;    // user/programs/hostile_driver.cpp
constexpr u64 kDriverServesTestClients = 1; // servers/virtio-blk/main.cpp kServeTestClients
constexpr u64 kDriverNoMsix = 4;            // servers/virtio-blk/main.cpp kArgumentNoMsix: its INTx line
constexpr u64 kDeviceChecksMsixDrain = 9;   // user/programs/device_checks.cpp ModeMsixDrain
constexpr u32 kMsixCapPerFunction = 8;      // servers/pci/pci_protocol.hpp kMaxMsixVectorsPerFunction
// Where the disk's INTx arrives on q35, the machine qemu-selftest-virtio-blk
// boots: 00:03.0, INTA -> PIRQH -> GSI 23 (servers/pci/intx_route.hpp).
constexpr u64 kDiskLineOnQ35 = 23;

// Whether a second binding of `line` is refused Busy (its one holder keeps
// it: docs/drivers.md, "Shared lines: one holder"). A binding that is not
// refused ends with this function (its object goes).
bool second_binding_busy(u64 line)
{
    auto handle = Interrupt::root().restrict(line, line);
    Ref<Notification> notification = Notification::create();
    if (handle.is_error() || !notification.ptr())
        return false;
    auto bound = handle.value()->bind(Ref<Notification>(*notification), 1);
    return bound.is_error() && bound.error() == Error::Busy;
}

// The disk's function (00:03.0 on qemu-selftest-virtio-blk's q35) through
// configuration mechanism #1: its command register's Interrupt Disable
// (bit 10, PCI 3.0 §6.2.2), -1 if it is not a virtio function. The PCI
// server sets it on every function and clears it only for the function
// whose driver got its line (RequestFunctionIrq).
int disk_intx_disabled()
{
    constexpr u16 kAddress = 0xCF8, kData = 0xCFC;
    constexpr u32 kDiskAt = 0x8000'0000u | 3u << 11;
    x86::outl(kAddress, kDiskAt);
    u32 id;
    asm volatile("inl %1, %0" : "=a"(id) : "Nd"(kData));
    if ((id & 0xFFFF) != 0x1AF4)
        return -1;
    x86::outl(kAddress, kDiskAt | 0x04);
    u32 command;
    asm volatile("inl %1, %0" : "=a"(command) : "Nd"(kData));
    return (command >> 10) & 1;
}

// The driver as these tests run it: it serves blk_checks too, and holds the
// task list init would give it (tasks=list) where init would put it.
u64 start_driver(u64 more_bits = 0)
{
    SpawnOptions options;
    options.parameter = kDriverServesTestClients | more_bits;
    options.handles[0] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::HandleFirstFree };
    return spawn("virtio-blk", options);
}

u64 events_of(const EventCounters& counters, Event event) { return counters.values[static_cast<usize>(event)]; }

// blk_checks' status; logs the guest time it took, the MSI messages the
// kernel received meanwhile (in `messages`) and the interrupts on drivers'
// lines (in `line_interrupts`), and what the kernel did for it
// on every CPU (system calls, IPC messages, context switches, interrupts):
// the cost of polling against interrupts, in counts that do not depend on
// how fast the host is.
i64 timed_blk_checks(const char* mode, u64& messages, u64& line_interrupts)
{
    u64 before = msi_messages_received();
    u64 lines_before = driver_line_interrupts_received();
    EventCounters events_before = event_counters_sum();
    u64 start = tsc::ms_since_boot().value_or(0);
    i64 status = run_to_exit("blk_checks", kBlkChecks);
    u64 took = tsc::ms_since_boot().value_or(0) - start;
    EventCounters events = event_counters_sum();
    messages = msi_messages_received() - before;
    line_interrupts = driver_line_interrupts_received() - lines_before;
    auto delta = [&](Event event) { return events_of(events, event) - events_of(events_before, event); };
    klog("selftest: virtio-blk {}: blk_checks took {} ms, {} MSI messages, {} line interrupts", mode, took, messages,
        line_interrupts);
    klog("selftest: virtio-blk {}: syscalls={} ipc={} context_switches={} interrupts={}", mode, delta(Event::Syscalls),
        delta(Event::IpcFast) + delta(Event::IpcFull), delta(Event::ContextSwitches), delta(Event::Interrupts));
    return status;
}

} // namespace

namespace {

constexpr u64 kManifestDisk = 4; // user/init/main.cpp kManifests: supervise-disk.manifest
constexpr u64 kFsSums = 1;       // user/programs/fs_checks.cpp: read every file
constexpr u64 kPatienceMs = 30'000;

// A running task named `name` other than `other_than`; 0 if none.
u64 running_task_named(const char* name, u64 other_than)
{
    abi::TaskListEntry entries[16];
    usize next = 0;
    for (usize from = 0;; from = next) {
        usize count = list_tasks(from, entries, 16, next);
        if (count == 0)
            return 0;
        for (usize i = 0; i < count; ++i) {
            const abi::TaskListEntry& task = entries[i];
            if (task.task_id != other_than && task.state == abi::TaskState::Running && StringView(task.name) == name)
                return task.task_id;
        }
    }
}

// Kills every running task named `name` but `keep`.
void kill_all_named(const char* name, u64 keep)
{
    while (u64 task = running_task_named(name, keep)) {
        (void)kill_task(task);
        (void)wait_for_exit(task, kPatienceMs);
    }
}

// A copy of init (docs/security.md, "A copy of init") would reserve every
// manifest name for its own copies of the servers, its fat among them, and
// so get the disk: the loader refuses to start one (hostile_authority asks
// it, as a user's `run init` would), and a copy started past the loader
// (here by the kernel, as bootstrap starts init, but without
// SystemControl) runs init's code and starts its copies of virtio-blk and
// fat, but the registry refuses its every Reserve: "fat" still names
// init's fat, which goes on serving. Without the loader's refusal the first
// hostile_authority run fails; without the registry's, the second (the
// copy named its own fat).
void check_a_copy_of_init_cannot_reserve(u64 inits_fat, u64 driver)
{
    constexpr u64 kHostileCopyOfInit = 8; // user/programs/hostile_authority.cpp ModeCopyOfInit
    constexpr u64 kHostileModeBits = 8;   // its kModeBits: the value above the mode
    // The copy reserves for its fat just after the loader answers its Spawn.
    constexpr u64 kCopySettleMs = 2'000;
    u64 check_reservation = kHostileCopyOfInit | inits_fat << kHostileModeBits;
    EXPECT_EQ(run_to_exit("hostile_authority", check_reservation), 0);

    SpawnOptions options;
    options.parameter = kManifestDisk;
    u64 copy = spawn("init", options);
    EXPECT(copy != 0);
    u64 copys_fat = 0;
    EXPECT(eventually([&] { return (copys_fat = running_task_named("fat", inits_fat)) != 0; }, kPatienceMs));
    scheduler_sleep_ms(kCopySettleMs);
    klog("selftest: a copy of init is task {}, its fat task {}", copy, copys_fat);
    EXPECT_EQ(run_to_exit("hostile_authority", check_reservation), 0);
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0);

    (void)kill_task(copy);
    (void)wait_for_exit(copy, kPatienceMs);
    kill_all_named("fat", inits_fat);
    kill_all_named("virtio-blk", driver);
}

// init started with the disk manifest, and the disk driver and the FAT
// server it started, found running (0 for any that is not).
struct InitWithTheDisk {
    u64 init { 0 };
    u64 driver { 0 };
    u64 fat { 0 };
};

InitWithTheDisk start_init_with_the_disk()
{
    InitWithTheDisk started;
    SpawnOptions options;
    options.parameter = kManifestDisk;
    options.handles[0] = InitialHandle { &system_control(), abi::RightSend | abi::RightReceive, 0, abi::kSystemControlHandle };
    started.init = spawn("init", options);
    EXPECT(started.init != 0);
    EXPECT(eventually([&] { return (started.driver = running_task_named("virtio-blk", 0)) != 0; }, kPatienceMs));
    EXPECT(eventually([&] { return (started.fat = running_task_named("fat", 0)) != 0; }, kPatienceMs));
    return started;
}

// The end of a test that started init: init, then every pinger still
// running (killing init does not end the programs it started).
void end_init_and_its_pingers(u64 init)
{
    (void)kill_task(init);
    (void)wait_for_exit(init, kPatienceMs);
    while (u64 pinger = running_task_named("pinger", 0)) {
        (void)kill_task(pinger);
        (void)wait_for_exit(pinger, kPatienceMs);
    }
}

} // namespace

// init restarts the disk driver (init.manifest: virtio-blk ... restart), and
// the FAT server, which keeps running, finds the new driver by name
// (BlockClient's ReconnectingClient): its clients read every file before
// and after the kill. Run with the build's FAT image attached
// (qemu-selftest-disk-restart). Without the restart, or without the
// reconnect, the second fs_checks fails (fat answers kIoError).
HERALD_SELFTEST(alone_supervisor_restarts_the_disk_driver_and_fat_reconnects)
{
    (void)start_system(false);
    InitWithTheDisk started = start_init_with_the_disk();
    u64 init = started.init, driver = started.driver, fat = started.fat;
    if (!init || !driver || !fat)
        return;
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0);

    EXPECT(kill_task(driver));
    EXPECT(wait_for_exit(driver, kPatienceMs).has_value());
    u64 again = 0;
    EXPECT(eventually([&] { return (again = running_task_named("virtio-blk", driver)) != 0; }, kPatienceMs));
    klog("selftest: virtio-blk was task {}, the supervisor started task {}", driver, again);
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0);
    EXPECT_EQ(running_task_named("fat", 0), fat); // fat reconnected; it was not restarted

    end_init_and_its_pingers(init);
    (void)kill_task(fat);
    (void)kill_task(again);
}

// A copy of fat that init did not start never gets the disk
// (docs/security.md, "The disk"): the driver serves only the task the
// registry's reservation of "fat" names (init's). First a copy beside
// init's fat: init's keeps serving. Then a copy started in init's restart
// window, when no fat holds the disk: init's fat is killed until its
// backoff is long (kKillsForBackoff short runs: 1.6 s), a copy starts at
// once, and init's new fat must still get the disk and serve fs_checks.
// With the driver admitting any task running `fat`, the copy took the disk
// in that window and init's new fat was refused (its mount gave up, and
// fs_checks failed). The copy, refused for 30 s, then ends
// with status 2 (servers/fat/main.cpp kExitRefused).
HERALD_SELFTEST(alone_a_copy_of_fat_cannot_take_the_disk_from_inits)
{
    // Short runs in a row before init waits kFirstBackoffMs x 2^4 = 1.6 s
    // (user/init/manifest.cpp Backoff: the first is restarted at once).
    constexpr int kKillsForBackoff = 6;
    (void)start_system(false);
    InitWithTheDisk started = start_init_with_the_disk();
    u64 init = started.init, driver = started.driver, fat = started.fat;
    if (!init || !driver || !fat)
        return;

    check_a_copy_of_init_cannot_reserve(fat, driver);

    u64 beside = spawn("fat"); // a copy beside init's: refused, and init's goes on
    EXPECT(beside != 0);
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0);
    EXPECT(kill_task(beside));
    EXPECT(wait_for_exit(beside, kPatienceMs).has_value());

    for (int kill = 0; kill < kKillsForBackoff; ++kill) {
        EXPECT(kill_task(fat));
        EXPECT(wait_for_exit(fat, kPatienceMs).has_value());
        if (kill + 1 == kKillsForBackoff)
            break;
        u64 ended = fat;
        EXPECT(eventually([&] { return (fat = running_task_named("fat", ended)) != 0; }, kPatienceMs));
    }
    u64 stray = spawn("fat"); // in the window: no fat holds the disk
    EXPECT(stray != 0);
    u64 ended = fat;
    EXPECT(eventually([&] { return (fat = running_task_named("fat", stray)) != 0 && fat != ended; }, kPatienceMs));
    klog("selftest: init's fat is task {}, the copy task {}", fat, stray);
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0); // served by init's new fat

    // Refused for fat's whole patience (servers/fat/main.cpp
    // kRefusedPatienceMs, 30 s), the copy ends with kExitRefused (2) rather
    // than stay published with no volume: init's own fat, so refused, would
    // be started again by init.
    constexpr u64 kStrayEndsWithinMs = 45'000;
    constexpr i64 kFatExitRefused = 2;
    auto stray_end = wait_for_exit(stray, kStrayEndsWithinMs);
    EXPECT(stray_end.has_value());
    if (stray_end) {
        EXPECT(!stray_end->killed);
        EXPECT_EQ(stray_end->status, kFatExitRefused);
    }
    EXPECT_EQ(run_to_exit("fs_checks", kFsSums, -9999, 120'000), 0); // init's fat goes on

    (void)kill_task(stray);
    end_init_and_its_pingers(init);
    (void)kill_task(fat);
    (void)kill_task(driver);
}

HERALD_SELFTEST(alone_virtio_blk_reads_writes_and_survives_a_killed_driver)
{
    // Alone in its boot: the registry, the console, the loader and the PCI
    // server are started here (as bootstrap does).
    EXPECT(start_system(false).pci != 0);
    u32 vectors_before = msi_vectors_in_use();
    u64 driver = start_driver();
    EXPECT(driver != 0);
    u64 messages = 0, line_interrupts = 0;
    EXPECT_EQ(timed_blk_checks("msi-x", messages, line_interrupts), 0);
    EXPECT(messages > 0); // interrupt-driven, not polled
    EXPECT_EQ(line_interrupts, 0u); // with MSI-X on, the function raises no INTx
    EXPECT_EQ(disk_intx_disabled(), 1); // nobody asked for its line: disabled since the server's start
    // Raw sectors are for the driver's clients alone: another program is
    // Denied Info, Read, Write, Flush and the internal Poll, and the driver
    // goes on serving its client.
    EXPECT_EQ(run_to_exit("hostile_driver", kHostileAlsoTheDisk), 0);
    EXPECT_EQ(run_to_exit("blk_checks", kBlkChecks), 0);

    u64 hammer = spawn_with("blk_checks", kBlkHammer);
    EXPECT(hammer != 0);
    scheduler_sleep_ms(500); // reads in flight by now
    EXPECT(!find_exit(hammer).has_value());
    EXPECT(kill_task(driver));
    EXPECT(wait_for_exit(driver, 30'000).has_value());
    auto exit = wait_for_exit(hammer, 30'000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // PeerGone, after good reads
    }

    // A hostile driver of another function (virtio-rng, 64 MSI-X entries)
    // tries to take every MSI vector while no disk driver runs, and holds
    // what it got while a new one starts (docs/security.md, "MSI vectors").
    Ref<Notification> drained = Notification::create();
    Ref<Notification> go = Notification::create();
    EXPECT(drained.ptr() && go.ptr());
    u64 drainer = 0;
    if (drained.ptr() && go.ptr()) {
        SpawnOptions options;
        options.parameter = kDeviceChecksMsixDrain;
        // Both with the receive right: a notification nobody may wait on refuses signals.
        options.handles[0] = InitialHandle { drained.ptr(), abi::RightSend | abi::RightReceive, 0, abi::HandleFirstFree };
        options.handles[1] = InitialHandle { go.ptr(), abi::RightSend | abi::RightReceive, 0, abi::HandleFirstFree + 1 };
        drainer = spawn("device_checks", options);
        EXPECT(drainer != 0);
        EXPECT(eventually([&] { return drained->take_bits() != 0; }, 60'000));
        // The drainer's cap, no more (the dead driver's vector went back
        // at the PCI server's sweep, before the drainer's first answer).
        EXPECT(eventually([&] { return msi_vectors_in_use() == vectors_before + kMsixCapPerFunction; }, 5'000));
        klog("selftest: MSI vectors in use: {} before, {} with the drainer", vectors_before, msi_vectors_in_use());
    }

    // Everything goes on: a new driver gets the device (the PCI server saw
    // the first one end) and serves the disk again, on an MSI vector of its
    // own beside the drainer's.
    u64 again = start_driver();
    EXPECT(again != 0);
    EXPECT_EQ(timed_blk_checks("msi-x again", messages, line_interrupts), 0);
    EXPECT(messages > 0); // a new vector, written by the PCI server after the sweep, the drainer still there
    if (drainer) {
        go->signal(1);
        auto drained_exit = wait_for_exit(drainer, 30'000);
        EXPECT(drained_exit.has_value());
        if (drained_exit) {
            EXPECT(!drained_exit->killed);
            EXPECT_EQ(drained_exit->status, 0); // its checks: one vector per entry, QuotaExceeded past the cap
        }
    }
    EXPECT(kill_task(again));
    EXPECT(wait_for_exit(again, 30'000).has_value());

    // Without MSI-X: the dead driver's MSI-X was turned off, so no message
    // comes, and the disk is served through its INTx line. The interrupts
    // must arrive: the driver polls only until the first one (a line routed
    // wrong, as the firmware's interrupt-line register was on q35, left it
    // polling every 5 ms, and no line interrupt at all).
    u64 legacy = start_driver(kDriverNoMsix);
    EXPECT(legacy != 0);
    EXPECT_EQ(timed_blk_checks("intx", messages, line_interrupts), 0);
    EXPECT_EQ(messages, 0u);
    EXPECT(line_interrupts > 0);
    // The PCI server saw the drainer and the second driver end (its sweep at
    // the legacy driver's requests): their entries masked, and every vector
    // back in the kernel's pool.
    EXPECT(eventually([&] { return msi_vectors_in_use() == vectors_before; }, 5'000));
    EXPECT_EQ(disk_intx_disabled(), 0); // enabled for the driver that got the line
    // Another function on the same GSI would get the same line: refused
    // while the driver holds it.
    EXPECT(second_binding_busy(kDiskLineOnQ35));
    // A second run: the line still arrives after many acknowledges, with no
    // polling left to hide a lost one.
    EXPECT_EQ(timed_blk_checks("intx again", messages, line_interrupts), 0);
    EXPECT(line_interrupts > 0);
    EXPECT(kill_task(legacy));
    EXPECT(wait_for_exit(legacy, 30'000).has_value());
    // Its binding ends with its Interrupt object, once the PCI server has
    // closed its own copy of the handle too (at its next request: the new
    // driver's Claim): a new driver binds the line and hears it.
    u64 next = start_driver(kDriverNoMsix);
    EXPECT(next != 0);
    EXPECT_EQ(timed_blk_checks("intx after a restart", messages, line_interrupts), 0);
    EXPECT(line_interrupts > 0);
    EXPECT(kill_task(next));
}
