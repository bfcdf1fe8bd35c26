// HeapAllocator: the scheme is described in heap_allocator.hpp.
#include "heap_allocator.hpp"

namespace herald::user {

namespace heap_detail {

// A block's header; the payload follows it.
struct Block {
    uint32_t units;      // this block's size, header included, in 16-byte units (0: not a header)
    uint32_t prev_units; // the previous block's, 0 for a chunk's first block
    uint32_t flags;      // kFree or kSentinel
    uint32_t seal;       // seal_of(this)
};

// The start of every chunk; its first block follows.
struct Chunk {
    Chunk* next;   // the next older chunk
    uintptr_t end; // one past the chunk's sentinel
};

} // namespace heap_detail

using heap_detail::Block;
using heap_detail::Chunk;

namespace {

constexpr uint32_t kFree = 1;
constexpr uint32_t kSentinel = 2;
constexpr size_t kUnit = HeapAllocator::kAlignment;
constexpr uint32_t kMinUnits = 2; // a header and the free list's two links
// Chunk record + sentinel, and room for rounding an unaligned grant inwards.
constexpr size_t kChunkOverhead = 2 * kUnit;
constexpr size_t kAlignmentSlack = 2 * kUnit;

static_assert(kUnit == 16 && (kUnit & (kUnit - 1)) == 0);
static_assert(HeapAllocator::kMinGrowBytes % kHeapPageSize == 0);
static_assert(HeapAllocator::kMaxChunkBytes / kUnit <= 0x8000'0000u, "a chunk's size in units fits 32 bits, with room to add two blocks");
static_assert(HeapAllocator::kMaxRequest + kChunkOverhead + kAlignmentSlack + kUnit <= HeapAllocator::kMaxChunkBytes);

struct FreeLinks {
    void* next;
    void* prev;
};

constexpr size_t round_up(size_t value, size_t to) { return (value + to - 1) / to * to; }

// Units for a payload of `size` bytes (size <= kMaxRequest).
uint32_t units_for(size_t size)
{
    size_t units = (size + kUnit - 1) / kUnit + 1;
    return units < kMinUnits ? kMinUnits : static_cast<uint32_t>(units);
}

} // namespace

// ---- headers ----

namespace {

uint32_t seal_of(const Block* block)
{
    uint64_t x = reinterpret_cast<uintptr_t>(block) ^ 0x4845'5241'4C44'4850ull; // "HERALDHP"
    x ^= ((uint64_t(block->units) << 32) | block->prev_units) * 0x9E37'79B9'7F4A'7C15ull;
    x ^= uint64_t(block->flags) * 0xC2B2'AE3D'27D4'EB4Full;
    x ^= x >> 31;
    x *= 0xBF58'476D'1CE4'E5B9ull;
    x ^= x >> 29;
    return static_cast<uint32_t>(x ^ (x >> 32));
}

void reseal(Block* block)
{
    block->seal = seal_of(block);
}

void write_header(Block* block, uint32_t units, uint32_t prev_units, uint32_t flags)
{
    block->units = units;
    block->prev_units = prev_units;
    block->flags = flags;
    reseal(block);
}

// A header absorbed into a neighbour: no longer a block, whatever is asked.
void clear_header(Block* block)
{
    block->units = 0;
    block->prev_units = 0;
    block->flags = 0;
    block->seal = 0;
}

Block* next_of(Block* block)
{
    return reinterpret_cast<Block*>(reinterpret_cast<uintptr_t>(block) + uint64_t(block->units) * kUnit);
}

Block* prev_of(Block* block)
{
    return reinterpret_cast<Block*>(reinterpret_cast<uintptr_t>(block) - uint64_t(block->prev_units) * kUnit);
}

FreeLinks* links(Block* block)
{
    return reinterpret_cast<FreeLinks*>(reinterpret_cast<uintptr_t>(block) + kUnit);
}

void* payload(Block* block)
{
    return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(block) + kUnit);
}

Block* first_block(Chunk* chunk)
{
    return reinterpret_cast<Block*>(reinterpret_cast<uintptr_t>(chunk) + sizeof(Chunk));
}

Block* sentinel(Chunk* chunk)
{
    return reinterpret_cast<Block*>(chunk->end - kUnit);
}

} // namespace

static_assert(sizeof(Block) == kUnit);
static_assert(sizeof(Chunk) == kUnit);
static_assert(sizeof(FreeLinks) <= (kMinUnits - 1) * kUnit);

// ---- the free list ----

void HeapAllocator::push_free(Block* block)
{
    FreeLinks* l = links(block);
    l->next = m_free;
    l->prev = nullptr;
    if (m_free)
        links(m_free)->prev = block;
    m_free = block;
}

void HeapAllocator::remove_free(Block* block)
{
    FreeLinks* l = links(block);
    auto* next = static_cast<Block*>(l->next);
    auto* prev = static_cast<Block*>(l->prev);
    if (prev)
        links(prev)->next = next;
    else
        m_free = next;
    if (next)
        links(next)->prev = prev;
}

Block* HeapAllocator::find_fit(uint32_t units) const
{
    for (Block* block = m_free; block; block = static_cast<Block*>(links(block)->next)) {
        if (block->units >= units)
            return block;
    }
    return nullptr;
}

// ---- blocks ----

// `block` is marked free and is not on the free list. Merges it with free
// neighbours (taking them off the list) and returns the merged block, still
// off the list.
Block* HeapAllocator::coalesce(Block* block)
{
    Block* next = next_of(block);
    if (next->flags & kFree) {
        remove_free(next);
        block->units += next->units;
        clear_header(next);
    }
    if (block->prev_units != 0) {
        Block* prev = prev_of(block);
        if (prev->flags & kFree) {
            remove_free(prev);
            prev->units += block->units;
            clear_header(block);
            block = prev;
        }
    }
    reseal(block);
    Block* after = next_of(block);
    after->prev_units = block->units;
    reseal(after);
    return block;
}

// Cuts `block` (in use) down to `units` when what remains makes a block of
// its own, which becomes free (merged with a free right neighbour); returns
// that free block or nullptr.
Block* HeapAllocator::split(Block* block, uint32_t units)
{
    if (block->units - units < kMinUnits)
        return nullptr;
    auto* rest = reinterpret_cast<Block*>(reinterpret_cast<uintptr_t>(block) + uint64_t(units) * kUnit);
    write_header(rest, block->units - units, units, kFree);
    block->units = units;
    reseal(block);
    rest = coalesce(rest);
    push_free(rest);
    return rest;
}

void* HeapAllocator::take(Block* block, uint32_t units)
{
    remove_free(block);
    block->flags = 0;
    reseal(block);
    split(block, units);
    m_bytes_in_use += uint64_t(block->units) * kUnit;
    ++m_live_blocks;
    return payload(block);
}

// ---- the region ----

// Asks the source for enough memory that a block of `units` fits. With
// `hope_contiguous`, asks only for what the newest chunk's free tail lacks,
// expecting the grant to continue it.
bool HeapAllocator::grow_for(uint32_t units, bool hope_contiguous)
{
    if (!m_source)
        return false;
    size_t needed = uint64_t(units) * kUnit;
    size_t request = needed + kChunkOverhead + kAlignmentSlack;
    Chunk* newest = m_chunks;
    if (hope_contiguous && newest && newest->end == m_source_end) {
        Block* end = sentinel(newest);
        size_t tail = 0;
        if (end->prev_units != 0 && (prev_of(end)->flags & kFree))
            tail = uint64_t(end->prev_units) * kUnit;
        size_t extension = needed > tail ? needed - tail : 0;
        size_t chunk_bytes = newest->end - reinterpret_cast<uintptr_t>(newest);
        if (chunk_bytes + round_up(extension < kMinGrowBytes ? kMinGrowBytes : extension, kHeapPageSize) <= kMaxChunkBytes)
            request = extension;
    }
    size_t bytes = round_up(request < kMinGrowBytes ? kMinGrowBytes : request, kHeapPageSize);

    uintptr_t old_end = 0;
    if (!m_source->grow(bytes / kHeapPageSize, old_end))
        return false;
    uintptr_t new_end = 0;
    if (__builtin_add_overflow(old_end, bytes, &new_end))
        return false; // a broken source: the grant cannot be used
    m_heap_bytes += bytes;
    m_source_end = new_end;

    if (newest && old_end == newest->end && new_end - reinterpret_cast<uintptr_t>(newest) <= kMaxChunkBytes) {
        // The grant continues the newest chunk: its sentinel becomes the
        // header of the new space, and a new sentinel ends it.
        auto* space = sentinel(newest);
        write_header(space, static_cast<uint32_t>(bytes / kUnit), space->prev_units, kFree);
        newest->end = new_end;
        write_header(sentinel(newest), 1, space->units, kSentinel);
        push_free(coalesce(space));
        return true;
    }

    uintptr_t start = round_up(old_end, kUnit);
    uintptr_t end = new_end / kUnit * kUnit;
    if (end < start || end - start < kChunkOverhead + kMinUnits * kUnit)
        return false;
    auto* chunk = reinterpret_cast<Chunk*>(start);
    chunk->next = m_chunks;
    chunk->end = end;
    m_chunks = chunk;
    auto* block = first_block(chunk);
    auto block_units = static_cast<uint32_t>((end - start - kChunkOverhead) / kUnit);
    write_header(block, block_units, 0, kFree);
    write_header(sentinel(chunk), 1, block_units, kSentinel);
    push_free(block);
    return true;
}

// Gives the end of `last_free` (free, on the list) back to the source when
// it ends the region and is large.
void HeapAllocator::trim(Block* last_free)
{
    Chunk* newest = m_chunks;
    if (!m_source || !newest || newest->end != m_source_end || next_of(last_free) != sentinel(newest))
        return;
    size_t bytes = uint64_t(last_free->units) * kUnit;
    if (bytes < kTrimThreshold)
        return;
    size_t pages = (bytes - kMinGrowBytes) / kHeapPageSize;
    if (pages == 0 || !m_source->shrink(pages))
        return;
    size_t cut = pages * kHeapPageSize;
    last_free->units -= static_cast<uint32_t>(cut / kUnit);
    reseal(last_free);
    newest->end -= cut;
    write_header(sentinel(newest), 1, last_free->units, kSentinel);
    m_source_end -= cut;
    m_heap_bytes -= cut;
}

// ---- checking pointers ----

// The live block whose payload is `pointer`, or nullptr and why not. Reads
// only memory inside a chunk.
Block* HeapAllocator::find_block(const void* pointer, HeapMisuse& why) const
{
    why = HeapMisuse::ForeignPointer;
    auto address = reinterpret_cast<uintptr_t>(pointer);
    if (address % kUnit != 0)
        return nullptr;
    for (Chunk* chunk = m_chunks; chunk; chunk = chunk->next) {
        auto* first = first_block(chunk);
        auto* end = sentinel(chunk);
        // The payload of a block between the first and the sentinel.
        if (address < reinterpret_cast<uintptr_t>(payload(first))
            || address > chunk->end - kMinUnits * kUnit)
            continue;
        auto* block = reinterpret_cast<Block*>(address - kUnit);
        if (block->units < kMinUnits || (block->flags & ~kFree) != 0 || block->seal != seal_of(block))
            return nullptr;
        uint64_t room = reinterpret_cast<uintptr_t>(end) - reinterpret_cast<uintptr_t>(block);
        if (uint64_t(block->units) * kUnit > room)
            return nullptr;
        Block* next = next_of(block);
        if (next->prev_units != block->units || next->seal != seal_of(next))
            return nullptr;
        uint64_t before = reinterpret_cast<uintptr_t>(block) - reinterpret_cast<uintptr_t>(first);
        if (block->prev_units == 0 ? before != 0 : uint64_t(block->prev_units) * kUnit > before)
            return nullptr;
        if (block->prev_units != 0) {
            Block* prev = prev_of(block);
            if (prev->units != block->prev_units || prev->seal != seal_of(prev))
                return nullptr;
        }
        if (block->flags & kFree) {
            why = HeapMisuse::DoubleFree;
            return nullptr;
        }
        why = HeapMisuse::None;
        return block;
    }
    return nullptr;
}

void HeapAllocator::report(HeapMisuse misuse)
{
    ++m_misuse_count;
    m_last_misuse = misuse;
}

Block* HeapAllocator::checked_block(void* pointer)
{
    HeapMisuse why = HeapMisuse::None;
    Block* block = find_block(pointer, why);
    if (!block)
        report(why);
    return block;
}

// ---- the interface ----

void* HeapAllocator::malloc(size_t size)
{
    if (size > kMaxRequest)
        return nullptr;
    uint32_t units = units_for(size);
    if (Block* block = find_fit(units))
        return take(block, units);
    // The first grant may not continue the region after all; the second asks
    // for a whole chunk.
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!grow_for(units, attempt == 0))
            return nullptr;
        if (Block* block = find_fit(units))
            return take(block, units);
    }
    return nullptr;
}

