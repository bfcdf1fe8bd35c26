// hostile_driver: a driver with no line in init.manifest asks the PCI server
// for devices (docs/drivers.md, "Authority"): ports, an interrupt line, a
// function and its BAR and line. Every request must be Denied, and the
// server must go on answering List. The self-test
// a_driver_asking_beyond_its_grant_is_refused runs it; exits with the
// number of checks that failed (each printed to the kernel log).
//
// With argument 1 (kAlsoTheClock; tests/system/rtc-date.sh runs it so from
// the shell, while init's rtc driver runs) it also goes after the clock
// (docs/drivers.md, "Writing a driver"): the CMOS ports and IRQ 8 are still
// Denied while their driver holds them, it cannot publish the name "rtc"
// (init started the rtc task: the name is reserved for it), the driver's
// internal Tick request is refused to it, and the driver still answers Now.
//
// With argument 2 (kAlsoTheDisk; the self-test alone_virtio_blk_... and
// tests/system/disk-session.sh run it so, while the virtio-blk driver
// serves) it goes after the disk (docs/security.md, "The disk"): it finds
// "virtio-blk" in the registry and asks it for Info, a Read, a Write, a
// Flush and the driver's internal Poll: every one must be Denied (the
// driver serves only the FAT server, and its test clients).
#include <stdint.h>

#include "libipc/protocols/block.hpp"
#include "libipc/protocols/clock.hpp"
#include "libipc/protocols/registry.hpp"
#include "servers/pci/pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;

int64_t g_failures;

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        (void)user::debug_write("hostile_driver: FAILED:");
        (void)user::debug_write(what);
    }
}

template<typename T>
bool denied(const ipc::Result<T>& result) { return result.is_error() && result.error() == ipc::Error::Denied; }

constexpr uint64_t kAlsoTheClock = 1;
constexpr uint64_t kAlsoTheDisk = 2;

// The rtc driver's internal request (servers/rtc/main.cpp), forged: only
// its interrupt thread's badged handle may send it.
struct ForgedTick {
    static constexpr uint32_t label = 100;
    struct Request {
        uint64_t interrupted;
    };
    using Reply = ipc::Empty;
};
using ClockWithTick = ipc::Protocol<ipc::clock::Now, ForgedTick>;

void go_after_the_clock()
{
    ipc::Handle rtc = user::find_server("rtc");
    check(rtc != abi::HandleNone, "the rtc driver is in the registry");
    if (rtc == abi::HandleNone)
        return;
    ipc::Client<ClockWithTick> clock(user::ipc(), rtc);
    check(denied(clock.call<ForgedTick>({ 1 })), "a forged Tick is Denied");
    auto endpoint = ipc::sys::endpoint_create();
    check(!endpoint.is_error(), "an endpoint of its own");
    if (!endpoint.is_error()) {
        auto published = ipc::registry::publish(user::ipc(), abi::HandleRegistry, "rtc", endpoint.value());
        check(published.is_error() && published.error() == ipc::registry::kReserved, "publishing \"rtc\" is kReserved");
    }
    auto now = clock.call<ipc::clock::Now>({});
    check(!now.is_error() && now.value().year >= 2000, "the rtc driver still answers Now");
}

// The virtio-blk driver's internal request (servers/virtio-blk/main.cpp),
// forged: only its interrupt thread's handle may send it.
struct ForgedPoll {
    static constexpr uint32_t label = 100;
    struct Request {
        uint64_t interrupted;
    };
    using Reply = ipc::Empty;
};
using BlockWithPoll = ipc::Protocol<ipc::block::Info, ipc::block::Read, ipc::block::Write, ipc::block::Flush, ForgedPoll>;

uint8_t g_sector[ipc::block::kSectorSize];

void go_after_the_disk()
{
    ipc::Handle driver = user::find_server("virtio-blk");
    check(driver != abi::HandleNone, "the virtio-blk driver is in the registry");
    if (driver == abi::HandleNone)
        return;
    ipc::Client<BlockWithPoll> disk(user::ipc(), driver);
    check(denied(disk.call<ipc::block::Info>({})), "the disk's Info is Denied");
    check(denied(disk.call<ipc::block::Read>({ 0, 1 })), "reading the boot sector is Denied");
    check(denied(disk.call<ipc::block::Read>({ 1, ipc::block::kMaxSectors })), "reading 8 sectors is Denied");
    for (uint8_t& byte : g_sector)
        byte = 0xE5;
    check(denied(disk.call<ipc::block::Write>({ { 0 }, ipc::Bytes { g_sector, sizeof g_sector } })),
        "writing the boot sector is Denied");
    check(denied(disk.call<ipc::block::Flush>({})), "Flush is Denied");
    check(denied(disk.call<ForgedPoll>({ 1 })), "a forged Poll is Denied");
}

} // namespace

extern "C" int64_t herald_main(uint64_t mode)
{
    ipc::Handle server = user::find_server("pci");
    check(server != abi::HandleNone, "the pci server is in the registry");
    if (server == abi::HandleNone)
        return g_failures;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    check(denied(pci.call<pci::RequestPorts>({ 0x70, 0x71 })), "the CMOS ports are Denied");
    check(denied(pci.call<pci::RequestPorts>({ 0, 0xFFFF })), "every port is Denied");
    check(denied(pci.call<pci::RequestIrq>({ 8 })), "IRQ 8 is Denied");
    check(denied(pci.call<pci::RequestIrq>({ 4 })), "the console's IRQ 4 is Denied");
    check(denied(pci.call<pci::RequestDma>({ 1 })), "DMA memory is Denied (no dma= grant)");
    uint64_t functions = 0;
    for (uint64_t index = 0; !pci.call<pci::List>({ index }).is_error(); ++index) {
        ++functions;
        check(denied(pci.call<pci::Claim>({ index })), "claiming a function is Denied");
        check(denied(pci.call<pci::RequestBar>({ index, 0 })), "a BAR is Denied");
        check(denied(pci.call<pci::RequestFunctionIrq>({ index })), "a function's line is Denied");
    }
    check(functions > 0, "List still answers");
    auto past = pci.call<pci::Claim>({ 1000 });
    check(past.is_error() && past.error() == ipc::Error::NotFound, "a function past the last is NotFound");
    if (mode == kAlsoTheClock)
        go_after_the_clock();
    if (mode == kAlsoTheDisk)
        go_after_the_disk();
    return g_failures;
}
