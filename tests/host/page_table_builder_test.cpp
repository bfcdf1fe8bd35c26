#include "microkernel/mm/page_table_builder.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <vector>

using namespace herald;
using namespace herald::PageTableEntryBits;

namespace {

// Page tables in a host array. The "physical" addresses are made up (and
// deliberately not 0) so that a table address cannot pass for an index.
class PoolTableMemory final : public TableMemory {
public:
    static constexpr u64 kPoolBase = 0x7'0000'0000;

    PoolTableMemory(usize capacity, usize limit) : m_tables(capacity), m_limit(limit) { }
    explicit PoolTableMemory(usize capacity) : PoolTableMemory(capacity, capacity) { }

    Optional<PhysicalAddress> allocate_table() override
    {
        if (m_used == m_limit)
            return nullopt;
        return PhysicalAddress(kPoolBase + m_used++ * kPageSize4KiB);
    }

    u64* table_at(PhysicalAddress table) override
    {
        REQUIRE(table.get() >= kPoolBase);
        REQUIRE(table.is_aligned_to(kPageSize4KiB));
        u64 index = (table.get() - kPoolBase) / kPageSize4KiB;
        REQUIRE(index < m_used);
        return m_tables[index].data();
    }

    void set_limit(usize limit) { m_limit = std::min(limit, m_tables.size()); }
    usize used() const { return m_used; }
    const std::array<u64, 512>& table(usize index) const { return m_tables[index]; }

private:
    std::vector<std::array<u64, 512>> m_tables;
    usize m_used { 0 };
    usize m_limit;
};

VirtualAddress V(u64 address) { return VirtualAddress(address); }
PhysicalAddress P(u64 address) { return PhysicalAddress(address); }

constexpr PageFlags kSupervisorRWX { .writable = true, .executable = true };
constexpr PageFlags kText { .executable = true, .global = true };
constexpr PageFlags kRodata { .global = true };
constexpr PageFlags kData { .writable = true, .global = true };
constexpr PageFlags kPhysmap { .writable = true, .global = true };

constexpr u64 kKernelBase = 0xFFFF'FFFF'8000'0000;
constexpr u64 kPhysmapBase = 0x40'0000'0000;

// Checks one address: where it goes, with which page size and flags.
void check_translation(const PageTableBuilder& builder, u64 virtual_address, u64 physical_address, u64 page_size, PageFlags flags)
{
    INFO("virtual " << std::hex << virtual_address);
    auto translation = builder.translate(V(virtual_address));
    REQUIRE(translation.has_value());
    CHECK(translation->physical.get() == physical_address);
    CHECK(translation->page_size == page_size);
    CHECK(translation->flags == flags);
}

void check_unmapped(const PageTableBuilder& builder, u64 virtual_address)
{
    INFO("virtual " << std::hex << virtual_address);
    CHECK_FALSE(builder.translate(V(virtual_address)).has_value());
}

struct SeedLayout {
    bool nx;
    bool one_gib_pages;
};

// The address space the kernel builds at boot.
void map_seed_layout(PageTableBuilder& builder)
{
    REQUIRE_FALSE(builder.create_root().is_error());
    REQUIRE_FALSE(builder.map(V(0), P(0), 128 * MiB, kSupervisorRWX).is_error());
    REQUIRE_FALSE(builder.map(V(kKernelBase + 0x100000), P(0x100000), 0x5000, kText).is_error());
    REQUIRE_FALSE(builder.map(V(kKernelBase + 0x105000), P(0x105000), 0x2000, kRodata).is_error());
    REQUIRE_FALSE(builder.map(V(kKernelBase + 0x107000), P(0x107000), 0x3000, kData).is_error());
    REQUIRE_FALSE(builder.map(V(kPhysmapBase), P(0), 4 * GiB, kPhysmap).is_error());
}

} // namespace