void HeapAllocator::free(void* pointer)
{
    if (!pointer)
        return;
    Block* block = checked_block(pointer);
    if (!block)
        return;
    m_bytes_in_use -= uint64_t(block->units) * kUnit;
    --m_live_blocks;
    block->flags = kFree;
    block = coalesce(block);
    push_free(block);
    trim(block);
}

void* HeapAllocator::calloc(size_t count, size_t size)
{
    size_t total = 0;
    if (__builtin_mul_overflow(count, size, &total))
        return nullptr;
    void* pointer = malloc(total);
    if (pointer)
        __builtin_memset(pointer, 0, total);
    return pointer;
}

void* HeapAllocator::realloc(void* pointer, size_t size)
{
    if (!pointer)
        return malloc(size);
    Block* block = checked_block(pointer);
    if (!block || size > kMaxRequest)
        return nullptr;
    uint32_t units = units_for(size);
    uint32_t old_units = block->units;
    if (units <= old_units) {
        Block* rest = split(block, units);
        m_bytes_in_use -= uint64_t(old_units - block->units) * kUnit;
        if (rest)
            trim(rest);
        return pointer;
    }
    Block* next = next_of(block);
    if ((next->flags & kFree) && uint64_t(old_units) + next->units >= units) {
        remove_free(next);
        block->units += next->units;
        clear_header(next);
        reseal(block);
        Block* after = next_of(block);
        after->prev_units = block->units;
        reseal(after);
        split(block, units);
        m_bytes_in_use += uint64_t(block->units - old_units) * kUnit;
        return pointer;
    }
    void* moved = malloc(size);
    if (!moved)
        return nullptr;
    __builtin_memcpy(moved, pointer, uint64_t(old_units - 1) * kUnit);
    free(pointer);
    return moved;
}

