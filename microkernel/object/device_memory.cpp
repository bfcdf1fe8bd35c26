#include "device_memory.hpp"

#include "../abi/syscalls.hpp"
#include "../kernel.hpp"
#include "../mm/address_space.hpp"
#include "../mm/device_range.hpp"
#include "../mm/kernel_pool.hpp"
#include "../mm/layout.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

KernelPool<DeviceMemory> g_device_memory;

// The xAPIC's registers where the firmware leaves them (SDM Vol. 3A
// §11.4.1), also when the MADT names no address (x2APIC).
constexpr u64 kDefaultLocalApic = 0xFEE0'0000;

// The registers the kernel drives itself: never a driver's.
usize kernel_registers(PhysicalRange* out, usize max)
{
    const PlatformTopology& topology = platform_topology();
    usize count = 0;
    out[count++] = PhysicalRange { PhysicalAddress(kDefaultLocalApic), layout::kPageSize };
    if (topology.local_apic_address)
        out[count++] = PhysicalRange { PhysicalAddress(align_down(topology.local_apic_address, layout::kPageSize)), layout::kPageSize };
    for (usize i = 0; i < topology.io_apic_count && count < max; ++i)
        out[count++] = PhysicalRange { PhysicalAddress(align_down(topology.io_apics[i].address, layout::kPageSize)), layout::kPageSize };
    return count;
}

struct MapRequest {
    VirtualAddress address;
    PhysicalRange range;
};

ErrorOr<u64> map_in(Task&, AddressSpace& space, void* context)
{
    auto& request = *static_cast<MapRequest*>(context);
    HERALD_TRY(space.map_device(request.address, request.range));
    return 0u;
}

} // namespace

DeviceMemory DeviceMemory::s_root { PhysicalAddress(0), kPhysicalAddressLimit };

DeviceMemory& DeviceMemory::root() { return s_root; }

ErrorOr<void> DeviceMemory::check(PhysicalRange range)
{
    PhysicalRange registers[PlatformTopology::kMaxIoApics + 2];
    usize count = kernel_registers(registers, sizeof(registers) / sizeof(registers[0]));
    return check_device_range(range, memory_inventory().ram(), registers, count,
        cpu_features().physical_address_bits);
}

ErrorOr<Ref<DeviceMemory>> DeviceMemory::restrict(u64 base, u64 length) const
{
    if (base < m_base.get() || base - m_base.get() > m_length || length > m_length - (base - m_base.get()))
        return Error::NotGranted;
    HERALD_TRY(check(PhysicalRange { PhysicalAddress(base), length }));
    void* storage = g_device_memory.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    return Ref<DeviceMemory>::adopt(*new (storage) DeviceMemory(PhysicalAddress(base), length));
}

ErrorOr<void> DeviceMemory::map_into(u64 task_id, VirtualAddress address) const
{
    if (this == &s_root)
        return Error::NotDeviceMemory;
    u64 start = address.get();
    if (start % layout::kPageSize != 0 || start < abi::kUserCodeBase || start >= abi::kUserSpaceEnd
        || m_length > abi::kUserSpaceEnd - start)
        return Error::OutOfRange;
    MapRequest request { address, PhysicalRange { m_base, m_length } };
    HERALD_TRY(with_address_space_of(task_id, map_in, &request));
    return {};
}

void DeviceMemory::destroy()
{
    if (this == &s_root)
        return; // lives as long as the kernel
    this->~DeviceMemory();
    g_device_memory.free_storage(this);
}

} // namespace herald
