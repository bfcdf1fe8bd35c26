#include "frame_table.hpp"

namespace herald::memory {

namespace {

constexpr size_t kGroupSize = 64;

size_t round_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }
size_t group_count_for(size_t frame_count) { return round_up(frame_count, kGroupSize) / kGroupSize; }
size_t bitmap_words_for(size_t group_count) { return round_up(group_count, 64) / 64; }

// Where each part of the table starts within its storage: the entries
// first (8-byte words), then one byte per group, then the bitmap, which is
// realigned to 8 bytes because the byte counts leave it anywhere.
struct Layout {
    size_t group_free_offset;
    size_t bitmap_offset;
    size_t end;
};

Layout layout_for(size_t frame_count)
{
    size_t group_count = group_count_for(frame_count);
    Layout layout {};
    layout.group_free_offset = frame_count * sizeof(uint64_t);
    layout.bitmap_offset = round_up(layout.group_free_offset + group_count, sizeof(uint64_t));
    layout.end = layout.bitmap_offset + bitmap_words_for(group_count) * sizeof(uint64_t);
    return layout;
}

uint64_t make_entry(uint64_t physical, FrameKind kind)
{
    return (physical & kAddressMask) | (uint64_t(kind) << kKindShift) | kEntryExists;
}

bool exists(uint64_t entry) { return (entry & kEntryExists) != 0; }
FrameKind kind_in(uint64_t entry) { return FrameKind((entry & kKindMask) >> kKindShift); }

// Free is a state, not something a caller can take a frame as; values
// past Heap are not kinds at all.
bool is_taken_kind(FrameKind kind)
{
    return kind == FrameKind::Stack || kind == FrameKind::Kernel || kind == FrameKind::Heap || kind == FrameKind::Dma;
}

uint64_t bit(size_t index) { return uint64_t(1) << (index % 64); }

} // namespace

size_t FrameTable::storage_bytes(size_t frame_count)
{
    if (frame_count > kMaxFrameCount)
        return 0;
    return round_up(layout_for(frame_count).end, kFrameSize);
}

bool FrameTable::init(void* storage, uint64_t first_physical, size_t frame_count)
{
    *this = FrameTable {};
    // Checked so that no later first_physical + index * kFrameSize can overflow.
    if (first_physical % kFrameSize != 0 || first_physical > kAddressLimit)
        return false;
    if (frame_count > (kAddressLimit - first_physical) / kFrameSize)
        return false;
    if (frame_count != 0 && (storage == nullptr || reinterpret_cast<uintptr_t>(storage) % sizeof(uint64_t) != 0))
        return false;
    if (frame_count != 0)
        __builtin_memset(storage, 0, storage_bytes(frame_count));

    Layout layout = layout_for(frame_count);
    auto* bytes = static_cast<uint8_t*>(storage);
    m_entries = reinterpret_cast<uint64_t*>(bytes);
    m_group_free = bytes + layout.group_free_offset;
    m_group_bitmap = reinterpret_cast<uint64_t*>(bytes + layout.bitmap_offset);
    m_first_physical = first_physical;
    m_frame_count = frame_count;
    m_group_count = group_count_for(frame_count);
    return true;
}

bool FrameTable::add_free_range(uint64_t physical, size_t pages)
{
    size_t first;
    if (pages == 0 || !index_of(physical, first))
        return false;
    // Compared as counts, not addresses: physical + pages * kFrameSize may wrap.
    if (pages > m_frame_count - first)
        return false;
    for (size_t index = first; index < first + pages; ++index) {
        if (m_entries[index] != 0)
            return false;
    }
    for (size_t index = first; index < first + pages; ++index) {
        m_entries[index] = make_entry(m_first_physical + index * kFrameSize, FrameKind::Free);
        m_group_free[index / kGroupSize]++;
        m_group_bitmap[index / kGroupSize / 64] |= bit(index / kGroupSize);
    }
    m_counts[size_t(FrameKind::Free)] += pages;
    return true;
}

bool FrameTable::allocate(FrameKind kind, uint64_t& physical)
{
    if (!is_taken_kind(kind) || count(FrameKind::Free) == 0)
        return false;
    // The free count promises a set bit, and the bit promises a free entry in its group.
    size_t group = next_group_with_free(m_hint);
    size_t end = group * kGroupSize + kGroupSize;
    if (end > m_frame_count)
        end = m_frame_count;
    for (size_t index = group * kGroupSize; index < end; ++index) {
        uint64_t entry = m_entries[index];
        if (exists(entry) && kind_in(entry) == FrameKind::Free) {
            change_kind(index, kind);
            m_hint = group;
            physical = entry & kAddressMask;
            return true;
        }
    }
    return false; // only if the summary is corrupt
}

// One scan per group for all the frames taken from it, where allocate()
// scans from the group's start for each.
size_t FrameTable::allocate_many(FrameKind kind, uint64_t* out, size_t max)
{
    if (!is_taken_kind(kind))
        return 0;
    size_t taken = 0;
    while (taken < max && count(FrameKind::Free) != 0) {
        size_t group = next_group_with_free(m_hint);
        size_t end = group * kGroupSize + kGroupSize;
        if (end > m_frame_count)
            end = m_frame_count;
        size_t before = taken;
        for (size_t index = group * kGroupSize; index < end && taken < max && m_group_free[group] != 0; ++index) {
            uint64_t entry = m_entries[index];
            if (exists(entry) && kind_in(entry) == FrameKind::Free) {
                change_kind(index, kind);
                out[taken++] = entry & kAddressMask;
            }
        }
        m_hint = group;
        if (taken == before)
            break; // only if the summary is corrupt
    }
    return taken;
}

