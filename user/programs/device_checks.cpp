// device_checks: drives the device capabilities (docs/drivers.md) from ring
// 3 and checks every answer, good and bad. The self-tests
// (tests/insystem/device_tests.cpp) start it with roots of the kernel's in
// handles 3 and 4 (as bootstrap would hand them to a driver's starter) and
// the mode as its argument. Exits with the number of checks that failed
// (each printed to the kernel log), or is killed where the mode means it to.
//
//   ports        (3: I/O ports root) restricts to the PCI configuration
//                ports 0xCF8..0xCFF, enables them and reads the host
//                bridge's vendor id (Intel's, on q35 and i440fx alike);
//                restricting beyond the handle, backwards, without rights
//   port_beyond  (3: I/O ports root) enables 0xCF8..0xCFF, then reads the
//                CMOS port 0x71: must be killed by #GP
//   no_ports     reads 0xCFC with no ports at all: must be killed by #GP
//                (run after `ports` on the same CPU: the bitmap was reset)
//   interrupt    (3: interrupt root, 4: I/O ports root) bad lines, binds
//                and acknowledges; the CMOS clock's periodic interrupt (IRQ
//                8): one notification per acknowledge, none while masked;
//                MSI vectors: only the root allocates one, its message and
//                DeviceInfo, bad pointers, binding and acknowledging
//   memory       (3: device memory root) RAM, the local and I/O APICs, bad
//                alignment, lengths and addresses are refused; the HPET's
//                registers are mapped and its vendor id read
//   driver       (no handles) asks the PCI server for what its line of
//                init.manifest grants (the CMOS ports, IRQ 8, QEMU's
//                display 1234:1111) and gets it; its display's MMIO BAR is
//                mapped and the Bochs VBE id read; more than that is Denied
//   dma          (no handles) asks the PCI server for DMA memory (its line
//                grants dma=16): 4 pages, then 12, contiguous in its DMA
//                window; writes in each page a pattern naming the physical
//                address it was told (the self-test finds the pattern
//                there through the kernel's physmap); 1 page more than the
//                grant, 0 pages, and AllocateDma/ReleaseDma on its own
//                memory handle are refused; the memory service counts 16
//                Dma frames
//   msix_drain   (HandleFirstFree: a notification it signals when done;
//                +1: one it waits on before it ends) a hostile driver of
//                the function its line grants with MSI-X (virtio-rng,
//                1af4:1005 or 1af4:1044: the self-test's QEMU gives it a
//                64-entry table) tries to take the kernel's 64 MSI vectors
//                (docs/security.md, "MSI vectors"): entry 0 asked 64 times
//                must be one vector (DeviceInfo), entries 1-63 are given up
//                to pci::kMaxMsixVectorsPerFunction in all, then refused
//                with QuotaExceeded; it keeps every handle until the self-
//                test (which meanwhile restarts virtio-blk, which must get
//                a vector) says go
//   dma_released (no handles) after a `dma` run ended: asks the PCI server
//                for its list (which stops the dead driver's devices and
//                releases its DMA frames) until the memory service counts
//                no Dma frame, at most 2 s
#include <stdint.h>

#include "libipc/protocols/memory.hpp"

#include "microkernel/abi/device.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/abi/task.hpp"
#include "servers/pci/pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using abi::SyscallError;
using abi::SyscallNumber;
using user::number_of;

enum Mode : uint64_t {
    ModePorts = 1,
    ModePortBeyond = 2,
    ModeNoPorts = 3,
    ModeInterrupt = 4,
    ModeMemory = 5,
    ModeDriver = 6,
    ModeDma = 7,
    ModeDmaReleased = 8,
    ModeMsixDrain = 9,
};

constexpr uint64_t kRootHandle = 3;
constexpr uint64_t kSecondRootHandle = 4;
constexpr uint64_t kMemoryHandle = abi::HandleMemory; // an endpoint (or a service): not a device