TEST_CASE("page tables for the seed's boot address space")
{
    auto layout = GENERATE(SeedLayout { true, true }, SeedLayout { true, false }, SeedLayout { false, true },
        SeedLayout { false, false });
    INFO("nx " << layout.nx << ", 1 GiB pages " << layout.one_gib_pages);
    PoolTableMemory memory(64);
    PageTableBuilder builder(memory, { .nx_supported = layout.nx, .allow_1g_pages = layout.one_gib_pages });
    map_seed_layout(builder);

    // Without NX support nothing can be non-executable, and translate() says so.
    auto effective = [&](PageFlags flags) {
        if (!layout.nx)
            flags.executable = true;
        return flags;
    };

    // Identity map: 2 MiB pages (128 MiB is not a 1 GiB multiple).
    check_translation(builder, 0, 0, 2 * MiB, kSupervisorRWX);
    check_translation(builder, 0x1234, 0x1234, 2 * MiB, kSupervisorRWX);
    check_translation(builder, 0x2ff'ffff, 0x2ff'ffff, 2 * MiB, kSupervisorRWX);
    check_translation(builder, 128 * MiB - 1, 128 * MiB - 1, 2 * MiB, kSupervisorRWX);
    check_unmapped(builder, 128 * MiB);
    check_unmapped(builder, 1 * GiB);

    // Kernel image: 4 KiB pages with per-section permissions.
    check_translation(builder, kKernelBase + 0x100000, 0x100000, 4 * KiB, effective(kText));
    check_translation(builder, kKernelBase + 0x104fff, 0x104fff, 4 * KiB, effective(kText));
    check_translation(builder, kKernelBase + 0x105000, 0x105000, 4 * KiB, effective(kRodata));
    check_translation(builder, kKernelBase + 0x106abc, 0x106abc, 4 * KiB, effective(kRodata));
    check_translation(builder, kKernelBase + 0x107000, 0x107000, 4 * KiB, effective(kData));
    check_translation(builder, kKernelBase + 0x109fff, 0x109fff, 4 * KiB, effective(kData));
    check_unmapped(builder, kKernelBase + 0x0ff000);
    check_unmapped(builder, kKernelBase + 0x10a000);
    check_unmapped(builder, kKernelBase);

    // Physmap: 1 GiB pages where allowed, 2 MiB otherwise.
    u64 physmap_page = layout.one_gib_pages ? 1 * GiB : 2 * MiB;
    check_translation(builder, kPhysmapBase, 0, physmap_page, effective(kPhysmap));
    check_translation(builder, kPhysmapBase + 0x12345, 0x12345, physmap_page, effective(kPhysmap));
    check_translation(builder, kPhysmapBase + 3 * GiB + 0x123, 3 * GiB + 0x123, physmap_page, effective(kPhysmap));
    check_translation(builder, kPhysmapBase + 4 * GiB - 1, 4 * GiB - 1, physmap_page, effective(kPhysmap));
    check_unmapped(builder, kPhysmapBase + 4 * GiB);
    check_unmapped(builder, kPhysmapBase - 1);

    // Root, PDPT and PD for the identity map (the physmap shares that PDPT:
    // PML4 slot 0), PDPT, PD and PT for the kernel image, and without 1 GiB
    // pages one PD per GiB of physmap.
    CHECK(builder.tables_allocated() == (layout.one_gib_pages ? 6u : 10u));
    CHECK(memory.used() == builder.tables_allocated());

    // Intermediate entries: Present|Writable only; no User (all mappings are
    // supervisor) and no NX (only leaves carry it).
    const u64* root = memory.table_at(builder.root());
    CHECK((root[0] & ~AddressMask) == (Present | Writable));
    CHECK((root[511] & ~AddressMask) == (Present | Writable));
    for (usize i = 1; i < 511; ++i)
        CHECK(root[i] == 0);

    // Without NX support bit 63 (reserved then) appears nowhere.
    if (!layout.nx) {
        for (usize t = 0; t < memory.used(); ++t) {
            for (u64 entry : memory.table(t))
                CHECK((entry & NoExecute) == 0);
        }
    }
}

