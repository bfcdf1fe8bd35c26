#include "device_range.hpp"

namespace herald {

namespace {

bool overlaps(PhysicalRange a, PhysicalRange b)
{
    return a.base < b.end() && b.base < a.end();
}

} // namespace

ErrorOr<void> check_device_range(PhysicalRange range, const PhysicalRangeSet& ram,
    const PhysicalRange* kernel_registers, usize kernel_register_count, u8 physical_address_bits)
{
    u64 base = range.base.get();
    if (base % kPageSize != 0 || range.length % kPageSize != 0)
        return Error::BadAlignment;
    if (range.length == 0)
        return Error::BadLength;
    u64 limit = physical_address_bits >= 52 ? kPhysicalAddressLimit : u64(1) << physical_address_bits;
    if (base >= limit || range.length > limit - base)
        return Error::OutOfRange;
    for (const PhysicalRange& memory : ram) {
        if (overlaps(range, memory))
            return Error::NotDeviceMemory;
    }
    for (usize i = 0; i < kernel_register_count; ++i) {
        if (overlaps(range, kernel_registers[i]))
            return Error::NotDeviceMemory;
    }
    return {};
}

} // namespace herald
