// MemoryInventory: what physical memory the machine has, built once at boot
// from the firmware memory map (Multiboot's copy of the E820 map).
//
// Scheme. Firmware maps are untrusted input: entries may be unsorted,
// overlapping, duplicated, unaligned, zero-length, or so long that
// base + length wraps past 2^64. Every entry is first clipped to the
// architectural physical address limit (2^52, SDM Vol. 3A §4.1.4), which
// also means no later arithmetic can overflow; zero-length entries and
// entries starting above the limit are dropped. Then three sorted,
// non-overlapping lists of ranges are derived:
//
//   usable  RAM the firmware calls Usable and nothing else claims: the union
//           of Usable entries minus the union of every other entry (any
//           non-usable type wins where they overlap), then shrunk inward to
//           4 KiB page boundaries, since a partial page cannot be handed out.
//   free    usable minus the ranges the kernel already occupies (its image,
//           boot modules, the first 1 MiB). Those are grown outward to page
//           boundaries so that no handed-out page shares bytes with them.
//           The BootFrameAllocator takes its frames from here.
//   ram     every range that is RAM of some kind (Usable, AcpiReclaimable,
//           AcpiNvs), merged and grown outward to pages: what the physmap
//           must cover.
//
// Each list is a fixed-capacity array (no heap exists yet when this runs),
// so an inventory lives in .bss and is filled in place by build(). A list
// that would need more than kMaxRanges ranges at any point makes build()
// fail with Error::TooMany instead of overflowing.
#pragma once

#include "../boot/boot_info.hpp"
#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../lib/optional.hpp"
#include "../lib/types.hpp"

namespace herald {

inline constexpr u64 kPageSize = 4 * KiB;

// x86-64 physical addresses have at most 52 bits; nothing above can be RAM.
inline constexpr u64 kPhysicalAddressLimit = u64(1) << 52;

struct PhysicalRange {
    PhysicalAddress base;
    u64 length { 0 };

    PhysicalAddress end() const { return base.offset(length); }
    bool is_empty() const { return length == 0; }
    bool contains(PhysicalAddress address) const { return address >= base && address - base < length; }
};

// A sorted set of disjoint, non-adjacent physical ranges with set operations.
// All ranges it holds end at or below kPhysicalAddressLimit.
class PhysicalRangeSet {
public:
    static constexpr usize kMaxRanges = 256;

    // Union with `range` (clipped to the address limit). Touching ranges merge.
    ErrorOr<void> add(PhysicalRange range);
    // Removes every byte of `range`; a range split in two needs one more slot.
    ErrorOr<void> remove(PhysicalRange range);
    // Shrinks every range inward to page boundaries, dropping those left empty.
    void shrink_to_pages();
    void clear() { m_count = 0; }

    usize count() const { return m_count; }
    const PhysicalRange& operator[](usize index) const;
    const PhysicalRange* begin() const { return m_ranges; }
    const PhysicalRange* end() const { return m_ranges + m_count; }
    u64 total_bytes() const;
    bool contains(PhysicalAddress address) const;

    // Removes and returns the lowest page of the set if it lies entirely
    // below `limit`. Only for page-aligned sets (as MemoryInventory's are).
    // Never splits a range, so it cannot fail for lack of slots.
    Optional<PhysicalAddress> take_lowest_page_below(PhysicalAddress limit);

    // Removes and returns the lowest run of `pages` contiguous pages that
    // lies entirely below `limit`, taken from the start of the first range
    // long enough. Like take_lowest_page_below, it never splits a range.
    Optional<PhysicalAddress> take_lowest_run_below(PhysicalAddress limit, usize pages);

private:
    ErrorOr<void> replace(usize first, usize last, const PhysicalRange* pieces, usize piece_count);

    PhysicalRange m_ranges[kMaxRanges] {};
    usize m_count { 0 };
};

class MemoryInventory {
public:
    // Fills `out` in place. On error `out` is left cleared (no ranges).
    static ErrorOr<void> build(MemoryInventory& out, const MemoryRegion* map, usize map_count,
        const PhysicalRange* kernel_reserved, usize reserved_count);

    const PhysicalRangeSet& usable() const { return m_usable; }
    const PhysicalRangeSet& free() const { return m_free; }
    const PhysicalRangeSet& ram() const { return m_ram; }

    u64 usable_bytes() const { return m_usable.total_bytes(); }
    u64 free_bytes() const { return m_free.total_bytes(); }
    // One past the last byte of RAM (page-aligned); 0 when there is none.
    PhysicalAddress highest_ram_end() const;

    // For the BootFrameAllocator: takes one page out of the free list.
    Optional<PhysicalAddress> take_free_page_below(PhysicalAddress limit) { return m_free.take_lowest_page_below(limit); }
    Optional<PhysicalAddress> take_free_run_below(PhysicalAddress limit, usize pages)
    {
        return m_free.take_lowest_run_below(limit, pages);
    }

    // Moves every free byte in [from, to) out of the free list into `out`:
    // memory the kernel hands to the pager (pager/managed_memory.hpp).
    ErrorOr<void> hand_over_free(PhysicalAddress from, PhysicalAddress to, PhysicalRangeSet& out);

private:
    ErrorOr<void> build_usable(const MemoryRegion* map, usize map_count);
    ErrorOr<void> build_free(const PhysicalRange* kernel_reserved, usize reserved_count);
    ErrorOr<void> build_ram(const MemoryRegion* map, usize map_count);
    void clear();

    PhysicalRangeSet m_usable;
    PhysicalRangeSet m_free;
    PhysicalRangeSet m_ram;
};

// BootFrameAllocator: the kernel's first page allocator, used before any
// real one exists (e.g. for page tables). Scheme: it hands out the lowest
// free page below `limit` (the kernel passes 128 MiB, the part of memory
// mapped early, so that a frame can be reached and zeroed through that
// map), removing it from the inventory's free list so that free_bytes()
// and whatever allocator takes over later never see it again. Frames are
// never given back. The frames are not zeroed here: this code does not know
// how to reach physical memory; the caller zeroes them through its mapping.
// A limit above the end of RAM is fine: then all free memory qualifies.
class BootFrameAllocator {
public:
    BootFrameAllocator(MemoryInventory& inventory, PhysicalAddress limit) : m_inventory(inventory), m_limit(limit) { }

    Optional<PhysicalAddress> allocate_frame();
    // `pages` physically contiguous frames (kernel stacks, per-CPU areas).
    Optional<PhysicalAddress> allocate_contiguous(usize pages);
    usize frames_allocated() const { return m_frames_allocated; }
    PhysicalAddress limit() const { return m_limit; }

private:
    MemoryInventory& m_inventory;
    PhysicalAddress m_limit;
    usize m_frames_allocated { 0 };
};

} // namespace herald
