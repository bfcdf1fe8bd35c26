// pci: the PCI server (pci_protocol.hpp, docs/drivers.md). The kernel starts
// it with the roots of the device capabilities and segment 0's ECAM area;
// it maps that area (or opens ports 0xCF8..0xCFF when there is none), walks
// every bus once, logs what it found and serves List; it hands drivers
// ports, interrupt lines and functions (their BARs and line) as far as
// their line of init.manifest grants them (docs/drivers.md, "Authority").
#include <stdint.h>

#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/memory.hpp"
#include "libipc/protocols/registry.hpp"
#include "libvirtio/virtio_pci.hpp"
#include "microkernel/abi/device.hpp"
#include "microkernel/abi/task.hpp"
#include "user/init/manifest.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "msix_vectors.hpp"
#include "intx_route.hpp"
#include "pci_config.hpp"
#include "pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;

constexpr uint64_t kEcamAt = 0x30'0000'0000; // free user memory for the mapped area
constexpr uint64_t kMsixTablesAt = 0x31'0000'0000; // function i's MSI-X table at + i x kMsixTableSpacing
constexpr uint64_t kMsixTableSpacing = 1ull << 20; // 2048 entries (32 KiB) and the page offset fit
constexpr uint64_t kVirtioCommonAt = 0x32'0000'0000; // function i's virtio common configuration at + i x kMsixTableSpacing
constexpr uint64_t kBusMask = 0xFF;
constexpr uint64_t kAreaAlignment = 1ull << 20;
constexpr uint16_t kConfigAddressPort = 0xCF8;
constexpr uint16_t kConfigDataPort = 0xCFC;
constexpr uint16_t kConfigLastPort = 0xCFF;
constexpr size_t kMaxFunctions = 256;
// Where BARs the firmware left unassigned go (qboot assigns none): the top
// of QEMU's 32-bit PCI window on q35 and i440fx, below the I/O APIC; ports
// from 0xC000, above every legacy device. The kernel refuses RAM anyway.
constexpr uint64_t kBarWindow = 0xE000'0000;
constexpr uint64_t kBarWindowEnd = 0xFEC0'0000;
constexpr uint64_t kIoWindow = 0xC000;
constexpr uint64_t kIoWindowEnd = 0x1'0000;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kConfigHeaderBytes = 256; // what ReadConfig reads: PCI 3.0's whole header
// A virtio reset at Claim: device_status read up to kResetPolls times, 1 ms
// apart (~100 ms), before the function is refused as not reset.
constexpr uint32_t kResetPolls = 100;
constexpr uint64_t kResetPollMs = 1;

int64_t call(abi::SyscallNumber number, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    return user::syscall3(number_of(number), a1, a2, a3);
}

class EcamConfig final : public pci::ConfigSpace {
public:
    EcamConfig(uint64_t base, uint8_t start_bus) : m_base(base), m_start_bus(start_bus) { }
    uint32_t read32(pci::Address address, uint16_t offset) override { return *at(address, offset); }
    void write32(pci::Address address, uint16_t offset, uint32_t value) override { *at(address, offset) = value; }

private:
    volatile uint32_t* at(pci::Address address, uint16_t offset)
    {
        return reinterpret_cast<volatile uint32_t*>(m_base + pci::ecam_offset(address, offset, m_start_bus));
    }
    uint64_t m_base;
    uint8_t m_start_bus;
};

class PortConfig final : public pci::ConfigSpace {
public:
    uint32_t read32(pci::Address address, uint16_t offset) override
    {
        outl(kConfigAddressPort, pci::port_address(address, offset));
        uint32_t value;
        asm volatile("inl %1, %0" : "=a"(value) : "Nd"(kConfigDataPort));
        return value;
    }
    void write32(pci::Address address, uint16_t offset, uint32_t value) override
    {
        outl(kConfigAddressPort, pci::port_address(address, offset));
        outl(kConfigDataPort, value);
    }

private:
    static void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
};