bool FrameTable::allocate_run(FrameKind kind, size_t pages, uint64_t& physical)
{
    if (!is_taken_kind(kind) || pages == 0 || pages > count(FrameKind::Free))
        return false;
    size_t run_start = 0;
    size_t run_length = 0;
    for (size_t index = 0; index < m_frame_count && run_length < pages;) {
        if (index % kGroupSize == 0 && m_group_free[index / kGroupSize] == 0) {
            run_length = 0; // a group with nothing free breaks any run
            index += kGroupSize;
            continue;
        }
        uint64_t entry = m_entries[index];
        if (exists(entry) && kind_in(entry) == FrameKind::Free) {
            if (run_length++ == 0)
                run_start = index;
        } else {
            run_length = 0;
        }
        ++index;
    }
    if (run_length < pages)
        return false;
    for (size_t index = run_start; index < run_start + pages; ++index)
        change_kind(index, kind);
    physical = m_first_physical + run_start * kFrameSize;
    return true;
}

bool FrameTable::claim(uint64_t physical, FrameKind kind)
{
    size_t index;
    if (!is_taken_kind(kind) || !index_of(physical, index))
        return false;
    uint64_t entry = m_entries[index];
    if (!exists(entry) || kind_in(entry) != FrameKind::Free)
        return false;
    change_kind(index, kind);
    return true;
}

bool FrameTable::retag(uint64_t physical, FrameKind kind)
{
    size_t index;
    if (!is_taken_kind(kind) || !index_of(physical, index))
        return false;
    uint64_t entry = m_entries[index];
    if (!exists(entry) || kind_in(entry) == FrameKind::Free)
        return false;
    change_kind(index, kind);
    return true;
}

FrameTable::FreeResult FrameTable::free(uint64_t physical)
{
    size_t index;
    if (!index_of(physical, index) || !exists(m_entries[index]))
        return FreeResult::NotManaged;
    if (kind_in(m_entries[index]) == FrameKind::Free)
        return FreeResult::AlreadyFree;
    change_kind(index, FrameKind::Free);
    return FreeResult::Freed;
}

bool FrameTable::kind_of(uint64_t physical, FrameKind& kind) const
{
    size_t index;
    if (!index_of(physical, index) || !exists(m_entries[index]))
        return false;
    kind = kind_in(m_entries[index]);
    return true;
}

size_t FrameTable::count(FrameKind kind) const
{
    return size_t(kind) < kKindCount ? m_counts[size_t(kind)] : 0;
}

size_t FrameTable::managed_frames() const
{
    size_t total = 0;
    for (size_t frames : m_counts)
        total += frames;
    return total;
}

uint64_t FrameTable::raw_entry(size_t index) const
{
    return index < m_frame_count ? m_entries[index] : 0;
}

bool FrameTable::check_consistency() const
{
    size_t counts[kKindCount] {};
    for (size_t group = 0; group < m_group_count; ++group) {
        size_t free_in_group = 0;
        for (size_t index = group * kGroupSize; index < m_frame_count && index < (group + 1) * kGroupSize; ++index) {
            uint64_t entry = m_entries[index];
            if (entry == 0)
                continue;
            // Nothing but the three fields, and the address is the frame's own.
            if (entry != make_entry(m_first_physical + index * kFrameSize, kind_in(entry)))
                return false;
            if (size_t(kind_in(entry)) >= kKindCount)
                return false;
            counts[size_t(kind_in(entry))]++;
            if (kind_in(entry) == FrameKind::Free)
                free_in_group++;
        }
        bool marked = (m_group_bitmap[group / 64] & bit(group)) != 0;
        if (m_group_free[group] != free_in_group || marked != (free_in_group != 0))
            return false;
    }
    // Bits for groups past the end would send allocate() outside the table.
    size_t words = bitmap_words_for(m_group_count);
    if (m_group_count % 64 != 0 && (m_group_bitmap[words - 1] >> (m_group_count % 64)) != 0)
        return false;
    for (size_t kind = 0; kind < kKindCount; ++kind) {
        if (counts[kind] != m_counts[kind])
            return false;
    }
    return m_hint == 0 || m_hint < m_group_count;
}

bool FrameTable::index_of(uint64_t physical, size_t& index) const
{
    if (physical % kFrameSize != 0 || physical < m_first_physical)
        return false;
    uint64_t frame = (physical - m_first_physical) / kFrameSize;
    if (frame >= m_frame_count)
        return false;
    index = size_t(frame);
    return true;
}

// The first group at or after `start` (wrapping around) whose bit is set.
// The start word is visited twice: first from `start` up, last in full.
size_t FrameTable::next_group_with_free(size_t start) const
{
    size_t words = bitmap_words_for(m_group_count);
    size_t word = start / 64;
    uint64_t bits = m_group_bitmap[word] & (~uint64_t(0) << (start % 64));
    for (size_t step = 0; step <= words; ++step) {
        if (bits != 0)
            return word * 64 + size_t(__builtin_ctzll(bits));
        word = (word + 1) % words;
        bits = m_group_bitmap[word];
    }
    return start; // unreachable while the free count is above zero
}

// The one place an existing frame changes kind, so the counters and the
// summary cannot drift from the entries.
void FrameTable::change_kind(size_t index, FrameKind kind)
{
    FrameKind old = kind_in(m_entries[index]);
    size_t group = index / kGroupSize;
    m_entries[index] = make_entry(m_entries[index], kind);
    m_counts[size_t(old)]--;
    m_counts[size_t(kind)]++;
    if (old == FrameKind::Free && --m_group_free[group] == 0)
        m_group_bitmap[group / 64] &= ~bit(group);
    if (kind == FrameKind::Free && m_group_free[group]++ == 0)
        m_group_bitmap[group / 64] |= bit(group);
}

} // namespace herald::memory
