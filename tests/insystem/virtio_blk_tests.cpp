// The virtio-blk driver in the system (docs/drivers.md, "Testing the
// driver"): run alone (by name), by qemu-selftest-virtio-blk, with the test
// disk (servers/virtio-blk/test_disk.hpp) attached as virtio-blk-pci. The
// driver gets its device from the PCI server (its manifest line grants it),
// blk_checks reads known sectors, writes and reads back, with several
// requests in flight; then the driver is killed while a client is in the
// middle of its reads: the client gets PeerGone, the kernel and the PCI
// server go on, and a new driver serves the disk again. A program the driver
// does not serve (hostile_driver) is Denied every request, while
// blk_checks, which it does serve here, goes on (docs/security.md, "The disk").
#include "microkernel/bootstrap.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/object/system_control.hpp"
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

// The driver as these tests run it: it serves blk_checks too, and holds the
// task list init would give it (tasks=list) where init would put it.
u64 start_driver()
{
    SpawnOptions options;
    options.parameter = kDriverServesTestClients;
    options.handles[0] = InitialHandle { &system_control(), abi::RightReceive, 0, abi::HandleFirstFree };
    return spawn("virtio-blk", options);
}

} // namespace

HERALD_SELFTEST(alone_virtio_blk_reads_writes_and_survives_a_killed_driver)
{
    // Alone in its boot: the registry, the console, the loader and the PCI
    // server are started here (as bootstrap does).
    EXPECT(start_system(false).pci != 0);
    u64 driver = start_driver();
    EXPECT(driver != 0);
    EXPECT_EQ(run_to_exit("blk_checks", kBlkChecks), 0);
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
    auto exit = wait_for_exit(hammer, 30'000);
    EXPECT(exit.has_value());
    if (exit) {
        EXPECT(!exit->killed);
        EXPECT_EQ(exit->status, 0); // PeerGone, after good reads
    }

    // Everything goes on: a new driver gets the device (the PCI server saw
    // the first one end) and serves the disk again.
    u64 again = start_driver();
    EXPECT(again != 0);
    EXPECT_EQ(run_to_exit("blk_checks", kBlkChecks), 0);
    EXPECT(kill_task(again));
}
