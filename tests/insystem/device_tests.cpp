// Self-tests of the device capabilities (docs/drivers.md): I/O-port ranges,
// interrupt lines and device memory, each handed to the ring-3 program
// device_checks as a root (the runner plays bootstrap), which restricts,
// enables, binds and maps them and checks every good and bad answer; and
// the ports a task did not enable raise #GP (the TSS bitmap).
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/object/device_memory.hpp"
#include "microkernel/object/interrupt.hpp"
#include "microkernel/object/io_port_range.hpp"
#include "microkernel/smp/processor.hpp"
#include "programs.hpp"

using namespace herald;
using namespace herald::selftest;

namespace {

// device_checks' modes (user/programs/device_checks.cpp).
constexpr u64 kModePorts = 1;
constexpr u64 kModePortBeyond = 2;
constexpr u64 kModeNoPorts = 3;
constexpr u64 kModeInterrupt = 4;
constexpr u64 kModeMemory = 5;
constexpr u64 kRootIndex = 3;
constexpr u64 kSecondRootIndex = 4;
constexpr u64 kGeneralProtection = 13;

SpawnOptions with_roots(u64 mode, KernelObject* first, KernelObject* second = nullptr)
{
    SpawnOptions options;
    options.parameter = mode;
    options.cpu = processor_count() > 1 ? 1 : 0;
    options.handles[0] = InitialHandle { first, abi::RightsAll, 0, kRootIndex };
    if (second)
        options.handles[1] = InitialHandle { second, abi::RightsAll, 0, kSecondRootIndex };
    return options;
}

// Runs device_checks to its end; its status, or -9999 if it did not end.
i64 run_checks(const SpawnOptions& options, bool expect_killed = false)
{
    u64 task = spawn("device_checks", options);
    if (!task)
        return -9999;
    auto exit = wait_for_exit(task, 30'000);
    EXPECT(exit.has_value());
    if (!exit)
        return -9999;
    EXPECT_EQ(exit->killed, expect_killed);
    return exit->status;
}

} // namespace

HERALD_SELFTEST(io_port_handles_open_only_their_ports)
{
    EXPECT_EQ(run_checks(with_roots(kModePorts, &IoPortRange::root())), 0);
    // Ports it did not enable, and a task with none after it on the same
    // CPU (whose bitmap must have been closed again): #GP, killed alone.
    EXPECT_EQ(run_checks(with_roots(kModePortBeyond, &IoPortRange::root()), true), abi::fault_status(kGeneralProtection));
    EXPECT_EQ(run_checks(with_roots(kModeNoPorts, &IoPortRange::root()), true), abi::fault_status(kGeneralProtection));
}

HERALD_SELFTEST(interrupt_handles_bind_one_line_masked_until_acknowledged)
{
    EXPECT_EQ(run_checks(with_roots(kModeInterrupt, &Interrupt::root(), &IoPortRange::root())), 0);
    // Its binding ended with it: a second run binds line 8 again.
    EXPECT_EQ(run_checks(with_roots(kModeInterrupt, &Interrupt::root(), &IoPortRange::root())), 0);
}

HERALD_SELFTEST(device_memory_maps_devices_and_refuses_ram_and_the_kernel)
{
    EXPECT_EQ(run_checks(with_roots(kModeMemory, &DeviceMemory::root())), 0);
}
