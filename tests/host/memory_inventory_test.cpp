#include "microkernel/mm/memory_inventory.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <utility>
#include <vector>

using namespace herald;

namespace {

using Ranges = std::vector<std::pair<u64, u64>>; // [start, end)

MemoryRegion region(u64 base, u64 length, MemoryType type) { return { PhysicalAddress(base), length, type }; }
PhysicalRange range(u64 base, u64 length) { return { PhysicalAddress(base), length }; }

Ranges ranges_of(const PhysicalRangeSet& set)
{
    Ranges result;
    for (auto& r : set)
        result.push_back({ r.base.get(), r.end().get() });
    return result;
}

// The inventory is big (it lives in .bss in the kernel); keep it off the test stack.
std::unique_ptr<MemoryInventory> build_ok(const std::vector<MemoryRegion>& map, const std::vector<PhysicalRange>& reserved = {})
{
    auto inventory = std::make_unique<MemoryInventory>();
    auto result = MemoryInventory::build(*inventory, map.data(), map.size(), reserved.data(), reserved.size());
    REQUIRE_FALSE(result.is_error());
    return inventory;
}

Error build_error(const std::vector<MemoryRegion>& map, const std::vector<PhysicalRange>& reserved = {})
{
    auto inventory = std::make_unique<MemoryInventory>();
    auto result = MemoryInventory::build(*inventory, map.data(), map.size(), reserved.data(), reserved.size());
    REQUIRE(result.is_error());
    // A failed build leaves nothing half-built behind.
    CHECK(inventory->usable().count() == 0);
    CHECK(inventory->free().count() == 0);
    CHECK(inventory->ram().count() == 0);
    return result.error();
}

// Sorted, non-overlapping and not even touching (touching ones get merged).
void check_well_formed(const PhysicalRangeSet& set, bool page_aligned = true)
{
    for (usize i = 0; i < set.count(); ++i) {
        CHECK(set[i].length > 0);
        if (page_aligned) {
            CHECK(set[i].base.is_aligned_to(kPageSize));
            CHECK(is_aligned(set[i].length, kPageSize));
        }
        if (i > 0)
            CHECK(set[i - 1].end() < set[i].base);
    }
}

const std::vector<MemoryRegion> qemu_256m = {
    region(0, 0x9fc00, MemoryType::Usable),
    region(0x9fc00, 0x400, MemoryType::Reserved),
    region(0xf0000, 0x10000, MemoryType::Reserved),
    region(0x100000, 0xffe0000 - 0x100000, MemoryType::Usable),
    region(0xffe0000, 0x20000, MemoryType::Reserved),
    region(0xfffc0000, 0x40000, MemoryType::Reserved),
};

const std::vector<MemoryRegion> qemu_4g = {
    region(0, 0x9fc00, MemoryType::Usable),
    region(0x9fc00, 0x400, MemoryType::Reserved),
    region(0xf0000, 0x10000, MemoryType::Reserved),
    region(0x100000, 0xbffe0000 - 0x100000, MemoryType::Usable),
    region(0xbffe0000, 0x20000, MemoryType::Reserved),
    region(0xfeffc000, 0x4000, MemoryType::Reserved),
    region(0xfffc0000, 0x40000, MemoryType::Reserved),
    region(0x100000000, 0x40000000, MemoryType::Usable),
};

// What the kernel reserves: the first 1 MiB and its image right above it.
const std::vector<PhysicalRange> kernel_low_and_image = { range(0, 1 * MiB), range(0x100000, 0x234567) };

} // namespace

TEST_CASE("inventory of QEMU -m 256M")
{
    auto inventory = build_ok(qemu_256m, kernel_low_and_image);
    CHECK(ranges_of(inventory->usable()) == Ranges { { 0, 0x9f000 }, { 0x100000, 0xffe0000 } });
    CHECK(inventory->usable_bytes() == 0x9f000 + 0xfee0000);
    CHECK(inventory->usable_bytes() / MiB == 255);
    CHECK(ranges_of(inventory->free()) == Ranges { { 0x335000, 0xffe0000 } });
    CHECK(inventory->free_bytes() == 0xffe0000 - 0x335000);
    CHECK(ranges_of(inventory->ram()) == Ranges { { 0, 0xa0000 }, { 0x100000, 0xffe0000 } });
    CHECK(inventory->highest_ram_end() == PhysicalAddress(0xffe0000));
}

