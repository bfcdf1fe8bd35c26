#include "page_table_builder.hpp"

namespace herald {

namespace {

using namespace PageTableEntryBits;

constexpr u64 kLowerHalfEnd = u64(1) << 47;               // one past the last lower-half address
constexpr u64 kUpperHalfStart = 0xFFFF'8000'0000'0000ull; // first upper-half address
constexpr u64 kPhysicalAddressEnd = u64(1) << 52;

// Bytes one entry covers at `level` (1 = PT entry: 4 KiB).
constexpr u64 span_of_level(int level) { return kPageSize4KiB << (9 * (level - 1)); }

constexpr usize index_at(u64 virtual_address, int level)
{
    return (virtual_address >> (12 + 9 * (level - 1))) & (kPageTableEntries - 1);
}

constexpr int level_for_page_size(u64 page_size)
{
    if (page_size == kPageSize1GiB)
        return 3;
    if (page_size == kPageSize2MiB)
        return 2;
    return 1;
}

constexpr bool is_present(u64 entry) { return entry & Present; }
constexpr bool is_leaf(u64 entry, int level) { return level == 1 || (entry & PageSize); }
constexpr bool is_canonical(u64 address) { return address < kLowerHalfEnd || address >= kUpperHalfStart; }

} // namespace

ErrorOr<void> PageTableBuilder::create_root()
{
    HERALD_ASSERT(!m_has_root);
    auto root = m_memory.allocate_table();
    if (!root.has_value())
        return Error::OutOfMemory;
    HERALD_ASSERT(root->is_aligned_to(kPageSize4KiB));
    m_root = *root;
    m_has_root = true;
    ++m_tables_allocated;
    return {};
}

u64* PageTableBuilder::table(u64 entry) const
{
    return m_memory.table_at(PhysicalAddress(entry & AddressMask));
}

ErrorOr<void> PageTableBuilder::validate(VirtualAddress virtual_base, PhysicalAddress physical_base, u64 size)
{
    if (!virtual_base.is_aligned_to(kPageSize4KiB) || !physical_base.is_aligned_to(kPageSize4KiB)
        || !is_aligned(size, kPageSize4KiB))
        return Error::BadAlignment;
    if (size == 0)
        return Error::BadLength;

    u64 first = virtual_base.get();
    u64 last = first + (size - 1);
    if (last < first || !is_canonical(first))
        return Error::OutOfRange;
    // Both ends in the same half: the range may not straddle the hole.
    if (first < kLowerHalfEnd && last >= kLowerHalfEnd)
        return Error::OutOfRange;

    if (physical_base.get() >= kPhysicalAddressEnd || size > kPhysicalAddressEnd - physical_base.get())
        return Error::OutOfRange;
    return {};
}

// Walks the range entry by entry; a non-present entry at a high level
// vouches for its whole span, so large empty stretches are skipped quickly.
bool PageTableBuilder::is_any_page_mapped(u64 virtual_base, u64 size) const
{
    u64 address = virtual_base;
    u64 remaining = size;
    while (remaining > 0) {
        u64* entries = m_memory.table_at(m_root);
        int level = kRootLevel;
        for (;; --level) {
            u64 entry = entries[index_at(address, level)];
            if (!is_present(entry))
                break;
            if (is_leaf(entry, level))
                return true;
            entries = table(entry);
        }
        u64 span = span_of_level(level);
        u64 step = min(span - (address & (span - 1)), remaining);
        address += step;
        remaining -= step;
    }
    return false;
}

// A leaf fits at `leaf_level` unless a table already hangs there (left
// over, possibly empty, from an earlier mapping or an aborted one).
bool PageTableBuilder::can_place_leaf(u64 virtual_address, int leaf_level) const
{
    u64* entries = m_memory.table_at(m_root);
    for (int level = kRootLevel;; --level) {
        u64 entry = entries[index_at(virtual_address, level)];
        if (!is_present(entry))
            return true;
        if (level == leaf_level || is_leaf(entry, level))
            return false;
        entries = table(entry);
    }
}

u64 PageTableBuilder::largest_page_for(u64 virtual_address, u64 physical_address, u64 remaining) const
{
    u64 candidates[] = { kPageSize1GiB, kPageSize2MiB };
    for (u64 page_size : candidates) {
        if (page_size == kPageSize1GiB && !m_options.allow_1g_pages)
            continue;
        if (is_aligned(virtual_address, page_size) && is_aligned(physical_address, page_size)
            && remaining >= page_size && can_place_leaf(virtual_address, level_for_page_size(page_size)))
            return page_size;
    }
    return kPageSize4KiB;
}

ErrorOr<void> PageTableBuilder::map(VirtualAddress virtual_base, PhysicalAddress physical_base, u64 size, PageFlags flags)
{
    HERALD_ASSERT(m_has_root);
    HERALD_TRY(validate(virtual_base, physical_base, size));
    if (is_any_page_mapped(virtual_base.get(), size))
        return Error::AlreadyMapped;

    u64 virtual_address = virtual_base.get();
    u64 physical_address = physical_base.get();
    u64 remaining = size;
    while (remaining > 0) {
        u64 page_size = largest_page_for(virtual_address, physical_address, remaining);
        HERALD_TRY(map_page(virtual_address, physical_address, page_size, flags));
        virtual_address += page_size;
        physical_address += page_size;
        remaining -= page_size;
    }
    return {};
}

// A table created here is linked with User already set (next_table_for_mapping),
// so that no CPU walking the tables meanwhile caches an entry without it
// (a spurious fault). An existing entry is written only if it lacks User:
// the upper entries are shared by every page below them, and the pager
// maps many pages under each.
ErrorOr<void> PageTableBuilder::map_small_page(VirtualAddress virtual_address, PhysicalAddress physical_address, PageFlags flags)
{
    HERALD_ASSERT(m_has_root);
    HERALD_TRY(validate(virtual_address, physical_address, kPageSize4KiB));
    u64 address = virtual_address.get();
    u64* entries = m_memory.table_at(m_root);
    for (int level = kRootLevel; level > 1; --level) {
        u64& entry = entries[index_at(address, level)];
        if (is_present(entry) && (entry & PageSize))
            return Error::AlreadyMapped; // a larger page covers it
        // The common case (the table is there, with User if needed) inline:
        // a call per level cost 84 instructions a fault in all (page_fault,
        // icount, -smp 1: 2,474 with the calls, 2,390 inline).
        if (is_present(entry) && (!flags.user || (entry & User)))
            entries = table(entry);
        else
            entries = HERALD_TRY(next_table_for_mapping(entry, flags.user));
    }
    u64& leaf = entries[index_at(address, 1)];
    if (is_present(leaf))
        return Error::AlreadyMapped;
    leaf = leaf_entry(physical_address.get(), 1, flags);
    return {};
}

ErrorOr<void> PageTableBuilder::map_page(u64 virtual_address, u64 physical_address, u64 page_size, PageFlags flags)
{
    int leaf_level = level_for_page_size(page_size);
    u64* entries = m_memory.table_at(m_root);
    for (int level = kRootLevel; level > leaf_level; --level)
        entries = HERALD_TRY(next_table_for_mapping(entries[index_at(virtual_address, level)], flags.user));

    u64& leaf = entries[index_at(virtual_address, leaf_level)];
    HERALD_ASSERT(!is_present(leaf)); // map() checked for overlaps
    leaf = leaf_entry(physical_address, leaf_level, flags);
    return {};
}

ErrorOr<void> PageTableBuilder::prepare_tables(VirtualAddress address, int level)
{
    HERALD_ASSERT(m_has_root && level >= 1 && level < kRootLevel);
    if (!is_canonical(address.get()))
        return Error::OutOfRange;
    u64* entries = m_memory.table_at(m_root);
    for (int current = kRootLevel; current > level; --current) {
        u64& entry = entries[index_at(address.get(), current)];
        if (is_present(entry) && (entry & PageSize))
            return {}; // a large page already maps it
        entries = HERALD_TRY(next_table_for_mapping(entry, false));
    }
    return {};
}

// Follows an intermediate entry, creating the table below it if needed.
ErrorOr<u64*> PageTableBuilder::next_table_for_mapping(u64& entry, bool user)
{
    if (!is_present(entry)) {
        auto frame = m_memory.allocate_table();
        if (!frame.has_value())
            return Error::OutOfMemory;
        HERALD_ASSERT(frame->is_aligned_to(kPageSize4KiB));
        ++m_tables_allocated;
        entry = frame->get() | Present | Writable | (user ? User : 0);
        return table(entry);
    }
    HERALD_ASSERT(!(entry & PageSize)); // map() checked for overlaps
    if (user && !(entry & User))
        entry |= User; // only if missing: a shared entry is not rewritten for each page
    return table(entry);
}

u64 PageTableBuilder::leaf_entry(u64 physical_address, int level, PageFlags flags) const
{
    u64 entry = physical_address | Present;
    if (level > 1)
        entry |= PageSize;
    if (flags.writable)
        entry |= Writable;
    if (flags.user)
        entry |= User;
    if (flags.global)
        entry |= Global;
    if (flags.cache_disable)
        entry |= CacheDisable;
    if (!flags.executable && m_options.nx_supported)
        entry |= NoExecute;
    entry |= static_cast<u64>(flags.software & kSoftwareBitsMask) << kSoftwareBitsShift;
    return entry;
}

ErrorOr<u64> PageTableBuilder::unmap_page(VirtualAddress address)
{
    if (!m_has_root || !is_canonical(address.get()))
        return Error::NotFound;
    u64* entries = m_memory.table_at(m_root);
    for (int level = kRootLevel; level > 1; --level) {
        u64 entry = entries[index_at(address.get(), level)];
        if (!is_present(entry) || is_leaf(entry, level))
            return Error::NotFound;
        entries = table(entry);
    }
    u64& leaf = entries[index_at(address.get(), 1)];
    if (!is_present(leaf))
        return Error::NotFound;
    u64 old = leaf;
    leaf = 0;
    return old;
}

Optional<Translation> PageTableBuilder::translate(VirtualAddress address) const
{
    u64 virtual_address = address.get();
    if (!m_has_root || !is_canonical(virtual_address))
        return nullopt;

    bool writable = true;
    bool user = true;
    bool no_execute = false;
    u64* entries = m_memory.table_at(m_root);
    for (int level = kRootLevel; level >= 1; --level) {
        u64 entry = entries[index_at(virtual_address, level)];
        if (!is_present(entry))
            return nullopt;
        writable = writable && (entry & Writable);
        user = user && (entry & User);
        no_execute = no_execute || (entry & NoExecute);
        if (!is_leaf(entry, level)) {
            entries = table(entry);
            continue;
        }
        u64 page_size = span_of_level(level);
        u64 frame = entry & AddressMask & ~(page_size - 1);
        PageFlags flags {
            .writable = writable,
            .user = user,
            .executable = !no_execute,
            .global = (entry & Global) != 0,
            .cache_disable = (entry & CacheDisable) != 0,
            .software = static_cast<u8>((entry >> kSoftwareBitsShift) & kSoftwareBitsMask),
        };
        return Translation { PhysicalAddress(frame | (virtual_address & (page_size - 1))), page_size, flags };
    }
    return nullopt;
}

} // namespace herald