TEST_CASE("page table leaves carry exactly the requested bits")
{
    PoolTableMemory memory(16);
    PageTableBuilder builder(memory, { .nx_supported = true, .allow_1g_pages = true });
    REQUIRE_FALSE(builder.create_root().is_error());
    REQUIRE_FALSE(builder.map(V(0x1000), P(0xabc000), 0x1000, { .writable = true, .global = true, .cache_disable = true }).is_error());

    const u64* pdpt = memory.table_at(P(memory.table_at(builder.root())[0] & AddressMask));
    const u64* pd = memory.table_at(P(pdpt[0] & AddressMask));
    const u64* pt = memory.table_at(P(pd[0] & AddressMask));
    CHECK(pt[1] == (0xabc000 | Present | Writable | Global | CacheDisable | NoExecute));
    check_translation(builder, 0x1fff, 0xabcfff, 4 * KiB, { .writable = true, .global = true, .cache_disable = true });

    // A huge leaf has PageSize set; a 4 KiB leaf never does (bit 7 is PAT there).
    REQUIRE_FALSE(builder.map(V(0x4000'0000), P(0x8000'0000), 1 * GiB, { .executable = true }).is_error());
    CHECK(pdpt[1] == (0x8000'0000 | Present | PageSize));
    CHECK((pt[1] & PageSize) == 0);
}

TEST_CASE("user mappings set User on the intermediate entries above them")
{
    PoolTableMemory memory(16);
    PageTableBuilder builder(memory, { .nx_supported = true, .allow_1g_pages = false });
    REQUIRE_FALSE(builder.create_root().is_error());
    REQUIRE_FALSE(builder.map(V(0x200000), P(0x200000), 0x1000, kSupervisorRWX).is_error());
    const u64* root = memory.table_at(builder.root());
    CHECK((root[0] & User) == 0);

    PageFlags user_data { .writable = true, .user = true };
    REQUIRE_FALSE(builder.map(V(0x201000), P(0x900000), 0x1000, user_data).is_error());
    const u64* pdpt = memory.table_at(P(root[0] & AddressMask));
    const u64* pd = memory.table_at(P(pdpt[0] & AddressMask));
    CHECK((root[0] & User) != 0);
    CHECK((pdpt[0] & User) != 0);
    CHECK((pd[1] & User) != 0);
    CHECK(builder.tables_allocated() == 4);

    check_translation(builder, 0x201008, 0x900008, 4 * KiB, user_data);
    // The leaf alone keeps the supervisor page out of user reach.
    check_translation(builder, 0x200008, 0x200008, 4 * KiB, kSupervisorRWX);
}

TEST_CASE("map rejects bad arguments without touching the tables")
{
    PoolTableMemory memory(64);
    PageTableBuilder builder(memory, { .nx_supported = true, .allow_1g_pages = true });
    REQUIRE_FALSE(builder.create_root().is_error());
    REQUIRE_FALSE(builder.map(V(0x200000), P(0x200000), 2 * MiB, kSupervisorRWX).is_error());
    usize tables = builder.tables_allocated();
    PageFlags flags { .writable = true };

    CHECK(builder.map(V(0x1001000 + 1), P(0), 0x1000, flags).error() == Error::BadAlignment);
    CHECK(builder.map(V(0x1001000), P(0x800), 0x1000, flags).error() == Error::BadAlignment);
    CHECK(builder.map(V(0x1001000), P(0), 0x1800, flags).error() == Error::BadAlignment);
    CHECK(builder.map(V(0x1001000), P(0), 0, flags).error() == Error::BadLength);

    // Non-canonical, crossing the hole, wrapping past 2^64, physical past 2^52.
    CHECK(builder.map(V(0x0000'8000'0000'0000), P(0), 0x1000, flags).error() == Error::OutOfRange);
    CHECK(builder.map(V(0xFFFF'7FFF'FFFF'F000), P(0), 0x1000, flags).error() == Error::OutOfRange);
    CHECK(builder.map(V(0x0000'7FFF'FFFF'F000), P(0), 0x2000, flags).error() == Error::OutOfRange);
    CHECK(builder.map(V(0xFFFF'FFFF'FFFF'F000), P(0), 0x2000, flags).error() == Error::OutOfRange);
    CHECK(builder.map(V(0x1000'0000), P(0x10'0000'0000'0000 - 0x1000), 0x2000, flags).error() == Error::OutOfRange);
    CHECK(builder.map(V(0x1000'0000), P(0x10'0000'0000'0000), 0x1000, flags).error() == Error::OutOfRange);

    // Overlaps: inside, straddling either end, covering, with a bigger page size.
    CHECK(builder.map(V(0x3ff000), P(0), 0x1000, flags).error() == Error::AlreadyMapped);
    CHECK(builder.map(V(0x100000), P(0), 0x200000, flags).error() == Error::AlreadyMapped);
    CHECK(builder.map(V(0x3ff000), P(0), 0x2000, flags).error() == Error::AlreadyMapped);
    CHECK(builder.map(V(0), P(0), 1 * GiB, flags).error() == Error::AlreadyMapped);
    CHECK(builder.tables_allocated() == tables);
    // Nothing of a rejected range was mapped, not even its free part.
    check_unmapped(builder, 0x100000);
    check_unmapped(builder, 0x400000);

    // The edges just outside are still free, and the very top page is mappable.
    CHECK_FALSE(builder.map(V(0x1ff000), P(0x1000), 0x1000, flags).is_error());
    CHECK_FALSE(builder.map(V(0x400000), P(0x2000), 0x1000, flags).is_error());
    CHECK_FALSE(builder.map(V(0x0000'7FFF'FFFF'F000), P(0x3000), 0x1000, flags).is_error());
    CHECK_FALSE(builder.map(V(0xFFFF'FFFF'FFFF'F000), P(0x4000), 0x1000, flags).is_error());
    CHECK_FALSE(builder.map(V(0xFFFF'8000'0000'0000), P(0x5000), 0x1000, flags).is_error());
    check_translation(builder, 0xFFFF'FFFF'FFFF'FFFF, 0x4fff, 4 * KiB, flags);
    check_translation(builder, 0x0000'7FFF'FFFF'FFFF, 0x3fff, 4 * KiB, flags);
    check_translation(builder, 0xFFFF'8000'0000'0001, 0x5001, 4 * KiB, flags);
    check_unmapped(builder, 0x0000'8000'0000'0000); // non-canonical
}

TEST_CASE("running out of table memory leaves a mapped prefix and a usable tree")
{
    PoolTableMemory memory(16, 3);
    PageTableBuilder builder(memory, { .nx_supported = true, .allow_1g_pages = true });
    REQUIRE_FALSE(builder.create_root().is_error());
    PageFlags flags { .writable = true };

    // Root, PDPT and PD fit; the PT for the 4 KiB tail does not.
    CHECK(builder.map(V(0), P(0), 2 * MiB + 0x2000, flags).error() == Error::OutOfMemory);
    check_translation(builder, 0x1f'ffff, 0x1f'ffff, 2 * MiB, flags);
    check_unmapped(builder, 0x20'0000);
    CHECK(builder.tables_allocated() == 3);

    // With more memory the rest of the range can be mapped.
    memory.set_limit(4);
    CHECK_FALSE(builder.map(V(0x20'0000), P(0x20'0000), 0x2000, flags).is_error());
    check_translation(builder, 0x20'1fff, 0x20'1fff, 4 * KiB, flags);

    // A PD is linked but its PT cannot be allocated: an empty PD stays behind...
    memory.set_limit(5);
    CHECK(builder.map(V(1 * GiB), P(0), 0x1000, flags).error() == Error::OutOfMemory);
    check_unmapped(builder, 1 * GiB);
    // ...and a later 1 GiB mapping there falls back to 2 MiB pages in it
    // instead of dropping that table.
    CHECK_FALSE(builder.map(V(1 * GiB), P(2 * GiB), 1 * GiB, flags).is_error());
    check_translation(builder, 1 * GiB + 5, 2 * GiB + 5, 2 * MiB, flags);
    check_translation(builder, 2 * GiB - 1, 3 * GiB - 1, 2 * MiB, flags);
    CHECK(builder.tables_allocated() == 5);

    PoolTableMemory no_memory(1, 0);
    PageTableBuilder rootless(no_memory, {});
    CHECK(rootless.create_root().error() == Error::OutOfMemory);
}

TEST_CASE("page tables agree with a model under random mappings")
{
    struct Mapping {
        u64 size;
        u64 physical;
        PageFlags flags;
    };
    std::map<u64, Mapping> model; // virtual start -> mapping

    PoolTableMemory memory(8192);
    PageTableBuilder builder(memory, { .nx_supported = true, .allow_1g_pages = true });
    REQUIRE_FALSE(builder.create_root().is_error());

    std::mt19937_64 random(4242);
    auto below = [&](u64 bound) { return std::uniform_int_distribution<u64>(0, bound - 1)(random); };
    constexpr u64 kWindow = 16 * GiB; // small enough that ranges collide now and then
    const u64 window_bases[] = { 0, 0x7F00'0000'0000, 0xFFFF'8000'0000'0000, 0xFFFF'FFFC'0000'0000 };

    auto overlaps_model = [&](u64 start, u64 size) {
        auto after = model.lower_bound(start);
        if (after != model.end() && after->first < start + size)
            return true;
        if (after == model.begin())
            return false;
        auto before = std::prev(after);
        return before->first + before->second.size > start;
    };

    auto check_address = [&](u64 address) {
        auto translation = builder.translate(V(address));
        auto it = model.upper_bound(address);
        bool mapped = it != model.begin() && address - std::prev(it)->first < std::prev(it)->second.size;
        INFO("virtual " << std::hex << address);
        REQUIRE(translation.has_value() == mapped);
        if (!mapped)
            return;
        auto& [start, mapping] = *std::prev(it);
        CHECK(translation->physical.get() == mapping.physical + (address - start));
        CHECK(translation->flags == mapping.flags);
        // The page that holds the address lies wholly inside its mapping.
        u64 page_size = translation->page_size;
        REQUIRE((page_size == kPageSize4KiB || page_size == kPageSize2MiB || page_size == kPageSize1GiB));
        u64 page_start = address & ~(page_size - 1);
        CHECK(page_start >= start);
        CHECK(page_start + page_size - start <= mapping.size);
        CHECK(is_aligned(translation->physical.get() - (address - page_start), page_size));
    };

    usize rejected = 0;
    for (int iteration = 0; iteration < 3000; ++iteration) {
        u64 alignment = below(10) == 0 ? (below(4) == 0 ? kPageSize1GiB : kPageSize2MiB) : kPageSize4KiB;
        u64 size;
        switch (below(8)) {
        case 0: size = (1 + below(3)) * kPageSize2MiB + below(4) * kPageSize4KiB; break;
        case 1: size = below(50) == 0 ? (1 + below(2)) * kPageSize1GiB : 300 * kPageSize4KiB; break;
        default: size = (1 + below(16)) * kPageSize4KiB; break;
        }
        u64 window = window_bases[below(4)];
        u64 start = window + align_down(below(kWindow - size), alignment);
        u64 physical = align_down(below(u64(1) << 46), alignment);
        PageFlags flags { .writable = below(2) == 1, .user = below(3) == 0, .executable = below(2) == 1,
            .global = below(2) == 1, .cache_disable = below(5) == 0 };

        auto result = builder.map(V(start), P(physical), size, flags);
        if (overlaps_model(start, size)) {
            REQUIRE(result.is_error());
            REQUIRE(result.error() == Error::AlreadyMapped);
            ++rejected;
            continue;
        }
        REQUIRE_FALSE(result.is_error());
        model[start] = { size, physical, flags };

        check_address(start);
        check_address(start + size - 1);
        check_address(start - 1);
        check_address(start + size);
    }
    CHECK(rejected > 10); // the test did exercise overlaps

    for (auto& [start, mapping] : model) {
        check_address(start);
        check_address(start + mapping.size - 1);
        check_address(start + below(mapping.size));
        check_address(start - 1);
        check_address(start + mapping.size);
    }
    for (int i = 0; i < 20000; ++i)
        check_address(window_bases[below(4)] + below(kWindow));
}

// The pager's one-walk mapping of a page (map_small_page) against map() of
// the same 4 KiB range, on two trees given the same random operations
// (4 KiB pages, now and then a 2 MiB or 1 GiB page beside or over them, bad
// addresses, a table memory that runs out): the same answer each time, the
// same translations and the same number of tables.
TEST_CASE("map_small_page answers as map() of one page and builds the same tables")
{
    PoolTableMemory memory_a(4096), memory_b(4096);
    PageTableBuilder a(memory_a, { .nx_supported = true, .allow_1g_pages = true });
    PageTableBuilder b(memory_b, { .nx_supported = true, .allow_1g_pages = true });
    REQUIRE_FALSE(a.create_root().is_error());
    REQUIRE_FALSE(b.create_root().is_error());
    std::mt19937_64 random(1414);
    auto below = [&](u64 bound) { return std::uniform_int_distribution<u64>(0, bound - 1)(random); };
    constexpr u64 kWindow = 4 * GiB; // small: pages meet large pages and each other
    std::vector<u64> touched;
    usize mapped = 0, refused = 0;
    for (int iteration = 0; iteration < 4000; ++iteration) {
        if (iteration == 3000) { // from here on, tables run out now and then
            memory_a.set_limit(memory_a.used() + 20);
            memory_b.set_limit(memory_b.used() + 20);
        }
        u64 physical = below(1u << 20) * kPageSize4KiB;
        PageFlags flags { .writable = below(2) == 0, .user = below(4) != 0, .executable = below(3) == 0,
            .software = static_cast<u8>(below(8)) };
        if (below(40) == 0) { // a large page, through map() in both
            u64 size = below(4) == 0 ? kPageSize1GiB : kPageSize2MiB;
            u64 address = below(kWindow / size) * size;
            auto in_a = a.map(V(address), P(physical & ~(size - 1)), size, flags);
            auto in_b = b.map(V(address), P(physical & ~(size - 1)), size, flags);
            REQUIRE(in_a.is_error() == in_b.is_error());
            continue;
        }
        u64 address = below(kWindow / kPageSize4KiB) * kPageSize4KiB;
        if (below(50) == 0)
            address += 8; // misaligned
        if (below(100) == 0)
            address = 0x8000'0000'0000; // not canonical
        INFO("iteration " << iteration << " virtual " << std::hex << address);
        auto by_map = a.map(V(address), P(physical), kPageSize4KiB, flags);
        auto by_one_walk = b.map_small_page(V(address), P(physical), flags);
        REQUIRE(by_map.is_error() == by_one_walk.is_error());
        if (by_map.is_error()) {
            CHECK(by_map.error() == by_one_walk.error());
            ++refused;
        } else {
            ++mapped;
        }
        touched.push_back(address & ~(kPageSize4KiB - 1));
        REQUIRE(a.tables_allocated() == b.tables_allocated());
    }
    for (u64 address : touched) {
        auto in_a = a.translate(V(address));
        auto in_b = b.translate(V(address));
        INFO("virtual " << std::hex << address);
        REQUIRE(in_a.has_value() == in_b.has_value());
        if (in_a) {
            CHECK(in_a->physical == in_b->physical);
            CHECK(in_a->page_size == in_b->page_size);
            CHECK(in_a->flags == in_b->flags);
        }
    }
    CHECK(mapped > 1000);
    CHECK(refused > 50);
}