TEST_CASE("inventory of QEMU -m 4G")
{
    auto inventory = build_ok(qemu_4g, kernel_low_and_image);
    CHECK(ranges_of(inventory->usable())
        == Ranges { { 0, 0x9f000 }, { 0x100000, 0xbffe0000 }, { 0x100000000, 0x140000000 } });
    CHECK(inventory->usable_bytes() == 0x9f000 + (0xbffe0000 - 0x100000) + 0x40000000);
    CHECK(ranges_of(inventory->free()) == Ranges { { 0x335000, 0xbffe0000 }, { 0x100000000, 0x140000000 } });
    CHECK(inventory->highest_ram_end() == PhysicalAddress(0x140000000));
    check_well_formed(inventory->usable());
    check_well_formed(inventory->free());
    check_well_formed(inventory->ram());
}

TEST_CASE("inventory: unsorted and duplicated entries give the same result")
{
    auto reference = build_ok(qemu_4g, kernel_low_and_image);
    std::vector<MemoryRegion> shuffled = qemu_4g;
    shuffled.insert(shuffled.end(), qemu_4g.begin(), qemu_4g.end());
    std::reverse(shuffled.begin(), shuffled.end());
    std::swap(shuffled[1], shuffled[9]);
    auto inventory = build_ok(shuffled, kernel_low_and_image);
    CHECK(ranges_of(inventory->usable()) == ranges_of(reference->usable()));
    CHECK(ranges_of(inventory->free()) == ranges_of(reference->free()));
    CHECK(ranges_of(inventory->ram()) == ranges_of(reference->ram()));
}

TEST_CASE("inventory: any other type wins over Usable where they overlap")
{
    // Listed both before and after the usable entry: order must not matter.
    auto inventory = build_ok({
        region(4 * MiB + 0x800, 1 * MiB - 0x800, MemoryType::Reserved),
        region(0, 16 * MiB, MemoryType::Usable),
        region(8 * MiB, 0x10, MemoryType::AcpiNvs),
        region(10 * MiB, 1 * MiB, MemoryType::AcpiReclaimable),
        region(12 * MiB, 0x3000, MemoryType::BadMemory),
    });
    CHECK(ranges_of(inventory->usable())
        == Ranges { { 0, 4 * MiB }, { 5 * MiB, 8 * MiB }, { 8 * MiB + 0x1000, 10 * MiB }, { 11 * MiB, 12 * MiB },
            { 12 * MiB + 0x3000, 16 * MiB } });
    // The physmap covers RAM whatever else claims it.
    CHECK(ranges_of(inventory->ram()) == Ranges { { 0, 16 * MiB } });
}

TEST_CASE("inventory: unaligned usable entries shrink inward, RAM grows outward")
{
    auto inventory = build_ok({
        region(0x1234, 0x5678 - 0x1234, MemoryType::Usable),
        region(0x10100, 0xe00, MemoryType::Usable), // less than a whole page
        region(0x20800, 0x800, MemoryType::Usable), // two halves of
        region(0x21000, 0x800, MemoryType::Usable), // one page, across a boundary
        region(0x30000, 0x800, MemoryType::Usable), // two halves of
        region(0x30800, 0x800, MemoryType::Usable), // one page
    });
    CHECK(ranges_of(inventory->usable()) == Ranges { { 0x2000, 0x5000 }, { 0x30000, 0x31000 } });
    CHECK(ranges_of(inventory->ram())
        == Ranges { { 0x1000, 0x6000 }, { 0x10000, 0x11000 }, { 0x20000, 0x22000 }, { 0x30000, 0x31000 } });
    CHECK(inventory->highest_ram_end() == PhysicalAddress(0x31000));
}

TEST_CASE("inventory: zero-length entries are ignored")
{
    auto inventory = build_ok({
        region(0, 0, MemoryType::Usable),
        region(0x100000, 0x100000, MemoryType::Usable),
        region(0x180000, 0, MemoryType::Reserved),
        region(0x400000, 0, MemoryType::AcpiNvs),
    }, { range(0x100000, 0) });
    CHECK(ranges_of(inventory->usable()) == Ranges { { 0x100000, 0x200000 } });
    CHECK(ranges_of(inventory->free()) == Ranges { { 0x100000, 0x200000 } });
    CHECK(ranges_of(inventory->ram()) == Ranges { { 0x100000, 0x200000 } });
}