// PCI configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2).
constexpr uint16_t kPciAddressPort = 0xCF8;
constexpr uint16_t kPciDataPort = 0xCFC;
constexpr uint16_t kPciLastPort = 0xCFF;
constexpr uint32_t kPciEnable = 1u << 31;
constexpr uint16_t kIntelVendor = 0x8086;
// The CMOS/RTC (MC146818): index at 0x70, data at 0x71; registers A-C.
constexpr uint16_t kCmosIndex = 0x70;
constexpr uint16_t kCmosData = 0x71;
constexpr uint8_t kRtcA = 0x0A, kRtcB = 0x0B, kRtcC = 0x0C;
constexpr uint8_t kRtcPeriodicEnable = 1u << 6; // register B, PIE
constexpr uint8_t kRtcRate64Hz = 0x0A;          // register A, rate 10: 32768 >> 9
constexpr uint64_t kRtcIrq = 8;
// The HPET (IA-PC HPET 1.0a §2.3): where QEMU puts it; the general
// capabilities register's bits 16-31 are the vendor id.
constexpr uint64_t kHpetBase = 0xFED0'0000;
constexpr uint64_t kLocalApicBase = 0xFEE0'0000;
constexpr uint64_t kIoApicBase = 0xFEC0'0000;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMapAt = 0x20'0000'0000; // free user memory, far from heap and stack
constexpr uint64_t kKernelHalf = 0xFFFF'8000'0000'0000;
// The kernel's MSI messages (microkernel/arch/x86_64/msi.hpp, vectors.hpp,
// ipc/irq.hpp: 64 vectors from 0x60).
constexpr uint64_t kMsiAddressBase = 0xFEE0'0000;
constexpr uint64_t kMsiFirstVector = 0x60;
constexpr uint64_t kMsiVectors = 64;

int64_t g_failures;

// One kernel log line: the self-tests run it with or without a console.
void report(const char* prefix, const char* what)
{
    char line[160];
    size_t length = 0;
    const char* parts[] = { prefix, what };
    for (const char* text : parts) {
        while (*text && length < sizeof(line))
            line[length++] = *text++;
    }
    (void)user::debug_write(line, length);
}

void check(bool condition, const char* what)
{
    if (!condition) {
        ++g_failures;
        report("device_checks: FAILED: ", what);
    }
}

int64_t call(SyscallNumber number, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    return user::syscall3(number_of(number), a1, a2, a3);
}

bool is(int64_t result, SyscallError error) { return result == static_cast<int64_t>(error); }

