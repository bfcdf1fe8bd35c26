#include "memory_inventory.hpp"

namespace herald {

namespace {

// Half-open [start, end) with both ends below the address limit: the form
// the set operations work in, where end() can never overflow.
struct Span {
    u64 start;
    u64 end;
};

PhysicalRange to_range(Span span) { return { PhysicalAddress(span.start), span.end - span.start }; }
Span to_span(const PhysicalRange& range) { return { range.base.get(), range.base.get() + range.length }; }

// Clips an untrusted (base, length) pair to [0, kPhysicalAddressLimit).
// A length that wraps past 2^64 is clamped rather than dropped: the
// firmware plainly meant "everything from base up".
Optional<Span> clip(u64 base, u64 length)
{
    if (length == 0 || base >= kPhysicalAddressLimit)
        return nullopt;
    u64 end = base + length;
    if (end < base || end > kPhysicalAddressLimit)
        end = kPhysicalAddressLimit;
    return Span { base, end };
}

Optional<Span> clip(const PhysicalRange& range) { return clip(range.base.get(), range.length); }

// Page rounding cannot overflow: both ends are at most 2^52.
Span grown_to_pages(Span span)
{
    u64 end = span.end;
    (void)align_up(span.end, kPageSize, end);
    return { align_down(span.start, kPageSize), end };
}

bool is_ram(MemoryType type)
{
    return type == MemoryType::Usable || type == MemoryType::AcpiReclaimable || type == MemoryType::AcpiNvs;
}

} // namespace

const PhysicalRange& PhysicalRangeSet::operator[](usize index) const
{
    HERALD_ASSERT(index < m_count);
    return m_ranges[index];
}

u64 PhysicalRangeSet::total_bytes() const
{
    u64 total = 0;
    for (auto& range : *this)
        total += range.length;
    return total;
}

bool PhysicalRangeSet::contains(PhysicalAddress address) const
{
    for (auto& range : *this) {
        if (range.contains(address))
            return true;
    }
    return false;
}

// Replaces m_ranges[first, last) by `pieces`, shifting the tail.
ErrorOr<void> PhysicalRangeSet::replace(usize first, usize last, const PhysicalRange* pieces, usize piece_count)
{
    usize removed = last - first;
    if (piece_count > removed && m_count + (piece_count - removed) > kMaxRanges)
        return Error::TooMany;
    usize new_count = m_count - removed + piece_count;
    // Shift the tail into place; the direction avoids overwriting what is still to move.
    if (piece_count < removed) {
        for (usize from = last; from < m_count; ++from)
            m_ranges[from - removed + piece_count] = m_ranges[from];
    } else {
        for (usize from = m_count; from > last; --from)
            m_ranges[from - 1 + piece_count - removed] = m_ranges[from - 1];
    }
    for (usize i = 0; i < piece_count; ++i)
        m_ranges[first + i] = pieces[i];
    m_count = new_count;
    return {};
}

ErrorOr<void> PhysicalRangeSet::add(PhysicalRange range)
{
    auto clipped = clip(range);
    if (!clipped.has_value())
        return {};
    Span merged = *clipped;

    // Ranges [first, last) overlap or touch the new one; they all fold into it.
    usize first = 0;
    while (first < m_count && to_span(m_ranges[first]).end < merged.start)
        ++first;
    usize last = first;
    while (last < m_count && to_span(m_ranges[last]).start <= merged.end) {
        Span existing = to_span(m_ranges[last]);
        merged.start = min(merged.start, existing.start);
        merged.end = max(merged.end, existing.end);
        ++last;
    }
    PhysicalRange piece = to_range(merged);
    return replace(first, last, &piece, 1);
}

ErrorOr<void> PhysicalRangeSet::remove(PhysicalRange range)
{
    auto clipped = clip(range);
    if (!clipped.has_value())
        return {};
    Span hole = *clipped;

    // Ranges [first, last) overlap the hole. Only the first can keep a piece
    // left of it and only the last a piece right of it.
    usize first = 0;
    while (first < m_count && to_span(m_ranges[first]).end <= hole.start)
        ++first;
    usize last = first;
    while (last < m_count && to_span(m_ranges[last]).start < hole.end)
        ++last;
    if (first == last)
        return {};

    PhysicalRange pieces[2];
    usize piece_count = 0;
    Span leftmost = to_span(m_ranges[first]);
    Span rightmost = to_span(m_ranges[last - 1]);
    if (leftmost.start < hole.start)
        pieces[piece_count++] = to_range({ leftmost.start, hole.start });
    if (rightmost.end > hole.end)
        pieces[piece_count++] = to_range({ hole.end, rightmost.end });
    return replace(first, last, pieces, piece_count);
}

void PhysicalRangeSet::shrink_to_pages()
{
    usize kept = 0;
    for (usize i = 0; i < m_count; ++i) {
        Span span = to_span(m_ranges[i]);
        u64 start = span.start;
        (void)align_up(span.start, kPageSize, start);
        u64 end = align_down(span.end, kPageSize);
        if (start < end)
            m_ranges[kept++] = to_range({ start, end });
    }
    m_count = kept;
}

Optional<PhysicalAddress> PhysicalRangeSet::take_lowest_page_below(PhysicalAddress limit)
{
    if (m_count == 0)
        return nullopt;
    PhysicalRange& lowest = m_ranges[0];
    HERALD_ASSERT(lowest.base.is_aligned_to(kPageSize) && lowest.length >= kPageSize);
    if (lowest.base >= limit || limit - lowest.base < kPageSize)
        return nullopt;
    PhysicalAddress page = lowest.base;
    if (lowest.length == kPageSize)
        (void)replace(0, 1, nullptr, 0);
    else
        lowest = { page.offset(kPageSize), lowest.length - kPageSize };
    return page;
}

Optional<PhysicalAddress> PhysicalRangeSet::take_lowest_run_below(PhysicalAddress limit, usize pages)
{
    if (pages == 0 || pages > kPhysicalAddressLimit / kPageSize)
        return nullopt;
    u64 bytes = pages * kPageSize;
    for (usize i = 0; i < m_count; ++i) {
        PhysicalRange& range = m_ranges[i];
        HERALD_ASSERT(range.base.is_aligned_to(kPageSize));
        if (range.base >= limit || limit - range.base < bytes)
            return nullopt; // ranges are sorted: every later one starts higher
        if (range.length < bytes)
            continue;
        PhysicalAddress run = range.base;
        if (range.length == bytes)
            (void)replace(i, i + 1, nullptr, 0);
        else
            range = { run.offset(bytes), range.length - bytes };
        return run;
    }
    return nullopt;
}

ErrorOr<void> MemoryInventory::build(MemoryInventory& out, const MemoryRegion* map, usize map_count,
    const PhysicalRange* kernel_reserved, usize reserved_count)
{
    out.clear();
    auto result = out.build_usable(map, map_count);
    if (!result.is_error())
        result = out.build_free(kernel_reserved, reserved_count);
    if (!result.is_error())
        result = out.build_ram(map, map_count);
    if (result.is_error())
        out.clear();
    return result;
}

void MemoryInventory::clear()
{
    m_usable.clear();
    m_free.clear();
    m_ram.clear();
}

ErrorOr<void> MemoryInventory::build_usable(const MemoryRegion* map, usize map_count)
{
    for (usize i = 0; i < map_count; ++i) {
        if (map[i].type == MemoryType::Usable)
            HERALD_TRY(m_usable.add({ map[i].base, map[i].length }));
    }
    // Only after the whole union is known: a reserved entry must win over
    // usable ones whatever order the firmware listed them in.
    for (usize i = 0; i < map_count; ++i) {
        if (map[i].type != MemoryType::Usable)
            HERALD_TRY(m_usable.remove({ map[i].base, map[i].length }));
    }
    m_usable.shrink_to_pages();
    return {};
}

ErrorOr<void> MemoryInventory::build_free(const PhysicalRange* kernel_reserved, usize reserved_count)
{
    m_free = m_usable;
    for (usize i = 0; i < reserved_count; ++i) {
        auto clipped = clip(kernel_reserved[i]);
        if (clipped.has_value())
            HERALD_TRY(m_free.remove(to_range(grown_to_pages(*clipped))));
    }
    return {};
}

ErrorOr<void> MemoryInventory::build_ram(const MemoryRegion* map, usize map_count)
{
    for (usize i = 0; i < map_count; ++i) {
        if (!is_ram(map[i].type))
            continue;
        auto clipped = clip(map[i].base.get(), map[i].length);
        if (clipped.has_value())
            HERALD_TRY(m_ram.add(to_range(grown_to_pages(*clipped))));
    }
    return {};
}

PhysicalAddress MemoryInventory::highest_ram_end() const
{
    if (m_ram.count() == 0)
        return PhysicalAddress(0);
    return m_ram[m_ram.count() - 1].end();
}

Optional<PhysicalAddress> BootFrameAllocator::allocate_contiguous(usize pages)
{
    auto run = m_inventory.take_free_run_below(m_limit, pages);
    if (run.has_value())
        m_frames_allocated += pages;
    return run;
}

Optional<PhysicalAddress> BootFrameAllocator::allocate_frame()
{
    auto frame = m_inventory.take_free_page_below(m_limit);
    if (frame.has_value())
        ++m_frames_allocated;
    return frame;
}

ErrorOr<void> MemoryInventory::hand_over_free(PhysicalAddress from, PhysicalAddress to, PhysicalRangeSet& out)
{
    if (to <= from)
        return {};
    for (const PhysicalRange& range : m_free) {
        PhysicalAddress base = max(range.base, from);
        PhysicalAddress end = min(range.end(), to);
        if (base < end)
            HERALD_TRY(out.add(PhysicalRange { base, end - base }));
    }
    return m_free.remove(PhysicalRange { from, to - from });
}

} // namespace herald
