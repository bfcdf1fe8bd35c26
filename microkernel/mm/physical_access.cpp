#include "physical_access.hpp"

#include "../arch/x86_64/paging.hpp"
#include "layout.hpp"

namespace herald {

namespace {

const PhysicalRangeSet* g_physmap_ram;
const BootInfo* g_firmware_map;

bool fits_below(u64 address, usize length, u64 limit) { return address <= limit && length <= limit - address; }

bool inside_one_range(const PhysicalRangeSet& ranges, u64 address, usize length)
{
    for (const PhysicalRange& range : ranges) {
        u64 start = range.base.get();
        if (address >= start && fits_below(address - start, length, range.length))
            return true;
    }
    return false;
}

// Firmware tables are small; a request for more is a corrupt pointer or
// length, and mapping it could pull device memory into the physmap.
constexpr usize kMaxFirmwareRead = 64 * KiB;

bool may_hold_firmware_tables(MemoryType type)
{
    return type == MemoryType::Reserved || type == MemoryType::AcpiReclaimable || type == MemoryType::AcpiNvs;
}

bool inside_one_firmware_region(const BootInfo& info, u64 address, usize length)
{
    if (length > kMaxFirmwareRead)
        return false;
    for (usize i = 0; i < info.memory_count; ++i) {
        const MemoryRegion& region = info.memory[i];
        if (!may_hold_firmware_tables(region.type))
            continue;
        u64 start = region.base.get();
        if (address >= start && fits_below(address - start, length, region.length))
            return true;
    }
    return false;
}

} // namespace

void physical_access_use_physmap(const PhysicalRangeSet& ram, const BootInfo& info)
{
    g_physmap_ram = &ram;
    g_firmware_map = &info;
}

Optional<ByteReader> KernelPhysicalReader::read(PhysicalAddress address, usize length) const
{
    u64 start = address.get();
    if (!g_physmap_ram) {
        if (!fits_below(start, length, layout::kBootIdentityMapEnd))
            return nullopt;
        return ByteReader(reinterpret_cast<const u8*>(start), length);
    }
    bool in_low_memory = fits_below(start, length, layout::kLowMemoryEnd);
    if (!in_low_memory && !inside_one_range(*g_physmap_ram, start, length)) {
        if (!inside_one_firmware_region(*g_firmware_map, start, length))
            return nullopt;
        if (x86::map_into_physmap_read_only(address, length).is_error())
            return nullopt;
    }
    return ByteReader(reinterpret_cast<const u8*>(layout::physmap_address(start)), length);
}

} // namespace herald