pci::Function g_functions[kMaxFunctions];
size_t g_count;
pci::ConfigSpace* g_config;
pci::Chipset g_chipset; // whose INTx routes RequestFunctionIrq knows (intx_route.hpp)
bool g_bus_master[kMaxFunctions]; // turned on by this server for its holder
bool g_msix_on[kMaxFunctions];    // MSI-X enabled by this server for its holder
volatile uint32_t* g_msix_tables[kMaxFunctions]; // mapped at the first RequestFunctionMsix
pci::MsixVectors<kMaxFunctions> g_msix_vectors;  // each entry's vector while its holder runs
volatile uint8_t* g_virtio_common[kMaxFunctions]; // mapped at the first Claim of a virtio function
// INTx: every function starts with Interrupt Disable set (herald_main); only
// the one whose RequestFunctionIrq succeeded has it clear (g_intx_on), and
// it owns its line (g_line_owners) while its driver runs.
bool g_intx_on[kMaxFunctions];
pci::IntxLineOwners g_line_owners;
// Drivers that got DMA memory, and how much: until the memory service has
// released their frames (after they ended and their devices were stopped).
struct DmaUser {
    uint64_t task; // 0: a free slot
    uint64_t pages;
};
constexpr size_t kMaxDmaUsers = 32;
DmaUser g_dma_users[kMaxDmaUsers];

// The policy: init.manifest, read through the loader at the first request
// (the loader may not serve yet when the kernel starts this server).
init::Manifest g_manifest;
bool g_manifest_read;
abi::TaskListEntry g_tasks[1024];
uint64_t g_holders[kMaxFunctions]; // task id of each function's driver, 0: none
// A handle handed out in a reply is closed at the next request: the reply
// (sent after the handler returns) still needs it.
int64_t g_handed_out;

void read_manifest()
{
    if (g_manifest_read)
        return;
    ipc::Handle loader_handle = user::find_server("loader");
    if (loader_handle == abi::HandleNone)
        return;
    ipc::Client<ipc::loader::Protocol> loader(user::ipc(), loader_handle);
    auto text = loader.call<ipc::loader::ReadFile>(ipc::loader::make_name("init.manifest").value());
    if (!text.is_error()) {
        (void)init::parse_manifest(reinterpret_cast<const char*>(text.value().data), text.value().length, g_manifest,
            nullptr, 0);
        g_manifest_read = true;
    }
    (void)ipc::sys::handle_close(loader_handle);
}

// Whether task `id` still runs, and its program's name into `name`.
bool task_name(uint64_t id, char (&name)[sizeof(abi::TaskListEntry::name) + 1])
{
    int64_t count = call(abi::SyscallNumber::TaskList, pci::kTaskListHandle, reinterpret_cast<uint64_t>(g_tasks), 1024);
    for (int64_t i = 0; i < count; ++i) {
        const abi::TaskListEntry& t = g_tasks[i];
        if (t.task_id != id || t.state != abi::TaskState::Running)
            continue;
        for (size_t j = 0; j < sizeof(t.name); ++j)
            name[j] = t.name[j];
        name[sizeof(t.name)] = '\0';
        return true;
    }
    return false;
}

// Whether task `id` runs, among the `count` tasks TaskList gave.
bool running_in(int64_t count, uint64_t id)
{
    for (int64_t i = 0; i < count; ++i) {
        if (g_tasks[i].task_id == id && g_tasks[i].state == abi::TaskState::Running)
            return true;
    }
    return false;
}

// Function `index`'s holder ended: each entry it was given is masked and
// cleared, and the server's handle to its vector closed (with the dead
// driver's copies gone, the kernel frees the vector: Interrupt::destroy).
void release_msix_vectors(size_t index)
{
    volatile uint32_t* table = g_msix_tables[index]; // mapped before any vector was given
    g_msix_vectors.release_all(index, [table](uint16_t entry, uint64_t handle) {
        if (table)
            pci::mask_msix_entry(table + entry * (pci::kMsixEntryBytes / 4));
        (void)ipc::sys::handle_close(static_cast<ipc::Handle>(handle));
    });
}

