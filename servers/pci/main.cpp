// pci: the PCI server (pci_protocol.hpp, docs/drivers.md). The kernel starts
// it with the roots of the device capabilities and segment 0's ECAM area;
// it maps that area (or opens ports 0xCF8..0xCFF when there is none), walks
// every bus once, logs what it found and serves List. Handing a function's
// BARs and interrupt line to the driver the manifest names is not done yet.
#include <stdint.h>

#include "libipc/protocols/registry.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "pci_config.hpp"
#include "pci_protocol.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"

namespace {

using namespace herald;
using user::number_of;

constexpr uint64_t kEcamAt = 0x30'0000'0000; // free user memory for the mapped area
constexpr uint64_t kBusMask = 0xFF;
constexpr uint64_t kAreaAlignment = 1ull << 20;
constexpr uint16_t kConfigAddressPort = 0xCF8;
constexpr uint16_t kConfigDataPort = 0xCFC;
constexpr uint16_t kConfigLastPort = 0xCFF;
constexpr size_t kMaxFunctions = 256;

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

struct Service {
    ipc::Result<pci::List::Reply> handle(pci::List, const pci::List::Request& request, ipc::Badge)
    {
        if (request.index >= g_count)
            return ipc::Error::NotFound;
        const pci::Function& f = g_functions[request.index];
        uint32_t bars = 0;
        for (const pci::Bar& bar : f.bars)
            bars += bar.kind != pci::BarKind::None;
        return pci::List::Reply { f.address.bus, f.address.device, f.address.function, f.class_code, f.subclass,
            f.prog_if, f.irq_line, f.irq_pin, f.vendor, f.device, bars, 0 };
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
    user::println("pci: {} functions through {}", g_count, how);
    for (size_t i = 0; i < g_count && i < kMaxFunctions; ++i) {
        const pci::Function& f = g_functions[i];
        user::println("pci: {:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}{:02x} ({}) irq {}", unsigned(f.address.bus),
            unsigned(f.address.device), unsigned(f.address.function), unsigned(f.vendor), unsigned(f.device),
            unsigned(f.class_code), unsigned(f.subclass), pci::class_name(f.class_code),
            unsigned(f.irq_pin ? f.irq_line : 0));
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
    g_count = pci::enumerate(*config, 0, last_bus, g_functions, kMaxFunctions);
    if (g_count > kMaxFunctions)
        g_count = kMaxFunctions;
    log_functions(how);

    ipc::SyscallTransport& transport = user::ipc();
    auto for_clients = ipc::sys::handle_mint(pci::kEndpointHandle, abi::RightSend, 0);
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
