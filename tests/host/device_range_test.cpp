// Host tests of check_device_range (microkernel/mm/device_range.hpp): which
// physical ranges a driver may be given as device memory, against a memory
// map shaped like QEMU q35's.
#include "microkernel/mm/device_range.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

using namespace herald;

namespace {

PhysicalRange range(u64 base, u64 length) { return { PhysicalAddress(base), length }; }

// q35 with 512 MiB: RAM below the EBDA and from 1 MiB to the top, the ACPI
// tables at its end; the firmware's ROM and the ECAM area reserved.
std::unique_ptr<MemoryInventory> q35()
{
    std::vector<MemoryRegion> map = {
        { PhysicalAddress(0), 0x9FC00, MemoryType::Usable },
        { PhysicalAddress(0x9FC00), 0x400, MemoryType::Reserved },
        { PhysicalAddress(0xF0000), 0x10000, MemoryType::Reserved },
        { PhysicalAddress(0x100000), 0x1FEE0000, MemoryType::Usable },
        { PhysicalAddress(0x1FFE0000), 0x20000, MemoryType::AcpiReclaimable },
        { PhysicalAddress(0xB0000000), 0x10000000, MemoryType::Reserved },
    };
    auto inventory = std::make_unique<MemoryInventory>();
    REQUIRE_FALSE(MemoryInventory::build(*inventory, map.data(), map.size(), nullptr, 0).is_error());
    return inventory;
}

const PhysicalRange kApics[] = { range(0xFEE00000, 0x1000), range(0xFEC00000, 0x1000) };

Error refusal(PhysicalRange candidate, u8 bits = 40)
{
    auto inventory = q35();
    auto result = check_device_range(candidate, inventory->ram(), kApics, 2, bits);
    REQUIRE(result.is_error());
    return result.error();
}

bool allowed(PhysicalRange candidate, u8 bits = 40)
{
    auto inventory = q35();
    return !check_device_range(candidate, inventory->ram(), kApics, 2, bits).is_error();
}

} // namespace

TEST_CASE("device memory: holes and reserved ranges are devices", "[device]")
{
    CHECK(allowed(range(0xFED00000, 0x1000)));      // the HPET, in no entry of the map
    CHECK(allowed(range(0xB0000000, 0x10000000)));  // the ECAM area, reserved
    CHECK(allowed(range(0xA0000, 0x20000)));        // the legacy VGA window
    CHECK(allowed(range(0xFEBF0000, 0x10000)));     // just below the I/O APIC
    CHECK(allowed(range(0x8000000000, 0x100000)));  // a 64-bit BAR far above RAM
}

TEST_CASE("device memory: RAM of any kind is refused", "[device]")
{
    CHECK(refusal(range(0, 0x1000)) == Error::NotDeviceMemory);
    CHECK(refusal(range(0x100000, 0x1000)) == Error::NotDeviceMemory);           // the kernel's image
    CHECK(refusal(range(0x1FFE0000, 0x1000)) == Error::NotDeviceMemory);         // ACPI reclaimable
    CHECK(refusal(range(0x9F000, 0x2000)) == Error::NotDeviceMemory);            // straddles RAM's end
    CHECK(refusal(range(0x1FF00000, 0x200000)) == Error::NotDeviceMemory);       // straddles the top of RAM
    CHECK(refusal(range(0x0, 0x100000000)) == Error::NotDeviceMemory);           // everything below 4 GiB
}

TEST_CASE("device memory: the kernel's own registers are refused", "[device]")
{
    CHECK(refusal(range(0xFEE00000, 0x1000)) == Error::NotDeviceMemory);
    CHECK(refusal(range(0xFEC00000, 0x1000)) == Error::NotDeviceMemory);
    CHECK(refusal(range(0xFEB00000, 0x200000)) == Error::NotDeviceMemory); // covers the I/O APIC
    CHECK(refusal(range(0xFEDFF000, 0x2000)) == Error::NotDeviceMemory);   // ends in the local APIC
}

TEST_CASE("device memory: bad shapes are refused", "[device]")
{
    CHECK(refusal(range(0xFED00008, 0x1000)) == Error::BadAlignment);
    CHECK(refusal(range(0xFED00000, 0x800)) == Error::BadAlignment);
    CHECK(refusal(range(0xFED00000, 0)) == Error::BadLength);
    CHECK(refusal(range(1ull << 40, 0x1000)) == Error::OutOfRange);              // past a 40-bit CPU's addresses
    CHECK(refusal(range((1ull << 40) - 0x1000, 0x2000)) == Error::OutOfRange);   // ends past them
    CHECK(refusal(range(0xFFFFFFFFFFFFF000ull, 0x2000), 52) == Error::OutOfRange); // wraps
    CHECK(allowed(range((1ull << 40) - 0x1000, 0x1000)));
}