// Function `index` raises no INTx from here on.
void silence_intx(uint64_t index)
{
    pci::set_intx_disabled(*g_config, g_functions[index].address, true);
    g_intx_on[index] = false;
}

void sweep_intx(int64_t count);

// Before any answer: a driver that ended has its devices' bus mastering
// turned off, and only then are its DMA frames given back to the memory
// service (ReleaseDma): without an IOMMU, a device still running could
// write frames that someone else got. The memory service may not have seen
// the end yet (the kernel queues a dead task's frames as it tears it down):
// then the user stays listed and the next request tries again.
void sweep()
{
    int64_t count = call(abi::SyscallNumber::TaskList, pci::kTaskListHandle, reinterpret_cast<uint64_t>(g_tasks), 1024);
    if (count < 0)
        return;
    for (size_t i = 0; i < g_count; ++i) {
        if (g_bus_master[i] && !running_in(count, g_holders[i])) {
            pci::set_bus_master(*g_config, g_functions[i].address, false);
            g_bus_master[i] = false;
        }
        // Its vectors went with the driver's handles: the function must send
        // no message before the next driver's table entries are written (a
        // vector freed may go to another device; the kernel drops messages
        // to a free one).
        if (g_msix_on[i] && !running_in(count, g_holders[i])) {
            pci::set_msix_enabled(*g_config, g_functions[i].address, pci::find_msix(*g_config, g_functions[i].address), false);
            g_msix_on[i] = false;
        }
        if (g_msix_vectors.count(i) != 0 && !running_in(count, g_holders[i]))
            release_msix_vectors(i);
    }
    sweep_intx(count);
    ipc::Client<ipc::memory::Protocol> memory(user::ipc(), pci::kDmaAuthorityHandle);
    for (DmaUser& entry : g_dma_users) {
        if (entry.task == 0 || running_in(count, entry.task))
            continue;
        auto released = memory.call<ipc::memory::ReleaseDma>({ entry.task });
        if (!released.is_error() && released.value().held == 0)
            entry = DmaUser {};
    }
}

// A driver that ended leaves its function's INTx disabled again: nothing
// asserts its line until the next driver asks for it.
void sweep_intx(int64_t count)
{
    for (size_t i = 0; i < g_count; ++i) {
        if (g_intx_on[i] && !running_in(count, g_holders[i]))
            silence_intx(i);
    }
}

DmaUser* dma_user(uint64_t task)
{
    DmaUser* free = nullptr;
    for (DmaUser& entry : g_dma_users) {
        if (entry.task == task)
            return &entry;
        if (entry.task == 0 && !free)
            free = &entry;
    }
    return free;
}

// The handle the last reply carried is no longer needed by the time the
// next request arrives.
void close_handed_out()
{
    if (g_handed_out > 0) {
        (void)ipc::sys::handle_close(static_cast<ipc::Handle>(g_handed_out));
        g_handed_out = 0;
    }
}

// The caller's grant; nullptr (Denied) for a caller with no badge, no
// manifest line, or no manifest.
const init::DeviceGrant* grant_of(ipc::Badge badge)
{
    close_handed_out();
    sweep();
    read_manifest();
    char name[sizeof(abi::TaskListEntry::name) + 1];
    if (badge == 0 || !g_manifest_read || !task_name(badge, name))
        return nullptr;
    return init::grant_of(g_manifest, name);
}

ipc::Result<ipc::WithHandle<>> hand_out(int64_t handle)
{
    if (handle <= 0)
        return ipc::error_from_status(handle);
    g_handed_out = handle;
    return ipc::WithHandle<> { {}, static_cast<ipc::Handle>(handle) };
}

// A copy of one of the server's vectors for the driver, with RightSend
// only (bind and acknowledge); the server keeps its own (msix_vectors.hpp).
ipc::Result<ipc::WithHandle<>> hand_out_copy(uint64_t vector)
{
    auto copy = ipc::sys::handle_mint(static_cast<ipc::Handle>(vector), abi::RightSend, 0);
    if (copy.is_error())
        return copy.error();
    return hand_out(static_cast<int64_t>(copy.value()));
}