uint32_t inl(uint16_t port)
{
    uint32_t value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
uint8_t inb(uint16_t port)
{
    uint8_t value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }

abi::DeviceInfo info_of(uint64_t handle)
{
    abi::DeviceInfo info {};
    check(call(SyscallNumber::DeviceInfo, handle, reinterpret_cast<uint64_t>(&info)) == 0, "DeviceInfo answers");
    return info;
}

int64_t pci_ports()
{
    int64_t ports = call(SyscallNumber::IoPortRestrict, kRootHandle, kPciAddressPort, kPciLastPort);
    check(ports > 0, "the root restricts to 0xCF8..0xCFF");
    return ports;
}

void check_ports()
{
    abi::DeviceInfo root = info_of(kRootHandle);
    check(root.kind == abi::DeviceKind::IoPorts && root.first == 0 && root.last == 0xFFFF, "the root covers every port");
    int64_t ports = pci_ports();
    abi::DeviceInfo narrowed = info_of(ports);
    check(narrowed.first == kPciAddressPort && narrowed.last == kPciLastPort, "DeviceInfo tells the restricted range");
    check(is(call(SyscallNumber::IoPortRestrict, ports, 0xCF0, kPciLastPort), SyscallError::NotGranted),
        "a port below the range is NotGranted");
    check(is(call(SyscallNumber::IoPortRestrict, ports, kPciDataPort, 0x10000), SyscallError::NotGranted),
        "a port past 0xFFFF is NotGranted");
    check(is(call(SyscallNumber::IoPortRestrict, ports, kPciLastPort, kPciDataPort), SyscallError::BadArgument),
        "a backward range is BadArgument");
    check(is(call(SyscallNumber::IoPortRestrict, kMemoryHandle, 1, 2), SyscallError::BadHandle),
        "an endpoint is not ports: BadHandle");
    check(is(call(SyscallNumber::IoPortEnable, 200), SyscallError::BadHandle), "no such handle: BadHandle");
    int64_t no_send = call(SyscallNumber::HandleMint, ports, abi::RightGrant, 0);
    check(no_send > 0, "a copy without RightSend");
    check(is(call(SyscallNumber::IoPortEnable, no_send), SyscallError::NoRights), "enabling without RightSend is NoRights");
    int64_t data = call(SyscallNumber::IoPortRestrict, ports, kPciDataPort, kPciLastPort);
    check(data > 0, "a restricted handle restricts further");
    check(call(SyscallNumber::IoPortEnable, ports) == 0, "IoPortEnable");
    outl(kPciAddressPort, kPciEnable); // bus 0, device 0, function 0, register 0
    uint32_t id = inl(kPciDataPort);
    check((id & 0xFFFF) == kIntelVendor, "the host bridge's vendor id reads 0x8086 through the enabled ports");
}

[[noreturn]] void touch_beyond()
{
    check(call(SyscallNumber::IoPortEnable, pci_ports()) == 0, "IoPortEnable");
    (void)inb(kCmosData); // not enabled: #GP
    report("device_checks: FAILED: ", "port 0x71 was readable");
    user::exit(1);
}

[[noreturn]] void touch_without_ports()
{
    (void)inl(kPciDataPort); // no ports at all: #GP
    report("device_checks: FAILED: ", "port 0xCFC was readable without ports");
    user::exit(1);
}

uint8_t cmos_read(uint8_t index)
{
    outb(kCmosIndex, index);
    return inb(kCmosData);
}
void cmos_write(uint8_t index, uint8_t value)
{
    outb(kCmosIndex, index);
    outb(kCmosData, value);
}

int64_t wait_bits(uint64_t notification, uint64_t ms)
{
    return call(SyscallNumber::NotifyWait, notification, static_cast<uint64_t>(abi::WaitMode::Timeout), ms);
}

// InterruptAllocateMsi's answers (the delivery itself is the kernel
// self-test msi_vectors_deliver_once_per_acknowledge_and_lose_nothing's):
// only the root allocates; the message names the boot CPU and the vector.
void check_msi(int64_t line)
{
    abi::MsiMessage message {};
    auto allocate = [&](uint64_t handle, uint64_t out) {
        return call(SyscallNumber::InterruptAllocateMsi, handle, out);
    };
    uint64_t out = reinterpret_cast<uint64_t>(&message);
    check(is(allocate(line, out), SyscallError::NotGranted), "a line's handle allocates no MSI vector");
    check(is(allocate(kMemoryHandle, out), SyscallError::BadHandle), "an endpoint allocates no MSI vector");
    check(is(allocate(kRootHandle, kKernelHalf), SyscallError::BadAddress), "MSI message into the kernel half: BadAddress");
    check(is(allocate(kRootHandle, 0), SyscallError::BadAddress), "MSI message to address 0: BadAddress");
    int64_t msi = allocate(kRootHandle, out);
    check(msi > 0, "the root allocates an MSI vector");
    if (msi <= 0)
        return;
    check((message.address & ~0xFF000ull) == kMsiAddressBase, "the message address is 0xFEE00000 with a destination");
    check(message.data >= kMsiFirstVector && message.data < kMsiFirstVector + kMsiVectors, "the message data is a pool vector");
    abi::DeviceInfo info = info_of(static_cast<uint64_t>(msi));
    check(info.kind == abi::DeviceKind::MsiInterrupt && info.first == message.data && info.last == message.data,
        "DeviceInfo names the vector");
    check(is(allocate(static_cast<uint64_t>(msi), out), SyscallError::NotGranted), "an MSI vector allocates no other");
    check(is(call(SyscallNumber::InterruptRestrict, msi, message.data, message.data), SyscallError::NotGranted),
        "an MSI vector restricts to nothing");
    check(is(call(SyscallNumber::InterruptAck, msi), SyscallError::BadArgument), "acknowledging an unbound vector");
    int64_t notification = call(SyscallNumber::NotificationCreate);
    check(is(call(SyscallNumber::InterruptBind, msi, notification, 0), SyscallError::BadArgument), "an MSI vector: no bits");
    int64_t no_send = call(SyscallNumber::HandleMint, msi, abi::RightGrant, 0);
    check(is(call(SyscallNumber::InterruptBind, no_send, notification, 1), SyscallError::NoRights),
        "binding an MSI vector needs RightSend");
    check(call(SyscallNumber::InterruptBind, msi, notification, 1) == 0, "the MSI vector binds");
    check(is(call(SyscallNumber::InterruptBind, msi, notification, 2), SyscallError::Busy), "a bound vector is Busy");
    check(call(SyscallNumber::InterruptAck, msi) == 0, "InterruptAck of the MSI vector");
    check(is(wait_bits(static_cast<uint64_t>(notification), 50), SyscallError::TimedOut), "no message, no bits");
    (void)call(SyscallNumber::HandleClose, no_send);
    (void)call(SyscallNumber::HandleClose, msi);
    (void)call(SyscallNumber::HandleClose, notification);
}

void check_interrupts()
{
    abi::DeviceInfo root = info_of(kRootHandle);
    check(root.kind == abi::DeviceKind::Interrupt && root.first == 0 && root.last >= 23, "the root covers the I/O APIC's lines");
    check(is(call(SyscallNumber::InterruptRestrict, kRootHandle, 200, 200), SyscallError::NotGranted),
        "line 200 is NotGranted");
    check(is(call(SyscallNumber::InterruptRestrict, kRootHandle, root.last + 1, root.last + 1), SyscallError::NotGranted),
        "the line past the last is NotGranted");
    check(is(call(SyscallNumber::InterruptRestrict, kRootHandle, 9, 8), SyscallError::BadArgument), "backwards: BadArgument");
    int64_t notification = call(SyscallNumber::NotificationCreate);
    check(notification > 0, "a notification");
    check(is(call(SyscallNumber::InterruptBind, kRootHandle, notification, 1), SyscallError::BadArgument),
        "the root cannot be bound");
    int64_t two = call(SyscallNumber::InterruptRestrict, kRootHandle, 8, 9);
    check(is(call(SyscallNumber::InterruptBind, two, notification, 1), SyscallError::BadArgument),
        "two lines cannot be bound");
    int64_t line = call(SyscallNumber::InterruptRestrict, kRootHandle, kRtcIrq, kRtcIrq);
    check(line > 0, "the root restricts to line 8");
    check(is(call(SyscallNumber::InterruptRestrict, line, 9, 9), SyscallError::NotGranted), "line 9 is not in line 8's handle");
    check(is(call(SyscallNumber::InterruptAck, line), SyscallError::BadArgument), "acknowledging an unbound line");
    check(is(call(SyscallNumber::InterruptBind, line, notification, 0), SyscallError::BadArgument), "no bits");
    check(is(call(SyscallNumber::InterruptBind, line, notification, 1ull << 63), SyscallError::BadArgument), "bit 63");
    check(is(call(SyscallNumber::InterruptBind, line, kMemoryHandle, 1), SyscallError::BadHandle), "not a notification");
    check(call(SyscallNumber::InterruptBind, line, notification, 1) == 0, "line 8 binds");
    int64_t again = call(SyscallNumber::InterruptRestrict, kRootHandle, kRtcIrq, kRtcIrq);
    check(is(call(SyscallNumber::InterruptBind, again, notification, 2), SyscallError::Busy), "a bound line is Busy");
    check(is(call(SyscallNumber::InterruptAck, again), SyscallError::BadArgument), "another handle cannot acknowledge it");

    // The CMOS clock's periodic interrupt, 64 times a second.
    int64_t cmos = call(SyscallNumber::IoPortRestrict, kSecondRootHandle, kCmosIndex, kCmosData);
    check(cmos > 0 && call(SyscallNumber::IoPortEnable, cmos) == 0, "the CMOS ports");
    if (g_failures)
        return;
    cmos_write(kRtcA, static_cast<uint8_t>((cmos_read(kRtcA) & 0xF0) | kRtcRate64Hz));
    cmos_write(kRtcB, static_cast<uint8_t>(cmos_read(kRtcB) | kRtcPeriodicEnable));
    (void)cmos_read(kRtcC); // clears the flag: the next period raises the line
    check(wait_bits(notification, 3000) == 1, "the first interrupt arrives as bit 0");
    (void)cmos_read(kRtcC); // the device stops asking; the line stays masked
    check(is(wait_bits(notification, 300), SyscallError::TimedOut), "no interrupt before the acknowledge");
    check(call(SyscallNumber::InterruptAck, line) == 0, "InterruptAck");
    (void)cmos_read(kRtcC); // an edge lost while masked left the flag set
    check(wait_bits(notification, 3000) == 1, "the next interrupt arrives after the acknowledge");
    cmos_write(kRtcB, static_cast<uint8_t>(cmos_read(kRtcB) & ~kRtcPeriodicEnable));
    (void)cmos_read(kRtcC);
    check(call(SyscallNumber::InterruptAck, line) == 0, "InterruptAck");
    check_msi(line);
}

int64_t memory(uint64_t base, uint64_t length)
{
    return call(SyscallNumber::DeviceMemoryRestrict, kRootHandle, base, length);
}

void check_memory()
{
    abi::DeviceInfo root = info_of(kRootHandle);
    check(root.kind == abi::DeviceKind::DeviceMemory && root.first == 0, "the root covers physical memory");
    check(is(memory(0x10'0000, kPage), SyscallError::NotDeviceMemory), "the kernel's image (RAM) is NotDeviceMemory");
    check(is(memory(0, kPage), SyscallError::NotDeviceMemory), "low RAM is NotDeviceMemory");
    check(is(memory(0x800'0000, 16 * kPage), SyscallError::NotDeviceMemory), "the memory server's RAM is NotDeviceMemory");
    check(is(memory(kHpetBase - kPage, 64 * 1024 * 1024), SyscallError::NotDeviceMemory),
        "a range over the I/O and local APICs is NotDeviceMemory");
    check(is(memory(kLocalApicBase, kPage), SyscallError::NotDeviceMemory), "the local APIC is NotDeviceMemory");
    check(is(memory(kIoApicBase, kPage), SyscallError::NotDeviceMemory), "the I/O APIC is NotDeviceMemory");
    check(is(memory(kHpetBase + 8, kPage), SyscallError::BadArgument), "an unaligned base is BadArgument");
    check(is(memory(kHpetBase, 100), SyscallError::BadArgument), "an unaligned length is BadArgument");
    check(is(memory(kHpetBase, 0), SyscallError::BadLength), "length 0 is BadLength");
    check(is(memory(1ull << 60, kPage), SyscallError::NotGranted), "beyond physical addresses is NotGranted");
    check(is(memory(~0ull - kPage + 1, 2 * kPage), SyscallError::NotGranted), "a wrapping range is NotGranted");
    int64_t hpet = memory(kHpetBase, kPage);
    check(hpet > 0, "the HPET's page is device memory");
    if (hpet <= 0)
        return;
    check(is(call(SyscallNumber::DeviceMemoryRestrict, hpet, kHpetBase, 2 * kPage), SyscallError::NotGranted),
        "a restricted handle does not grow");
    check(is(call(SyscallNumber::DeviceMemoryMap, kRootHandle, kMapAt), SyscallError::NotDeviceMemory), "the root cannot be mapped");
    check(is(call(SyscallNumber::DeviceMemoryMap, hpet, kKernelHalf), SyscallError::BadAddress), "the kernel half is BadAddress");
    check(is(call(SyscallNumber::DeviceMemoryMap, hpet, abi::kUserSpaceEnd), SyscallError::BadAddress), "the physmap is BadAddress");
    check(is(call(SyscallNumber::DeviceMemoryMap, hpet, abi::kUserSpaceEnd - kPage / 2), SyscallError::BadAddress),
        "an unaligned address is BadAddress");
    check(is(call(SyscallNumber::DeviceMemoryMap, hpet, abi::kUserCodeBase), SyscallError::BadAddress),
        "over the program's code is BadAddress");
    int64_t no_send = call(SyscallNumber::HandleMint, hpet, abi::RightGrant, 0);
    check(is(call(SyscallNumber::DeviceMemoryMap, no_send, kMapAt), SyscallError::NoRights), "mapping without RightSend");
    check(call(SyscallNumber::DeviceMemoryMap, hpet, kMapAt) == 0, "the HPET maps");
    uint32_t capabilities = *reinterpret_cast<volatile uint32_t*>(kMapAt);
    check((capabilities >> 16) == kIntelVendor, "the HPET's vendor id reads 0x8086 through the mapping");
    check(is(call(SyscallNumber::DeviceMemoryMap, hpet, kMapAt), SyscallError::BadAddress), "mapping twice at one place");
    check(is(call(SyscallNumber::SetIpcBuffer, kMapAt), SyscallError::BadAddress), "device memory is no IPC buffer");
}

// QEMU's standard VGA (1234:1111): BAR 2 is its MMIO page, whose Bochs VBE
// registers start at 0x500; register 0 is the interface id, 0xB0C0-0xB0C5.
constexpr uint16_t kQemuVendor = 0x1234, kQemuVga = 0x1111;
constexpr uint64_t kVgaMmioBar = 2;
constexpr uint64_t kBochsVbeId = 0x500;

template<typename T>
bool denied(const ipc::Result<T>& result) { return result.is_error() && result.error() == ipc::Error::Denied; }

void check_driver()
{
    ipc::Handle server = user::find_server("pci");
    check(server != abi::HandleNone, "the pci server is in the registry");
    if (server == abi::HandleNone)
        return;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    auto ports = pci.call<pci::RequestPorts>({ kCmosIndex, kCmosData });
    check(!ports.is_error(), "the granted ports 0x70-0x71");
    if (!ports.is_error()) {
        check(call(SyscallNumber::IoPortEnable, ports.value().handle) == 0, "the granted ports enable");
        (void)cmos_read(kRtcA); // #GP, and a kill, if they were not open
    }
    check(denied(pci.call<pci::RequestPorts>({ kCmosIndex, kCmosData + 1 })), "one port more is Denied");
    check(denied(pci.call<pci::RequestPorts>({ 0x60, 0x60 })), "the keyboard's port is Denied");
    auto irq = pci.call<pci::RequestIrq>({ kRtcIrq });
    check(!irq.is_error(), "the granted IRQ 8");
    if (!irq.is_error()) {
        abi::DeviceInfo info = info_of(irq.value().handle);
        check(info.kind == abi::DeviceKind::Interrupt && info.first == kRtcIrq && info.last == kRtcIrq, "IRQ 8's handle covers line 8");
    }
    check(denied(pci.call<pci::RequestIrq>({ 9 })), "IRQ 9 is Denied");

    abi::SelfInfo self {};
    (void)user::self_info(&self);
    bool claimed_display = false;
    bool refused_other = false;
    for (uint64_t index = 0;; ++index) {
        auto function = pci.call<pci::List>({ index });
        if (function.is_error())
            break;
        if (function.value().vendor != kQemuVendor || function.value().device_id != kQemuVga) {
            if (!refused_other) {
                check(denied(pci.call<pci::Claim>({ index })), "a function not granted cannot be claimed");
                check(denied(pci.call<pci::RequestBar>({ index, 0 })), "nor its BARs asked for");
                refused_other = true;
            }
            continue;
        }
        check(denied(pci.call<pci::RequestBar>({ index, kVgaMmioBar })), "a BAR before the claim is Denied");
        check(!pci.call<pci::Claim>({ index }).is_error(), "the granted display is claimed");
        check(pci.call<pci::List>({ index }).value().holder == self.task_id, "List names the claimer");
        auto bar = pci.call<pci::RequestBar>({ index, kVgaMmioBar });
        check(!bar.is_error(), "the display's MMIO BAR");
        if (bar.is_error())
            report("device_checks: the BAR was refused: ", ipc::error_name(bar.error()));
        if (!bar.is_error()) {
            check(call(SyscallNumber::DeviceMemoryMap, bar.value().handle, kMapAt) == 0, "the BAR maps");
            uint16_t id = *reinterpret_cast<volatile uint16_t*>(kMapAt + kBochsVbeId);
            check((id & 0xFFF0) == 0xB0C0, "the Bochs VBE id reads 0xB0Cx through the BAR");
        }
        claimed_display = true;
    }
    check(claimed_display, "QEMU's display was listed");
    check(refused_other, "another function was listed");
}

// What the self-test looks for in each DMA page, through the physmap
// (tests/insystem/system_tests.cpp): the magic, the physical address the
// page was said to have, its index.
constexpr uint64_t kDmaMagic = 0x444D'4143'4845'434B; // "DMACHECK"
constexpr uint64_t kDmaGrant = 16;                    // init.manifest: dma=16
// Not at the page's start: the kernel's reclaim queue links a dead task's
// frames through their first word (microkernel/mm/reclaim_queue.cpp).
constexpr uint64_t kDmaPatternWord = 64;

void fill_dma(const pci::RequestDma::Reply& block, uint64_t pages)
{
    for (uint64_t i = 0; i < pages; ++i) {
        auto* page = reinterpret_cast<volatile uint64_t*>(block.address + i * kPage);
        check(page[0] == 0 && page[kPage / 8 - 1] == 0, "DMA memory comes zeroed");
        volatile uint64_t* words = page + kDmaPatternWord;
        words[0] = kDmaMagic;
        words[1] = block.physical + i * kPage;
        words[2] = i;
    }
}

uint64_t dma_frames()
{
    auto stats = ipc::memory::stats(user::ipc());
    return stats.is_error() ? ~0ull : stats.value().dma;
}

void check_dma()
{
    ipc::Handle server = user::find_server("pci");
    check(server != abi::HandleNone, "the pci server is in the registry");
    if (server == abi::HandleNone)
        return;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    auto first = pci.call<pci::RequestDma>({ 4 });
    check(!first.is_error(), "4 pages of DMA memory");
    if (first.is_error()) {
        report("device_checks: RequestDma: ", ipc::error_name(first.error()));
        return;
    }
    check(first.value().address == abi::kUserDmaBase, "the first block is at the DMA window's start");
    check(first.value().physical % kPage == 0 && first.value().physical != 0, "a page-aligned physical address");
    fill_dma(first.value(), 4);
    auto second = pci.call<pci::RequestDma>({ kDmaGrant - 4 });
    check(!second.is_error(), "the rest of the grant");
    if (!second.is_error()) {
        check(second.value().address == abi::kUserDmaBase + 4 * kPage, "the second block follows the first");
        fill_dma(second.value(), kDmaGrant - 4);
    }
    check(denied(pci.call<pci::RequestDma>({ 1 })), "a page beyond dma=16 is Denied");
    check(denied(pci.call<pci::RequestDma>({ ~0ull })), "a huge request is Denied");
    auto none = pci.call<pci::RequestDma>({ 0 });
    check(none.is_error() && none.error() == ipc::Error::InvalidRequest, "0 pages are InvalidRequest");
    ipc::Client<ipc::memory::Protocol> memory(user::ipc(), abi::HandleMemory);
    abi::SelfInfo self {};
    (void)user::self_info(&self);
    check(denied(memory.call<ipc::memory::AllocateDma>({ self.task_id, 1 })), "AllocateDma on its own memory handle is Denied");
    check(denied(memory.call<ipc::memory::ReleaseDma>({ self.task_id })), "ReleaseDma on its own memory handle is Denied");
    check(dma_frames() == kDmaGrant, "the memory service counts 16 Dma frames");
    // Its display, claimed: bus mastering on (the self-test reads it) until
    // the PCI server sees this driver ended.
    bool claimed = false;
    for (uint64_t index = 0; !claimed; ++index) {
        auto function = pci.call<pci::List>({ index });
        if (function.is_error())
            break;
        if (function.value().vendor == kQemuVendor && function.value().device_id == kQemuVga)
            claimed = !pci.call<pci::Claim>({ index }).is_error();
    }
    check(claimed, "the granted display is claimed");
}

void check_dma_released()
{
    ipc::Handle server = user::find_server("pci");
    check(server != abi::HandleNone, "the pci server is in the registry");
    if (server == abi::HandleNone)
        return;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    check(dma_frames() == kDmaGrant, "a dead driver's DMA frames stay out until the PCI server stopped its devices");
    for (int attempt = 0; attempt < 200 && dma_frames() != 0; ++attempt) {
        (void)pci.call<pci::List>({ 0 }); // the server sweeps before answering
        (void)user::sleep_ms(10);
    }
    check(dma_frames() == 0, "the dead driver's DMA frames are released after its devices stopped");
}

// virtio-rng (VIRTIO 1.1 §4.1.2: transitional 0x1005, modern 0x1040 + 4).
constexpr uint16_t kVirtioVendor = 0x1AF4, kVirtioRngTransitional = 0x1005, kVirtioRngModern = 0x1044;
constexpr uint64_t kDrainRepeats = 64;    // the kernel's whole pool (microkernel/ipc/irq.hpp kMsiVectors)
constexpr uint64_t kDrainEntries = 64;    // the table QEMU's vectors=64 gives
constexpr uint64_t kDoneBit = 1;
constexpr uint64_t kGoWaitMs = 300'000;
constexpr uint64_t kDoneHandle = abi::HandleFirstFree;
constexpr uint64_t kGoHandle = abi::HandleFirstFree + 1;

void drain_msix()
{
    ipc::Handle server = user::find_server("pci");
    check(server != abi::HandleNone, "the pci server is in the registry");
    if (server == abi::HandleNone)
        return;
    ipc::Client<pci::Protocol> pci(user::ipc(), server);
    uint64_t index = 0;
    bool found = false;
    for (;; ++index) {
        auto function = pci.call<pci::List>({ index });
        if (function.is_error())
            break;
        const auto& f = function.value();
        if (f.vendor == kVirtioVendor && (f.device_id == kVirtioRngTransitional || f.device_id == kVirtioRngModern)) {
            found = true;
            break;
        }
    }
    check(found, "a virtio-rng function is listed");
    if (!found || pci.call<pci::Claim>({ index }).is_error()) {
        check(false, "the granted virtio-rng function is claimed");
        return;
    }
    // Entry 0, again and again: one vector, not a new one each time.
    uint64_t first_vector = 0;
    for (uint64_t i = 0; i < kDrainRepeats; ++i) {
        auto vector = pci.call<pci::RequestFunctionMsix>({ index, 0 });
        if (vector.is_error()) {
            report("device_checks: entry 0 again: ", ipc::error_name(vector.error()));
            check(false, "entry 0 asked again gets its vector");
            break;
        }
        abi::DeviceInfo info = info_of(vector.value().handle);
        if (i == 0)
            first_vector = info.first;
        check(info.kind == abi::DeviceKind::MsiInterrupt && info.first == first_vector, "entry 0 keeps one vector");
    }
    // The other entries: up to the cap, then QuotaExceeded.
    uint64_t given = 1;
    for (uint64_t entry = 1; entry < kDrainEntries; ++entry) {
        auto vector = pci.call<pci::RequestFunctionMsix>({ index, entry });
        if (!vector.is_error()) {
            ++given;
            continue;
        }
        if (vector.error() != ipc::Error::QuotaExceeded)
            report("device_checks: another entry: ", ipc::error_name(vector.error()));
        check(vector.error() == ipc::Error::QuotaExceeded, "an entry beyond the cap is QuotaExceeded");
    }
    check(given == pci::kMaxMsixVectorsPerFunction, "the function got kMaxMsixVectorsPerFunction vectors");
}

void drain_msix_and_hold()
{
    drain_msix();
    // Holds every handle while the self-test restarts virtio-blk.
    (void)call(SyscallNumber::NotifySignal, kDoneHandle, kDoneBit);
    (void)call(SyscallNumber::NotifyWait, kGoHandle, static_cast<uint64_t>(abi::WaitMode::Timeout), kGoWaitMs);
}

} // namespace

extern "C" int64_t herald_main(uint64_t mode)
{
    switch (mode) {
    case ModePorts: check_ports(); break;
    case ModePortBeyond: touch_beyond();
    case ModeNoPorts: touch_without_ports();
    case ModeInterrupt: check_interrupts(); break;
    case ModeMemory: check_memory(); break;
    case ModeDriver: check_driver(); break;
    case ModeDma: check_dma(); break;
    case ModeDmaReleased: check_dma_released(); break;
    case ModeMsixDrain: drain_msix_and_hold(); break;
    default: check(false, "a known mode");
    }
    return g_failures;
}