size_t HeapAllocator::usable_size(const void* pointer) const
{
    HeapMisuse why = HeapMisuse::None;
    Block* block = pointer ? find_block(pointer, why) : nullptr;
    return block ? uint64_t(block->units - 1) * kUnit : 0;
}

// ---- statistics ----

size_t HeapAllocator::chunk_count() const
{
    size_t count = 0;
    for (Chunk* chunk = m_chunks; chunk; chunk = chunk->next)
        ++count;
    return count;
}

size_t HeapAllocator::free_block_count() const
{
    size_t count = 0;
    for (Block* block = m_free; block; block = static_cast<Block*>(links(block)->next))
        ++count;
    return count;
}

bool HeapAllocator::check_consistency() const
{
    size_t free_blocks = 0;
    size_t in_use = 0;
    size_t live = 0;
    size_t chunk_bytes = 0;
    for (Chunk* chunk = m_chunks; chunk; chunk = chunk->next) {
        auto start = reinterpret_cast<uintptr_t>(chunk);
        if (start % kUnit != 0 || chunk->end % kUnit != 0 || chunk->end < start
            || chunk->end - start < kChunkOverhead + kMinUnits * kUnit || chunk->end - start > kMaxChunkBytes)
            return false;
        chunk_bytes += chunk->end - start;
        Block* block = first_block(chunk);
        uint32_t prev_units = 0;
        bool prev_free = false;
        for (;;) {
            if (reinterpret_cast<uintptr_t>(block) + kUnit > chunk->end)
                return false;
            if (block->seal != seal_of(block) || block->prev_units != prev_units)
                return false;
            if (block->flags == kSentinel) {
                if (block->units != 1 || reinterpret_cast<uintptr_t>(block) + kUnit != chunk->end)
                    return false;
                break;
            }
            if (block->units < kMinUnits || (block->flags & ~kFree) != 0)
                return false;
            bool is_free = block->flags & kFree;
            if (is_free && prev_free)
                return false;
            if (is_free) {
                ++free_blocks;
            } else {
                in_use += uint64_t(block->units) * kUnit;
                ++live;
            }
            prev_units = block->units;
            prev_free = is_free;
            block = next_of(block);
        }
    }
    if (chunk_bytes > m_heap_bytes || in_use != m_bytes_in_use || live != m_live_blocks)
        return false;

    size_t listed = 0;
    Block* prev = nullptr;
    for (Block* block = m_free; block; block = static_cast<Block*>(links(block)->next)) {
        if (++listed > free_blocks)
            return false;
        if (!(block->flags & kFree) || links(block)->prev != prev)
            return false;
        bool inside = false;
        for (Chunk* chunk = m_chunks; chunk && !inside; chunk = chunk->next)
            inside = reinterpret_cast<uintptr_t>(block) >= reinterpret_cast<uintptr_t>(first_block(chunk))
                && reinterpret_cast<uintptr_t>(block) < chunk->end - kUnit;
        if (!inside)
            return false;
        prev = block;
    }
    return listed == free_blocks;
}

} // namespace herald::user