// Maps `bytes` at `offset` into memory BAR `bar` at `at` (whole pages, at
// most kMsixTableSpacing: each function's window of this server's address
// space); the address of the first byte, or 0 if the BAR is not memory, not
// assigned, too small, or the pages do not fit the window. The mapping lasts
// as long as this server.
uint64_t map_bar_window(const pci::Bar& bar, uint64_t offset, uint64_t bytes, uint64_t at)
{
    if ((bar.kind != pci::BarKind::Memory32 && bar.kind != pci::BarKind::Memory64) || bar.base == 0
        || offset + bytes > bar.size)
        return 0;
    uint64_t start = bar.base + offset;
    uint64_t page = start & ~(kPage - 1);
    uint64_t length = ((start + bytes + kPage - 1) & ~(kPage - 1)) - page;
    if (length > kMsixTableSpacing)
        return 0;
    int64_t memory = call(abi::SyscallNumber::DeviceMemoryRestrict, pci::kDeviceMemoryRootHandle, page, length);
    if (memory <= 0)
        return 0;
    bool mapped = call(abi::SyscallNumber::DeviceMemoryMap, static_cast<uint64_t>(memory), at) == 0;
    (void)ipc::sys::handle_close(static_cast<ipc::Handle>(memory)); // the mapping stays
    return mapped ? at + (start - page) : 0;
}

// Function `index`'s MSI-X table, mapped once; nullptr if its BAR cannot
// hold it (map_bar_window).
volatile uint32_t* msix_table(uint64_t index, const pci::Msix& msix)
{
    if (!g_msix_tables[index]) {
        uint64_t at = map_bar_window(g_functions[index].bars[msix.table_bar], msix.table_offset,
            uint64_t(msix.table_size) * pci::kMsixEntryBytes, kMsixTablesAt + index * kMsixTableSpacing);
        g_msix_tables[index] = reinterpret_cast<volatile uint32_t*>(at);
    }
    return g_msix_tables[index];
}

uint32_t read_function_config(void* address, uint16_t offset)
{
    return g_config->read32(*static_cast<const pci::Address*>(address), offset);
}

// Virtio function `index`'s common configuration (VIRTIO 1.1 §4.1.4.3),
// mapped once; nullptr if it has none in an assigned memory BAR (a legacy
// 0.9 device keeps its status in an I/O BAR instead).
volatile uint8_t* virtio_common(uint64_t index)
{
    if (g_virtio_common[index])
        return g_virtio_common[index];
    pci::Address address = g_functions[index].address;
    virtio::Regions regions {};
    (void)virtio::find_regions(read_function_config, &address, regions); // only the common structure matters here
    if (!regions.common.present)
        return nullptr;
    uint64_t at = map_bar_window(g_functions[index].bars[regions.common.bar], regions.common.offset,
        virtio::common::kSize, kVirtioCommonAt + index * kMsixTableSpacing);
    g_virtio_common[index] = reinterpret_cast<volatile uint8_t*>(at);
    return g_virtio_common[index];
}

// Before function `index` goes to a new driver: its last driver (or the
// firmware: SeaBIOS boots from virtio disks) may have left it running, with
// queues in memory that is no longer theirs. Its bus mastering is turned
// off first (no DMA from here on), then a virtio function is reset (its
// device_status written 0 and read back 0: it forgets its queues; §2.4).
// Any other function only loses bus mastering: this server knows no reset
// for it. False if a virtio function did not reset.
bool quiesce_for_new_driver(uint64_t index, uint64_t driver)
{
    const pci::Function& f = g_functions[index];
    pci::set_bus_master(*g_config, f.address, false);
    g_bus_master[index] = false;
    silence_intx(index); // the new driver asks for its line again (RequestFunctionIrq)
    g_line_owners.release(static_cast<uint16_t>(index));
    if (f.vendor != virtio::kVirtioVendor)
        return true;
    volatile uint8_t* common = virtio_common(index);
    if (!common) {
        user::println("pci: {:02x}:{:02x}.{}: no virtio 1.x common configuration: not reset", unsigned(f.address.bus),
            unsigned(f.address.device), unsigned(f.address.function));
        return true;
    }
    // With memory decoding off the read-back does not come from the device.
    if (!pci::memory_space(*g_config, f.address)) {
        user::println("pci: {:02x}:{:02x}.{}: memory decoding off: virtio device not reset", unsigned(f.address.bus),
            unsigned(f.address.device), unsigned(f.address.function));
        return false;
    }
    // Paced, not spun: this server answers everyone from one thread.
    bool reset = virtio::reset_device_paced(common, kResetPolls, [] { (void)ipc::sys::sleep_ms(kResetPollMs); });
    user::println("pci: {:02x}:{:02x}.{}: virtio device {} for its new driver (task {})", unsigned(f.address.bus),
        unsigned(f.address.device), unsigned(f.address.function), reset ? "reset" : "did not reset", driver);
    return reset;
}

