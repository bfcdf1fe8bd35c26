// The virtio-blk driver in the system (docs/drivers.md, "Testing the
// driver"): run alone (by name), by qemu-selftest-virtio-blk, with the test
// disk (servers/virtio-blk/test_disk.hpp) attached as virtio-blk-pci. The
// driver gets its device from the PCI server (its manifest line grants it),
// blk_checks reads known sectors, writes and reads back, with several
// requests in flight; then the driver is killed while a client is in the
// middle of its reads: the client gets PeerGone, the kernel and the PCI
// server go on, and a new driver serves the disk again. The drivers run on
// MSI-X (the kernel counts the messages it received while blk_checks ran);
// the third, told not to use it, still serves (INTx and polling) and no
// message comes: the PCI server turned the dead driver's MSI-X off. Each
// blk_checks run's guest time is logged ("selftest: virtio-blk ...").
#include "microkernel/arch/x86_64/tsc.hpp"
#include "microkernel/bootstrap.hpp"
#include "microkernel/ipc/irq.hpp"
#include "microkernel/log.hpp"
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
constexpr u64 kDriverNoMsix = 1; // virtio-blk's argument bit 0: INTx and polling

u64 events_of(const EventCounters& counters, Event event) { return counters.values[static_cast<usize>(event)]; }

// blk_checks' status; logs the guest time it took, the MSI messages the
// kernel received meanwhile (in `messages`), and what the kernel did for it
// on every CPU (system calls, IPC messages, context switches, interrupts):
// the cost of polling against interrupts, in counts that do not depend on
// how fast the host is.
i64 timed_blk_checks(const char* mode, u64& messages)
{
    u64 before = msi_messages_received();
    EventCounters events_before = event_counters_sum();
    u64 start = tsc::ms_since_boot().value_or(0);
    i64 status = run_to_exit("blk_checks", kBlkChecks);
    u64 took = tsc::ms_since_boot().value_or(0) - start;
    EventCounters events = event_counters_sum();
    messages = msi_messages_received() - before;
    auto delta = [&](Event event) { return events_of(events, event) - events_of(events_before, event); };
    klog("selftest: virtio-blk {}: blk_checks took {} ms, {} MSI messages", mode, took, messages);
    klog("selftest: virtio-blk {}: syscalls={} ipc={} context_switches={} interrupts={}", mode, delta(Event::Syscalls),
        delta(Event::IpcFast) + delta(Event::IpcFull), delta(Event::ContextSwitches), delta(Event::Interrupts));
    return status;
}

} // namespace

HERALD_SELFTEST(alone_virtio_blk_reads_writes_and_survives_a_killed_driver)
{
    // Alone in its boot: the registry, the console, the loader and the PCI
    // server are started here (as bootstrap does).
    EXPECT(start_system(false).pci != 0);
    u64 driver = spawn_with("virtio-blk", 0);
    EXPECT(driver != 0);
    u64 messages = 0;
    EXPECT_EQ(timed_blk_checks("msi-x", messages), 0);
    EXPECT(messages > 0); // interrupt-driven, not polled

    u64 hammer = spawn_with("blk_checks", kBlkHammer);
    EXPECT(hammer != 0);
    scheduler_sleep_ms(500); // reads in flight by now
    EXPECT(!find_exit(hammer).has_value());
    EXPECT(kill_task(driver));
    auto exit = wait_for_exit(hammer, 30'000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // PeerGone, after good reads
    }

    // Everything goes on: a new driver gets the device (the PCI server saw
    // the first one end) and serves the disk again.
    u64 again = spawn_with("virtio-blk", 0);
    EXPECT(again != 0);
    EXPECT_EQ(timed_blk_checks("msi-x again", messages), 0);
    EXPECT(messages > 0); // a new vector, written by the PCI server after the sweep
    EXPECT(kill_task(again));
    EXPECT(wait_for_exit(again, 30'000).has_value());

    // Without MSI-X: the dead driver's MSI-X was turned off, so no message
    // comes, and the disk is served through the INTx line and polling.
    u64 legacy = spawn_with("virtio-blk", kDriverNoMsix);
    EXPECT(legacy != 0);
    EXPECT_EQ(timed_blk_checks("no msi-x", messages), 0);
    EXPECT_EQ(messages, 0u);
    EXPECT(kill_task(legacy));
}
