// PageTableBuilder: builds x86-64 4-level page tables (Intel SDM Vol. 3A
// §4.5) for the kernel's boot address space.
//
// Scheme. A walk goes PML4 -> PDPT -> PD -> PT, each table 512 eight-byte
// entries in one 4 KiB frame, indexed by 9 bits of the virtual address. A
// leaf can sit in a PDPT entry (1 GiB page), a PD entry (2 MiB page) or a PT
// entry (4 KiB page). map() covers a range with the biggest pages that the
// alignment of both addresses and the remaining length allow, so an
// identity or physmap mapping costs few tables and few TLB entries.
//
// Tables come from a TableMemory: the kernel backs it with its boot frame
// allocator and reaches the frames through its early identity map; host
// tests back it with an array. The builder never frees a table.
//
// Entry bits. Intermediate entries are Present|Writable, plus User once a
// user mapping lies below them: the effective permission is the AND over
// all levels (§4.6), so the leaf alone decides. NX is written only on
// leaves and only when the CPU supports it; without EFER.NXE bit 63 is
// reserved and setting it would fault (§4.5.4), so then every mapping is
// executable and translate() says so.
//
// Failure. map() validates alignment, canonical form and overlap with
// existing mappings before it touches anything, so those errors leave the
// tables unchanged. Only running out of table memory can stop it midway:
// then the pages before the failing one stay mapped (a prefix of the
// range), the rest of the range stays unmapped,
// and tables already linked stay linked (possibly empty). The structure is
// always a valid page-table tree.
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "../lib/types.hpp"

namespace herald {

// Page-table entry bits (SDM Vol. 3A §4.5, tables 4-15 to 4-20).
namespace PageTableEntryBits {
inline constexpr u64 Present = u64(1) << 0;
inline constexpr u64 Writable = u64(1) << 1;
inline constexpr u64 User = u64(1) << 2;
inline constexpr u64 WriteThrough = u64(1) << 3;
inline constexpr u64 CacheDisable = u64(1) << 4;
inline constexpr u64 Accessed = u64(1) << 5;
inline constexpr u64 Dirty = u64(1) << 6;
inline constexpr u64 PageSize = u64(1) << 7; // in a PDPT or PD entry: this is a 1 GiB or 2 MiB leaf
inline constexpr u64 Huge = PageSize;
inline constexpr u64 Global = u64(1) << 8;
inline constexpr u64 NoExecute = u64(1) << 63;
// AVL: bits 9-11 of a leaf are free for software (SDM Vol. 3A Table 4-19).
inline constexpr u64 kSoftwareBitsShift = 9;
inline constexpr u64 kSoftwareBitsMask = 7;
// Physical address bits 51:12. In a huge-page leaf the low bits of this
// field (12 and up to the page size) hold PAT and must-be-zero bits.
inline constexpr u64 AddressMask = 0x000F'FFFF'FFFF'F000;
} // namespace PageTableEntryBits

inline constexpr u64 kPageSize4KiB = 4 * KiB;
inline constexpr u64 kPageSize2MiB = 2 * MiB;
inline constexpr u64 kPageSize1GiB = 1 * GiB;
inline constexpr usize kPageTableEntries = 512;

// Where page tables live and how to reach them.
class TableMemory {
public:
    // A zeroed, 4 KiB-aligned frame, or nullopt when memory is exhausted.
    virtual Optional<PhysicalAddress> allocate_table() = 0;
    // The 512 entries of the table at `table` (as returned by allocate_table).
    virtual u64* table_at(PhysicalAddress table) = 0;

protected:
    ~TableMemory() = default;
};

struct PageFlags {
    bool writable { false };
    bool user { false };
    bool executable { false };
    bool global { false };
    bool cache_disable { false };
    // The entry's AVL bits 9-11, which the MMU ignores: what the owner of
    // the tables records there (mm/address_space.hpp: who owns the frame).
    u8 software { 0 };

    bool operator==(const PageFlags&) const = default;
};

struct Translation {
    PhysicalAddress physical;
    u64 page_size { 0 };
    PageFlags flags; // effective: writable/user only if every level allows it
};

class PageTableBuilder {
public:
    struct Options {
        bool nx_supported { false };
        bool allow_1g_pages { false };
    };

    PageTableBuilder(TableMemory& memory, Options options) : m_memory(memory), m_options(options) { }

    // Allocates the PML4. Must be called once, before map().
    ErrorOr<void> create_root();
    PhysicalAddress root() const { return m_root; }

    // Maps [virtual_base, virtual_base + size) to [physical_base, ...).
    // BadAlignment: an address or the size is not 4 KiB-aligned.
    // BadLength: size is 0.
    // OutOfRange: a virtual address is non-canonical, the range wraps or
    //             crosses the canonical hole, or the physical range goes past 2^52.
    // AlreadyMapped: some page of the range is already mapped.
    // OutOfMemory: a table could not be allocated (see "Failure" above).
    ErrorOr<void> map(VirtualAddress virtual_base, PhysicalAddress physical_base, u64 size, PageFlags flags);

    // One 4 KiB page, in one walk of the tables: map() of a 4 KiB range
    // walks them twice (the overlap check, then the mapping) and looks for a
    // larger page first. The same answers and the same tables as map() for
    // that range (host-tested); the pager maps every page fault so.
    ErrorOr<void> map_small_page(VirtualAddress virtual_address, PhysicalAddress physical_address, PageFlags flags);

    Optional<Translation> translate(VirtualAddress address) const;

    // Clears the 4 KiB leaf that maps `address` and returns the entry it
    // held. NotFound: no 4 KiB page maps it (nothing, or a larger page).
    // The caller flushes TLBs that may hold it.
    ErrorOr<u64> unmap_page(VirtualAddress address);

    // Creates the tables above `level` for `address` (level 2: down to the
    // page directory), unless a larger page already covers it. Lets callers
    // make sure the upper levels exist before copying them elsewhere.
    ErrorOr<void> prepare_tables(VirtualAddress address, int level);

    // Tables allocated so far, the root included.
    usize tables_allocated() const { return m_tables_allocated; }

private:
    // Levels count from the leaf: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4.
    static constexpr int kRootLevel = 4;

    static ErrorOr<void> validate(VirtualAddress virtual_base, PhysicalAddress physical_base, u64 size);
    bool is_any_page_mapped(u64 virtual_base, u64 size) const;
    u64 largest_page_for(u64 virtual_address, u64 physical_address, u64 remaining) const;
    bool can_place_leaf(u64 virtual_address, int leaf_level) const;
    ErrorOr<void> map_page(u64 virtual_address, u64 physical_address, u64 page_size, PageFlags flags);
    ErrorOr<u64*> next_table_for_mapping(u64& entry, bool user);
    u64 leaf_entry(u64 physical_address, int level, PageFlags flags) const;
    u64* table(u64 entry) const;

    TableMemory& m_memory;
    Options m_options;
    PhysicalAddress m_root;
    bool m_has_root { false };
    usize m_tables_allocated { 0 };
};

} // namespace herald