bool holds(ipc::Badge badge, uint64_t index)
{
    char name[sizeof(abi::TaskListEntry::name) + 1];
    return index < g_count && badge != 0 && g_holders[index] == badge && task_name(badge, name);
}

struct Service {
    ipc::Result<pci::List::Reply> handle(pci::List, const pci::List::Request& request, ipc::Badge)
    {
        sweep();
        if (request.index >= g_count)
            return ipc::Error::NotFound;
        const pci::Function& f = g_functions[request.index];
        uint32_t bars = 0;
        for (const pci::Bar& bar : f.bars)
            bars += bar.kind != pci::BarKind::None;
        char name[sizeof(abi::TaskListEntry::name) + 1];
        uint64_t holder = g_holders[request.index] && task_name(g_holders[request.index], name) ? g_holders[request.index] : 0;
        pci::IntxRoute route = pci::route_intx(*g_config, g_chipset, f);
        uint8_t line = route.status == pci::RouteStatus::Ok ? static_cast<uint8_t>(route.line) : 0;
        return pci::List::Reply { f.address.bus, f.address.device, f.address.function, f.class_code, f.subclass,
            f.prog_if, line, f.irq_pin, f.vendor, f.device, bars, holder };
    }

    ipc::Result<ipc::WithHandle<>> handle(pci::RequestPorts, const pci::RequestPorts::Request& request, ipc::Badge badge)
    {
        const init::DeviceGrant* grant = grant_of(badge);
        if (!grant || !grant->allows_ports(request.first, request.last))
            return ipc::Error::Denied;
        return hand_out(call(abi::SyscallNumber::IoPortRestrict, pci::kIoPortsRootHandle, request.first, request.last));
    }

    ipc::Result<ipc::WithHandle<>> handle(pci::RequestIrq, const pci::RequestIrq::Request& request, ipc::Badge badge)
    {
        const init::DeviceGrant* grant = grant_of(badge);
        if (!grant || !grant->allows_irq(request.line))
            return ipc::Error::Denied;
        return hand_out(call(abi::SyscallNumber::InterruptRestrict, pci::kInterruptRootHandle, request.line, request.line));
    }

    ipc::Result<ipc::Empty> handle(pci::Claim, const pci::Claim::Request& request, ipc::Badge badge)
    {
        const init::DeviceGrant* grant = grant_of(badge);
        if (request.index >= g_count)
            return ipc::Error::NotFound;
        const pci::Function& f = g_functions[request.index];
        if (!grant || !grant->allows_function(f.vendor, f.device, f.class_code))
            return ipc::Error::Denied;
        char name[sizeof(abi::TaskListEntry::name) + 1];
        uint64_t holder = g_holders[request.index];
        if (holder != 0 && holder != badge && task_name(holder, name))
            return ipc::Error::Denied; // another driver has it
        if (holder != badge && !quiesce_for_new_driver(request.index, badge))
            return pci::kNotReset;
        g_holders[request.index] = badge;
        // A driver that may have DMA memory gets its device's DMA on (the
        // sweep turns it off when the driver ends). Others' devices cannot
        // master the bus: whatever their driver writes to them, they cannot
        // reach memory.
        bool master = grant->dma_pages != 0;
        pci::set_bus_master(*g_config, f.address, master);
        g_bus_master[request.index] = master;
        return ipc::Empty {};
    }

