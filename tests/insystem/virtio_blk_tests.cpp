// The virtio-blk driver in the system (docs/drivers.md, "Testing the
// driver"): run alone (by name), by qemu-selftest-virtio-blk, with the test
// disk (servers/virtio-blk/test_disk.hpp) attached as virtio-blk-pci. The
// driver gets its device from the PCI server (its manifest line grants it),
// blk_checks reads known sectors, writes and reads back, with several
// requests in flight; then the driver is killed while a client is in the
// middle of its reads: the client gets PeerGone, the kernel and the PCI
// server go on, and a new driver serves the disk again.
#include "microkernel/bootstrap.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/task/task.hpp"
#include "programs.hpp"
#include "selftest.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

constexpr u64 kBlkChecks = 1;
constexpr u64 kBlkHammer = 2;

} // namespace

HERALD_SELFTEST(alone_virtio_blk_reads_writes_and_survives_a_killed_driver)
{
    // Alone in its boot: the registry, the console, the loader and the PCI
    // server are started here (as bootstrap does).
    EXPECT(start_system(false).pci != 0);
    u64 driver = spawn_with("virtio-blk", 0);
    EXPECT(driver != 0);
    EXPECT_EQ(run_to_exit("blk_checks", kBlkChecks), 0);

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
    EXPECT_EQ(run_to_exit("blk_checks", kBlkChecks), 0);
    EXPECT(kill_task(again));
}
