// Self-tests of the device capabilities (docs/drivers.md): I/O-port ranges,
// interrupt lines and device memory, each handed to the ring-3 program
// device_checks as a root (the runner plays bootstrap), which restricts,
// enables, binds and maps them and checks every good and bad answer; and
// the ports a task did not enable raise #GP (the TSS bitmap); and MSI
// vectors, driven by IPIs in place of a device's messages.
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/task.hpp"
#include "microkernel/arch/x86_64/lapic.hpp"
#include "microkernel/arch/x86_64/msi.hpp"
#include "microkernel/arch/x86_64/vectors.hpp"
#include "microkernel/ipc/irq.hpp"
#include "microkernel/object/notification.hpp"
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

namespace {

template<typename T>
bool refused(const ErrorOr<T>& result, Error expected)
{
    return result.is_error() && result.error() == expected;
}

} // namespace

// MSI vectors (ipc/irq.hpp), driven from here: a message to the vector is
// played by an IPI with that vector to the boot CPU, which is what the
// device's memory write becomes at the local APIC. Only the root allocates;
// nothing is delivered before the bind; one notification per acknowledge,
// and a message that comes before the acknowledge is not lost; the vector
// is free again when its object ends; the pool runs out with OutOfMemory.
HERALD_SELFTEST(msi_vectors_deliver_once_per_acknowledge_and_lose_nothing)
{
    constexpr u64 kBits = 0x10;
    constexpr u64 kSettleMs = 200;
    u32 in_use = msi_vectors_in_use();
    u64 received = msi_messages_received();
    x86::msi::Message message {};
    auto vector = Interrupt::root().allocate_msi(message);
    EXPECT(!vector.is_error());
    if (vector.is_error())
        return;
    Ref<Interrupt> msi = move(vector.value());
    EXPECT(msi->is_msi());
    EXPECT_EQ(msi->first(), msi->last());
    u8 number = static_cast<u8>(msi->first());
    EXPECT(number >= x86::kVectorFirstMsi && number < x86::kVectorFirstMsi + kMsiVectors);
    u32 apic_id = ~0u;
    u8 decoded = 0;
    EXPECT(x86::msi::decode(message, apic_id, decoded));
    EXPECT_EQ(apic_id, processor(0).apic_id);
    EXPECT_EQ(decoded, number);
    EXPECT_EQ(msi_vectors_in_use(), in_use + 1);

    // Only the root allocates; an MSI object restricts to nothing.
    auto line = Interrupt::root().restrict(8, 8);
    EXPECT(!line.is_error());
    if (!line.is_error())
        EXPECT(refused(line.value()->allocate_msi(message), Error::NotGranted));
    EXPECT(refused(msi->allocate_msi(message), Error::NotGranted));
    EXPECT(refused(msi->restrict(number, number), Error::NotGranted));
    EXPECT(refused(msi->acknowledge(), Error::BadArgument)); // not bound

    Ref<Notification> notification = Notification::create();
    EXPECT(notification.ptr() != nullptr);
    if (!notification.ptr())
        return;
    auto send = [&] { x86::lapic::send_ipi(processor(0).apic_id, number); };
    send(); // before the bind: dropped
    EXPECT(eventually([&] { return msi_messages_received() > received; }, kSettleMs));
    EXPECT(refused(msi->bind(Ref<Notification>(*notification), 0), Error::BadArgument)); // no bits
    EXPECT(!msi->bind(Ref<Notification>(*notification), kBits).is_error());
    EXPECT(refused(msi->bind(Ref<Notification>(*notification), kBits), Error::Busy));
    EXPECT_EQ(notification->take_bits(), 0u);

    send();
    EXPECT(eventually([&] { return notification->take_bits() == kBits; }, kSettleMs));
    u64 before = msi_messages_received();
    send(); // disarmed: remembered, not signalled
    send();
    EXPECT(eventually([&] { return msi_messages_received() >= before + 2; }, kSettleMs));
    EXPECT_EQ(notification->take_bits(), 0u);
    EXPECT(!msi->acknowledge().is_error()); // signals the remembered one at once
    EXPECT_EQ(notification->take_bits(), kBits);
    EXPECT(!msi->acknowledge().is_error()); // none came since: re-armed
    EXPECT_EQ(notification->take_bits(), 0u);
    send();
    EXPECT(eventually([&] { return notification->take_bits() == kBits; }, kSettleMs));

    msi.clear(); // the vector is free again; a message to it is dropped
    EXPECT_EQ(msi_vectors_in_use(), in_use);
    before = msi_messages_received();
    send();
    EXPECT(eventually([&] { return msi_messages_received() > before; }, kSettleMs));
    EXPECT_EQ(notification->take_bits(), 0u);

    // The pool runs out: OutOfMemory, and every vector comes back.
    Ref<Interrupt> all[kMsiVectors];
    u32 taken = 0;
    for (; taken < kMsiVectors; ++taken) {
        auto next = Interrupt::root().allocate_msi(message);
        if (next.is_error())
            break;
        all[taken] = move(next.value());
    }
    EXPECT_EQ(taken, kMsiVectors - in_use);
    EXPECT(refused(Interrupt::root().allocate_msi(message), Error::OutOfMemory));
    for (Ref<Interrupt>& one : all)
        one.clear();
    EXPECT_EQ(msi_vectors_in_use(), in_use);
}