    ipc::Result<pci::ReadConfig::Reply> handle(pci::ReadConfig, const pci::ReadConfig::Request& request, ipc::Badge badge)
    {
        close_handed_out();
        if (!holds(badge, request.index))
            return ipc::Error::Denied;
        if (request.offset % 4 != 0 || request.offset >= kConfigHeaderBytes)
            return ipc::Error::InvalidRequest;
        return pci::ReadConfig::Reply { g_config->read32(g_functions[request.index].address, static_cast<uint16_t>(request.offset)) };
    }

    ipc::Result<pci::RequestDma::Reply> handle(pci::RequestDma, const pci::RequestDma::Request& request, ipc::Badge badge)
    {
        const init::DeviceGrant* grant = grant_of(badge);
        if (!grant || grant->dma_pages == 0)
            return ipc::Error::Denied;
        if (request.pages == 0)
            return ipc::Error::InvalidRequest;
        DmaUser* entry = dma_user(badge);
        if (!entry)
            return ipc::memory::kTooManyBlocks; // more drivers with DMA than this server tracks
        if (request.pages > grant->dma_pages - (entry->task == badge ? entry->pages : 0))
            return ipc::Error::Denied; // beyond dma=
        ipc::Client<ipc::memory::Protocol> memory(user::ipc(), pci::kDmaAuthorityHandle);
        auto block = memory.call<ipc::memory::AllocateDma>({ badge, request.pages });
        if (block.is_error())
            return block.error();
        if (entry->task != badge)
            *entry = DmaUser { badge, 0 };
        entry->pages += request.pages;
        return pci::RequestDma::Reply { block.value().address, block.value().physical };
    }

    ipc::Result<ipc::WithHandle<>> handle(pci::RequestBar, const pci::RequestBar::Request& request, ipc::Badge badge)
    {
        close_handed_out();
        if (!holds(badge, request.index))
            return ipc::Error::Denied;
        if (request.bar >= pci::kMaxBars)
            return ipc::Error::NotFound;
        const pci::Bar& bar = g_functions[request.index].bars[request.bar];
        switch (bar.kind) {
        case pci::BarKind::Io:
            return hand_out(call(abi::SyscallNumber::IoPortRestrict, pci::kIoPortsRootHandle, bar.base, bar.base + bar.size - 1));
        case pci::BarKind::Memory32:
        case pci::BarKind::Memory64: {
            // Device memory goes by pages: a BAR smaller than a page
            // (allowed for memory BARs) is handed out as its whole page.
            uint64_t base = bar.base & ~(kPage - 1);
            uint64_t length = ((bar.base + bar.size + kPage - 1) & ~(kPage - 1)) - base;
            return hand_out(call(abi::SyscallNumber::DeviceMemoryRestrict, pci::kDeviceMemoryRootHandle, base, length));
        }
        case pci::BarKind::None: break;
        }
        return ipc::Error::NotFound;
    }

    ipc::Result<ipc::WithHandle<>> handle(pci::RequestFunctionIrq, const pci::RequestFunctionIrq::Request& request,
        ipc::Badge badge)
    {
        close_handed_out();
        if (!holds(badge, request.index))
            return ipc::Error::Denied;
        const pci::Function& f = g_functions[request.index];
        // Not the interrupt-line register: that is what the firmware wrote
        // for the 8259 (PIC mode); Herald runs the I/O APIC.
        pci::IntxRoute route = pci::route_intx(*g_config, g_chipset, f);
        if (route.status == pci::RouteStatus::NoPin)
            return ipc::Error::NotFound;
        if (route.status != pci::RouteStatus::Ok) {
            user::println("pci: {:02x}:{:02x}.{}: INTx not routed: {}", unsigned(f.address.bus), unsigned(f.address.device),
                unsigned(f.address.function), pci::route_status_name(route.status));
            return pci::kNoRoute;
        }
        // One function per line: another function whose INTx reaches it
        // too is Busy while the owner's driver runs (its INTx stays disabled).
        char name[sizeof(abi::TaskListEntry::name) + 1];
        auto owner_runs = [&](uint16_t owner) { return g_holders[owner] != 0 && task_name(g_holders[owner], name); };
        auto taken = g_line_owners.take(route.line, static_cast<uint16_t>(request.index), owner_runs);
        if (taken.take == pci::IntxLineOwners::Take::Busy)
            return ipc::Error::Busy;
        if (taken.take != pci::IntxLineOwners::Take::Taken)
            return pci::kNoRoute;
        if (taken.previous != pci::IntxLineOwners::kNone)
            silence_intx(taken.previous);
        int64_t line = call(abi::SyscallNumber::InterruptRestrict, pci::kInterruptRootHandle, route.line, route.line);
        if (line > 0) {
            pci::set_intx_disabled(*g_config, f.address, false);
            g_intx_on[request.index] = true;
        }
        return hand_out(line);
    }