TEST_CASE("inventory: entries that wrap past 2^64 are clamped, those above 2^52 dropped")
{
    u64 all = ~u64(0);
    auto inventory = build_ok({
        region(0x100000, 0x100000, MemoryType::Usable),
        region(0x100000000, all, MemoryType::Usable),            // wraps: clamped to 2^52
        region(0xffff'ffff'ffff'0000, 0x20000, MemoryType::Usable), // wraps and starts above 2^52
        region(0x20'0000'0000'0000, 0x1000, MemoryType::Usable),  // at 2^53
        region(0x8'0000'0000'0000, all, MemoryType::Reserved),    // 2^51 .. wraps
    }, { range(0x4'0000'0000'0000, all) });
    CHECK(ranges_of(inventory->usable())
        == Ranges { { 0x100000, 0x200000 }, { 0x100000000, 0x8'0000'0000'0000 } });
    CHECK(ranges_of(inventory->free()) == Ranges { { 0x100000, 0x200000 }, { 0x100000000, 0x4'0000'0000'0000 } });
    CHECK(inventory->highest_ram_end() == PhysicalAddress(kPhysicalAddressLimit));
}

TEST_CASE("inventory: an empty map gives an empty inventory")
{
    auto inventory = build_ok({});
    CHECK(inventory->usable_bytes() == 0);
    CHECK(inventory->free_bytes() == 0);
    CHECK(inventory->highest_ram_end() == PhysicalAddress(0));
    BootFrameAllocator allocator(*inventory, PhysicalAddress(128 * MiB));
    CHECK_FALSE(allocator.allocate_frame().has_value());
}

TEST_CASE("inventory: more ranges than fit is an error, not an overflow")
{
    usize too_many = PhysicalRangeSet::kMaxRanges + 1;

    SECTION("disjoint usable entries")
    {
        std::vector<MemoryRegion> map;
        for (usize i = 0; i < too_many; ++i)
            map.push_back(region(i * 0x2000, 0x1000, MemoryType::Usable));
        CHECK(build_error(map) == Error::TooMany);
    }
    SECTION("exactly the capacity fits")
    {
        std::vector<MemoryRegion> map;
        for (usize i = 0; i < PhysicalRangeSet::kMaxRanges; ++i)
            map.push_back(region(i * 0x2000, 0x1000, MemoryType::Usable));
        auto inventory = build_ok(map);
        CHECK(inventory->usable().count() == PhysicalRangeSet::kMaxRanges);
    }
    SECTION("adjacent usable entries merge, so many of them are fine")
    {
        std::vector<MemoryRegion> map;
        for (usize i = 0; i < 4 * too_many; ++i)
            map.push_back(region(i * 0x1000, 0x1000, MemoryType::Usable));
        auto inventory = build_ok(map);
        CHECK(ranges_of(inventory->usable()) == Ranges { { 0, 4 * too_many * 0x1000 } });
    }
    SECTION("reserved entries splitting one usable range")
    {
        std::vector<MemoryRegion> map { region(0, 1 * GiB, MemoryType::Usable) };
        for (usize i = 0; i < too_many; ++i)
            map.push_back(region(0x1000 + i * 0x2000, 0x1000, MemoryType::Reserved));
        CHECK(build_error(map) == Error::TooMany);
    }
    SECTION("kernel reserved ranges splitting the free list")
    {
        std::vector<PhysicalRange> reserved;
        for (usize i = 0; i < too_many; ++i)
            reserved.push_back(range(0x1000 + i * 0x2000, 0x10));
        CHECK(build_error({ region(0, 1 * GiB, MemoryType::Usable) }, reserved) == Error::TooMany);
    }
}

TEST_CASE("boot frame allocator on a machine with only 30 MiB")
{
    auto inventory = build_ok({ region(0, 0x9fc00, MemoryType::Usable), region(0x100000, 29 * MiB, MemoryType::Usable) },
        { range(0, 1 * MiB), range(1 * MiB, 2 * MiB) });
    u64 free_before = inventory->free_bytes();
    CHECK(free_before == 27 * MiB);

    BootFrameAllocator allocator(*inventory, PhysicalAddress(128 * MiB));
    u64 expected = 3 * MiB;
    while (auto frame = allocator.allocate_frame()) {
        REQUIRE(*frame == PhysicalAddress(expected));
        expected += kPageSize;
    }
    CHECK(expected == 30 * MiB);
    CHECK(allocator.frames_allocated() == 27 * MiB / kPageSize);
    CHECK(inventory->free_bytes() == 0);
    CHECK(inventory->usable_bytes() == 0x9f000 + 29 * MiB); // usable still reports the machine
}

TEST_CASE("boot frame allocator stays below its limit and shrinks the free list")
{
    auto inventory = build_ok(qemu_256m, { range(0, 1 * MiB), range(1 * MiB, 1 * MiB) });
    u64 free_before = inventory->free_bytes();

    BootFrameAllocator allocator(*inventory, PhysicalAddress(4 * MiB));
    usize count = 0;
    while (auto frame = allocator.allocate_frame()) {
        CHECK(frame->is_aligned_to(kPageSize));
        CHECK(*frame >= PhysicalAddress(2 * MiB));
        CHECK(frame->get() + kPageSize <= 4 * MiB);
        ++count;
    }
    CHECK(count == 512);
    CHECK(inventory->free_bytes() == free_before - 2 * MiB);
    CHECK(ranges_of(inventory->free()) == Ranges { { 4 * MiB, 0xffe0000 } });

    // A limit that cuts a page in half does not hand that page out.
    BootFrameAllocator cut(*inventory, PhysicalAddress(4 * MiB + 0x800));
    CHECK_FALSE(cut.allocate_frame().has_value());
}

TEST_CASE("boot frame allocator skips a fragmented free list in order")
{
    auto inventory = build_ok({ region(0x1000, 0x1000, MemoryType::Usable), region(0x5000, 0x2000, MemoryType::Usable) });
    BootFrameAllocator allocator(*inventory, PhysicalAddress(128 * MiB));
    CHECK(allocator.allocate_frame().value() == PhysicalAddress(0x1000));
    CHECK(allocator.allocate_frame().value() == PhysicalAddress(0x5000));
    CHECK(allocator.allocate_frame().value() == PhysicalAddress(0x6000));
    CHECK_FALSE(allocator.allocate_frame().has_value());
}

// Property test: compare against a model that tracks 1 KiB units in bitmaps,
// so entries are unaligned with respect to pages but the model stays small.
TEST_CASE("inventory matches a page-granular bitmap model on random maps")
{
    constexpr u64 kUnit = 1 * KiB;
    constexpr u64 kUnitsPerPage = kPageSize / kUnit;
    constexpr usize kPages = 3000;
    constexpr usize kUnits = kPages * kUnitsPerPage;
    std::mt19937_64 random(20240611);
    auto below = [&](u64 bound) { return std::uniform_int_distribution<u64>(0, bound - 1)(random); };

    for (int iteration = 0; iteration < 300; ++iteration) {
        std::vector<bool> usable_unit(kUnits), blocked_unit(kUnits), ram_unit(kUnits), reserved_unit(kUnits);
        auto mark = [&](std::vector<bool>& bits, u64 first_unit, u64 unit_count) {
            for (u64 u = first_unit; u < min<u64>(first_unit + unit_count, kUnits); ++u)
                bits[u] = true;
        };

        std::vector<MemoryRegion> map;
        usize entries = 1 + below(40);
        for (usize i = 0; i < entries; ++i) {
            u64 first_unit = below(kUnits);
            u64 unit_count = below(8) == 0 ? 0 : 1 + below(below(4) == 0 ? 2000 : 40);
            unit_count = min(unit_count, kUnits - first_unit); // keep the model finite
            auto type = static_cast<MemoryType>(1 + (below(3) == 0 ? below(5) : 0));
            map.push_back(region(first_unit * kUnit, unit_count * kUnit, type));
            if (type == MemoryType::Usable)
                mark(usable_unit, first_unit, unit_count);
            else
                mark(blocked_unit, first_unit, unit_count);
            if (type == MemoryType::Usable || type == MemoryType::AcpiReclaimable || type == MemoryType::AcpiNvs)
                mark(ram_unit, first_unit, unit_count);
        }
        std::vector<PhysicalRange> reserved;
        usize reserved_count = below(5);
        for (usize i = 0; i < reserved_count; ++i) {
            u64 first_unit = below(kUnits);
            u64 unit_count = min(below(100), kUnits - first_unit);
            reserved.push_back(range(first_unit * kUnit, unit_count * kUnit));
            mark(reserved_unit, first_unit, unit_count);
        }

        // The model, a page at a time.
        std::vector<bool> usable_page(kPages), free_page(kPages), ram_page(kPages);
        for (usize page = 0; page < kPages; ++page) {
            bool all_usable = true, any_reserved = false, any_ram = false;
            for (u64 u = page * kUnitsPerPage; u < (page + 1) * kUnitsPerPage; ++u) {
                all_usable = all_usable && usable_unit[u] && !blocked_unit[u];
                any_reserved = any_reserved || reserved_unit[u];
                any_ram = any_ram || ram_unit[u];
            }
            usable_page[page] = all_usable;
            free_page[page] = all_usable && !any_reserved;
            ram_page[page] = any_ram;
        }

        std::shuffle(map.begin(), map.end(), random);
        auto inventory = build_ok(map, reserved);
        check_well_formed(inventory->usable());
        check_well_formed(inventory->free());
        check_well_formed(inventory->ram());

        auto pages_of = [&](const PhysicalRangeSet& set) {
            std::vector<bool> pages(kPages);
            for (auto& r : set) {
                REQUIRE(r.end().get() <= kPages * kPageSize);
                for (u64 p = r.base.get() / kPageSize; p < r.end().get() / kPageSize; ++p)
                    pages[p] = true;
            }
            return pages;
        };
        REQUIRE(pages_of(inventory->usable()) == usable_page);
        REQUIRE(pages_of(inventory->free()) == free_page);
        REQUIRE(pages_of(inventory->ram()) == ram_page);
        CHECK(inventory->usable_bytes() == u64(std::count(usable_page.begin(), usable_page.end(), true)) * kPageSize);
        CHECK(inventory->free_bytes() == u64(std::count(free_page.begin(), free_page.end(), true)) * kPageSize);

        // The allocator hands out exactly the free pages below its limit, lowest first.
        u64 limit_page = below(kPages + 1);
        BootFrameAllocator allocator(*inventory, PhysicalAddress(limit_page * kPageSize));
        for (usize page = 0; page < limit_page; ++page) {
            if (free_page[page])
                REQUIRE(allocator.allocate_frame().value() == PhysicalAddress(page * kPageSize));
        }
        REQUIRE_FALSE(allocator.allocate_frame().has_value());
        for (usize page = 0; page < limit_page; ++page)
            free_page[page] = false;
        REQUIRE(pages_of(inventory->free()) == free_page);
    }
}

TEST_CASE("boot frame allocator hands out contiguous runs from the first range long enough")
{
    // Free: [1 MiB, 1 MiB + 8 KiB) and [2 MiB, 3 MiB); limit 2 MiB + 64 KiB.
    auto inventory = build_ok({ region(0x100000, 0x2000, MemoryType::Usable), region(0x200000, 1 * MiB, MemoryType::Usable) });
    BootFrameAllocator allocator(*inventory, PhysicalAddress(2 * MiB + 64 * KiB));
    CHECK(allocator.allocate_contiguous(2).value_or(PhysicalAddress(1)) == PhysicalAddress(0x100000));
    CHECK(allocator.allocate_contiguous(4).value_or(PhysicalAddress(1)) == PhysicalAddress(0x200000));
    CHECK(allocator.allocate_contiguous(4).value_or(PhysicalAddress(1)) == PhysicalAddress(0x204000));
    // 8 pages would end past the limit (0x208000 + 32 KiB = 0x210000 is fine; 9 is not).
    CHECK_FALSE(allocator.allocate_contiguous(9).has_value());
    CHECK(allocator.allocate_contiguous(8).value_or(PhysicalAddress(1)) == PhysicalAddress(0x208000));
    CHECK_FALSE(allocator.allocate_contiguous(1).has_value());
    CHECK_FALSE(allocator.allocate_contiguous(0).has_value());
    CHECK(allocator.frames_allocated() == 18);
    CHECK(inventory->free_bytes() == 1 * MiB - 16 * 4 * KiB);
}