    // The server, not the driver, decides which interrupt a device sends:
    // it takes the vector from the kernel and writes the table entry.
    ipc::Result<ipc::WithHandle<>> handle(pci::RequestFunctionMsix, const pci::RequestFunctionMsix::Request& request,
        ipc::Badge badge)
    {
        close_handed_out();
        sweep(); // a dead driver's function sends nothing before a vector is handed out again
        if (!holds(badge, request.index) || !g_bus_master[request.index])
            return ipc::Error::Denied;
        const pci::Function& f = g_functions[request.index];
        pci::Msix msix = pci::find_msix(*g_config, f.address);
        if (msix.capability == 0 || request.entry >= msix.table_size)
            return ipc::Error::NotFound;
        volatile uint32_t* table = msix_table(request.index, msix);
        if (!table)
            return ipc::Error::NotFound;
        uint16_t entry = static_cast<uint16_t>(request.entry);
        if (uint64_t given = g_msix_vectors.find(request.index, entry))
            return hand_out_copy(given); // the same vector again: the pool is not drained by asking twice
        if (!g_msix_vectors.has_room(request.index, msix.table_size))
            return ipc::Error::QuotaExceeded; // kMaxMsixVectorsPerFunction, or the table's size
        abi::MsiMessage message {};
        int64_t vector = call(abi::SyscallNumber::InterruptAllocateMsi, pci::kInterruptRootHandle,
            reinterpret_cast<uint64_t>(&message));
        if (vector <= 0)
            return ipc::error_from_status(vector);
        (void)g_msix_vectors.add(request.index, entry, static_cast<uint64_t>(vector)); // has_room said so
        pci::write_msix_entry(table + entry * (pci::kMsixEntryBytes / 4), message.address,
            static_cast<uint32_t>(message.data));
        pci::set_msix_enabled(*g_config, f.address, msix, true);
        g_msix_on[request.index] = true;
        return hand_out_copy(static_cast<uint64_t>(vector));
    }
};

Service g_service;

// The ECAM area mapped, or the ports opened; which one in `how`.
bool open_config(uint64_t parameter, uint8_t& last_bus, const char*& how, pci::ConfigSpace*& config)
{
    static EcamConfig* ecam_config;
    static PortConfig port_config;
    uint64_t base = parameter & ~(kAreaAlignment - 1);
    if (base != 0) {
        last_bus = static_cast<uint8_t>(parameter & kBusMask);
        uint64_t length = (static_cast<uint64_t>(last_bus) + 1) << 20;
        int64_t area = call(abi::SyscallNumber::DeviceMemoryRestrict, pci::kDeviceMemoryRootHandle, base, length);
        if (area > 0 && call(abi::SyscallNumber::DeviceMemoryMap, static_cast<uint64_t>(area), kEcamAt) == 0) {
            static EcamConfig mapped(kEcamAt, 0);
            ecam_config = &mapped;
            config = ecam_config;
            how = "ECAM";
            return true;
        }
        user::debug_write("pci: cannot map the ECAM area: trying ports 0xCF8/0xCFC");
    }
    int64_t ports = call(abi::SyscallNumber::IoPortRestrict, pci::kIoPortsRootHandle, kConfigAddressPort, kConfigLastPort);
    if (ports <= 0 || call(abi::SyscallNumber::IoPortEnable, static_cast<uint64_t>(ports)) != 0)
        return false;
    last_bus = 255;
    config = &port_config;
    how = "ports 0xCF8/0xCFC";
    return true;
}

void log_functions(const char* how)
{
    user::println("pci: {} functions through {}; INTx routes: {}", g_count, how, pci::chipset_name(g_chipset));
    for (size_t i = 0; i < g_count && i < kMaxFunctions; ++i) {
        const pci::Function& f = g_functions[i];
        pci::IntxRoute route = pci::route_intx(*g_config, g_chipset, f);
        bool routed = route.status == pci::RouteStatus::Ok;
        user::println("pci: {:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}{:02x} ({}) irq {}", unsigned(f.address.bus),
            unsigned(f.address.device), unsigned(f.address.function), unsigned(f.vendor), unsigned(f.device),
            unsigned(f.class_code), unsigned(f.subclass), pci::class_name(f.class_code),
            unsigned(f.irq_pin ? f.irq_line : 0));
        if (routed)
            user::println("pci:   INTx (pin {}) to line {}", unsigned(f.irq_pin), route.line);
        for (size_t b = 0; b < pci::kMaxBars; ++b) {
            const pci::Bar& bar = f.bars[b];
            if (bar.kind != pci::BarKind::None)
                user::println("pci:   bar {}: {} {:#x}, {} bytes", b, bar.kind == pci::BarKind::Io ? "ports" : "memory",
                    bar.base, bar.size);
        }
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint8_t last_bus = 0;
    const char* how = "";
    pci::ConfigSpace* config = nullptr;
    if (!open_config(parameter, last_bus, how, config)) {
        user::debug_write("pci: no access to the configuration space");
        return 1;
    }
    g_config = config;
    g_chipset = pci::identify_chipset(*config);
    g_count = pci::enumerate(*config, 0, last_bus, g_functions, kMaxFunctions);
    if (g_count > kMaxFunctions)
        g_count = kMaxFunctions;
    // No function asserts INTx until its driver's RequestFunctionIrq (a
    // firmware's or an earlier driver's function could otherwise flood a
    // line shared with another); and on q35 no PIRQ reaches the 8259 too.
    for (size_t i = 0; i < g_count; ++i) {
        if (g_functions[i].irq_pin != 0)
            silence_intx(i);
    }
    if (g_chipset == pci::Chipset::Q35)
        pci::q35_disable_pic_routes(*config);
    bool firmware_assigned = false;
    for (size_t i = 0; i < g_count; ++i) {
        for (const pci::Bar& bar : g_functions[i].bars)
            firmware_assigned |= bar.kind != pci::BarKind::None && bar.base != 0;
    }
    if (!firmware_assigned) {
        size_t assigned = pci::assign_bars(*config, g_functions, g_count, kBarWindow, kBarWindowEnd, kIoWindow, kIoWindowEnd);
        user::println("pci: the firmware assigned no BARs: {} assigned from {:#x} and ports {:#x}", assigned, kBarWindow,
            kIoWindow);
    }
    log_functions(how);

    ipc::SyscallTransport& transport = user::ipc();
    // With RightMint: the registry hands each client a copy badged with its
    // task id, which is how a request is matched with its manifest line.
    auto for_clients = ipc::sys::handle_mint(pci::kEndpointHandle, abi::RightSend | abi::RightGrant | abi::RightMint, 0);
    if (for_clients.is_error()
        || ipc::registry::publish(transport, abi::HandleRegistry, "pci", for_clients.value()).is_error()) {
        user::println("pci: cannot publish \"pci\"");
        return 1;
    }
    (void)ipc::sys::handle_close(for_clients.value());
    ipc::Error error = ipc::serve<pci::Protocol>(transport, pci::kEndpointHandle, g_service);
    user::println("pci: stopped: {}", ipc::error_name(error));
    return 1;
}
