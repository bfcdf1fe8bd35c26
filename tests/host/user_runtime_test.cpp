// The portable parts of the ring-3 runtime (user/runtime/): HeapAllocator
// over a fake HeapSource, and the string helpers.
//
// The fake source hands out pages of one big host buffer. Everything it has
// not granted (and every page given back) is poisoned for ASan, so the
// allocator touching memory it does not own fails the test at once.
#include "user/runtime/heap_allocator.hpp"
#include "user/runtime/string.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <sanitizer/asan_interface.h>
#include <type_traits>
#include <vector>

using herald::user::HeapAllocator;
using herald::user::HeapMisuse;
using herald::user::HeapSource;
using herald::user::kHeapPageSize;

namespace {

constexpr size_t kPage = kHeapPageSize;
constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E37'79B9'7F4A'7C15);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EB;
    return z ^ (z >> 31);
}

// Pages of a host buffer, granted from its start like the memory server's
// heap. With gap_pages, every grant skips that many (poisoned) pages first,
// so no grant continues the previous one.
class FakeHeap : public HeapSource {
public:
    explicit FakeHeap(size_t capacity, size_t gap_pages = 0, bool allow_shrink = false)
        : m_capacity(capacity)
        , m_gap(gap_pages * kPage)
        , m_allow_shrink(allow_shrink)
        , m_limit(capacity)
    {
        m_base = static_cast<unsigned char*>(std::aligned_alloc(kPage, capacity));
        REQUIRE(m_base != nullptr);
        std::memset(m_base, 0xA5, capacity);
        ASAN_POISON_MEMORY_REGION(m_base, capacity);
    }
    ~FakeHeap()
    {
        ASAN_UNPOISON_MEMORY_REGION(m_base, m_capacity);
        std::free(m_base);
    }
    FakeHeap(const FakeHeap&) = delete;
    FakeHeap& operator=(const FakeHeap&) = delete;

    bool grow(size_t pages, uintptr_t& old_end) override
    {
        ++grow_calls;
        grants.push_back(pages);
        size_t bytes = pages * kPage;
        size_t start = m_end + m_gap;
        if (pages == 0 || start + bytes > m_capacity || granted + bytes > m_limit) {
            ++refused;
            return false;
        }
        ASAN_UNPOISON_MEMORY_REGION(m_base + start, bytes);
        std::memset(m_base + start, 0, bytes); // fresh heap pages read as zeros
        old_end = reinterpret_cast<uintptr_t>(m_base + start);
        m_end = start + bytes;
        granted += bytes;
        return true;
    }

    bool shrink(size_t pages) override
    {
        ++shrink_calls;
        size_t bytes = pages * kPage;
        if (!m_allow_shrink || bytes > granted || bytes > m_end)
            return false;
        m_end -= bytes;
        granted -= bytes;
        shrunk_pages += pages;
        std::memset(m_base + m_end, 0xDD, bytes);
        ASAN_POISON_MEMORY_REGION(m_base + m_end, bytes);
        return true;
    }

    // Grants beyond `bytes` in total are refused.
    void set_limit(size_t bytes) { m_limit = bytes; }
    unsigned char* base() const { return m_base; }
    unsigned char* end() const { return m_base + m_end; }

    size_t grow_calls = 0;
    size_t refused = 0;
    size_t shrink_calls = 0;
    size_t shrunk_pages = 0;
    size_t granted = 0;
    std::vector<size_t> grants;

private:
    unsigned char* m_base = nullptr;
    size_t m_capacity;
    size_t m_gap;
    bool m_allow_shrink;
    size_t m_limit;
    size_t m_end = 0;
};

// Takes the default bodies: refuses everything.
struct RefusingSource : HeapSource { };

// Constant-initialized, as a ring-3 program's globals must be.
constinit RefusingSource g_refusing_source;
constinit HeapAllocator g_heap_with_source { &g_refusing_source };
constinit HeapAllocator g_zero_heap;
static_assert(std::is_trivially_destructible_v<HeapAllocator>);
static_assert(std::is_trivially_destructible_v<RefusingSource>);

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

uint8_t pattern_byte(uint32_t tag, size_t index)
{
    return static_cast<uint8_t>(tag ^ (index * 131) ^ (index >> 8) ^ (tag >> 8));
}

void fill(void* pointer, size_t size, uint32_t tag)
{
    auto* bytes = static_cast<unsigned char*>(pointer);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = pattern_byte(tag, i);
}

// The first mismatch, or size when all `size` bytes hold the pattern.
size_t check_pattern(const void* pointer, size_t size, uint32_t tag)
{
    auto* bytes = static_cast<const unsigned char*>(pointer);
    for (size_t i = 0; i < size; ++i) {
        if (bytes[i] != pattern_byte(tag, i))
            return i;
    }
    return size;
}

bool all_zero(const void* pointer, size_t size)
{
    auto* bytes = static_cast<const unsigned char*>(pointer);
    for (size_t i = 0; i < size; ++i) {
        if (bytes[i] != 0)
            return false;
    }
    return true;
}

// Sizes from 0 to 64 KiB, mostly small.
size_t random_size(uint64_t& rng)
{
    uint64_t kind = splitmix64(rng) % 100;
    if (kind < 60)
        return splitmix64(rng) % 257;
    if (kind < 90)
        return splitmix64(rng) % 4097;
    return splitmix64(rng) % (64 * kKiB + 1);
}

struct LiveBlock {
    void* pointer;
    size_t size;
    uint32_t tag;
};

// Live blocks by address, with the bytes each may use, to prove no two overlap.
class Ranges {
public:
    void add(const HeapAllocator& heap, void* pointer, size_t size)
    {
        auto start = reinterpret_cast<uintptr_t>(pointer);
        size_t usable = heap.usable_size(pointer);
        REQUIRE(usable >= size);
        uintptr_t end = start + usable;
        auto next = m_ranges.lower_bound(start);
        if (next != m_ranges.end())
            REQUIRE(next->first >= end);
        if (next != m_ranges.begin())
            REQUIRE(std::prev(next)->second <= start);
        m_ranges[start] = end;
    }
    void remove(void* pointer) { REQUIRE(m_ranges.erase(reinterpret_cast<uintptr_t>(pointer)) == 1); }

private:
    std::map<uintptr_t, uintptr_t> m_ranges;
};

struct Config {
    const char* name;
    size_t gap_pages;
    bool allow_shrink;
};

void run_random_workload(const Config& config, uint64_t seed, int operations)
{
    INFO(config.name << ", seed " << seed);
    FakeHeap source(512 * kMiB, config.gap_pages, config.allow_shrink);
    HeapAllocator heap(&source);
    std::vector<LiveBlock> live;
    Ranges ranges;
    uint64_t rng = seed;
    uint32_t next_tag = 1;
    size_t failures = 0;

    auto take_out = [&](size_t index) {
        LiveBlock block = live[index];
        live[index] = live.back();
        live.pop_back();
        return block;
    };

    for (int op = 0; op < operations; ++op) {
        uint64_t choice = splitmix64(rng) % 100;
        // Keep the live set from growing without bound.
        if (live.size() > 300 && choice < 50)
            choice += 50;
        if (live.empty() && choice >= 50)
            choice %= 50;

        if (choice < 35) { // malloc
            size_t size = random_size(rng);
            void* pointer = heap.malloc(size);
            if (!pointer) {
                ++failures;
                continue;
            }
            REQUIRE(aligned16(pointer));
            ranges.add(heap, pointer, size);
            uint32_t tag = next_tag++;
            fill(pointer, size, tag);
            live.push_back({ pointer, size, tag });
        } else if (choice < 50) { // calloc
            size_t count = splitmix64(rng) % 64 + 1;
            size_t size = random_size(rng) / count;
            void* pointer = heap.calloc(count, size);
            if (!pointer) {
                ++failures;
                continue;
            }
            REQUIRE(aligned16(pointer));
            REQUIRE(all_zero(pointer, count * size));
            ranges.add(heap, pointer, count * size);
            uint32_t tag = next_tag++;
            fill(pointer, count * size, tag);
            live.push_back({ pointer, count * size, tag });
        } else if (choice < 80) { // free
            LiveBlock block = take_out(splitmix64(rng) % live.size());
            REQUIRE(check_pattern(block.pointer, block.size, block.tag) == block.size);
            ranges.remove(block.pointer);
            heap.free(block.pointer);
        } else { // realloc
            size_t index = splitmix64(rng) % live.size();
            LiveBlock& block = live[index];
            REQUIRE(check_pattern(block.pointer, block.size, block.tag) == block.size);
            size_t size = random_size(rng);
            ranges.remove(block.pointer);
            void* pointer = heap.realloc(block.pointer, size);
            if (!pointer) {
                ++failures;
                ranges.add(heap, block.pointer, block.size);
                continue;
            }
            REQUIRE(aligned16(pointer));
            size_t kept = size < block.size ? size : block.size;
            REQUIRE(check_pattern(pointer, kept, block.tag) == kept);
            ranges.add(heap, pointer, size);
            uint32_t tag = next_tag++;
            fill(pointer, size, tag);
            block = { pointer, size, tag };
        }
        if (op % 64 == 0)
            REQUIRE(heap.check_consistency());
        REQUIRE(heap.live_blocks() == live.size());
    }
    CHECK(failures == 0);
    REQUIRE(heap.check_consistency());
    CHECK(heap.misuse_count() == 0);

    while (!live.empty()) {
        LiveBlock block = take_out(live.size() - 1);
        REQUIRE(check_pattern(block.pointer, block.size, block.tag) == block.size);
        heap.free(block.pointer);
    }
    REQUIRE(heap.check_consistency());
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.live_blocks() == 0);
    // Everything coalesced: one free block per chunk.
    CHECK(heap.free_block_count() == heap.chunk_count());
    CHECK(heap.heap_bytes() == source.granted);
    if (config.gap_pages == 0)
        CHECK(heap.chunk_count() == 1); // every grant continued the region
    else
        CHECK(heap.chunk_count() == source.grow_calls - source.refused);
    if (config.allow_shrink) {
        CHECK(source.shrunk_pages > 0);
        CHECK(heap.heap_bytes() < HeapAllocator::kTrimThreshold);
    }
    for (size_t pages : source.grants) {
        CHECK(pages * kPage >= HeapAllocator::kMinGrowBytes);
    }
}

} // namespace

// ---- HeapAllocator ----

TEST_CASE("heap allocator: randomized malloc/free/realloc/calloc keep every block intact", "[user_runtime]")
{
    const Config configs[] = {
        { "contiguous source", 0, false },
        { "contiguous source that takes pages back", 0, true },
        { "source whose grants never touch", 3, false },
    };
    for (const Config& config : configs) {
        for (uint64_t seed : { 1ull, 0xC0FFEEull }) {
            run_random_workload(config, seed, 6000);
        }
    }
}

TEST_CASE("heap allocator: blocks are 16-byte aligned and distinct, malloc(0) included", "[user_runtime]")
{
    FakeHeap source(16 * kMiB);
    HeapAllocator heap(&source);
    void* a = heap.malloc(0);
    void* b = heap.malloc(0);
    void* c = heap.malloc(1);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    REQUIRE(c != nullptr);
    CHECK(a != b);
    CHECK(b != c);
    for (void* pointer : { a, b, c }) {
        CHECK(aligned16(pointer));
        CHECK(heap.usable_size(pointer) == 16);
        CHECK(reinterpret_cast<unsigned char*>(pointer) >= source.base());
        CHECK(reinterpret_cast<unsigned char*>(pointer) + 16 <= source.end());
    }
    CHECK(heap.usable_size(heap.malloc(17)) == 32);
    CHECK(heap.live_blocks() == 4);
    CHECK(heap.bytes_in_use() == 3 * 32 + 48);
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: grows by whole pages, at least 64 KiB, continuing its region", "[user_runtime]")
{
    FakeHeap source(64 * kMiB);
    HeapAllocator heap(&source);
    CHECK(heap.heap_bytes() == 0);
    CHECK(heap.chunk_count() == 0);

    void* small = heap.malloc(1);
    REQUIRE(small != nullptr);
    REQUIRE(source.grants == std::vector<size_t> { 16 });
    CHECK(heap.heap_bytes() == 64 * kKiB);

    // Fills the first 64 KiB without asking again.
    std::vector<void*> blocks;
    for (int i = 0; i < 30; ++i)
        blocks.push_back(heap.malloc(2000));
    CHECK(source.grow_calls == 1);

    void* big = heap.malloc(300 * kKiB);
    REQUIRE(big != nullptr);
    REQUIRE(source.grow_calls == 2);
    CHECK(source.grants[1] * kPage >= 300 * kKiB - 64 * kKiB);
    CHECK(heap.chunk_count() == 1);
    CHECK(heap.heap_bytes() == source.granted);
    std::memset(big, 0x5A, 300 * kKiB);
    CHECK(heap.check_consistency());

    // A block that needs more than the free tail: the grant extends it.
    void* bigger = heap.malloc(1 * kMiB);
    REQUIRE(bigger != nullptr);
    CHECK(heap.chunk_count() == 1);
    for (size_t pages : source.grants)
        CHECK(pages >= 16);
    heap.free(small);
    heap.free(big);
    heap.free(bigger);
    for (void* block : blocks)
        heap.free(block);
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: grants that do not continue the region become chunks of their own", "[user_runtime]")
{
    FakeHeap source(64 * kMiB, 1);
    HeapAllocator heap(&source);
    void* a = heap.malloc(60 * kKiB);
    void* b = heap.malloc(60 * kKiB);  // does not fit the first chunk's rest
    void* c = heap.malloc(200 * kKiB); // the hoped-for extension is refused as a continuation
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    REQUIRE(c != nullptr);
    CHECK(heap.chunk_count() == source.grow_calls);
    CHECK(heap.chunk_count() >= 3);
    CHECK(heap.check_consistency());
    // A pointer into a gap between chunks (poisoned) is refused without a read.
    CHECK(heap.usable_size(source.base() + 64 * kKiB + 64) == 0);
    heap.free(source.base() + 64 * kKiB + 64);
    CHECK(heap.last_misuse() == HeapMisuse::ForeignPointer);
    heap.free(a);
    heap.free(b);
    heap.free(c);
    CHECK(heap.free_block_count() == heap.chunk_count());
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: free coalesces with both neighbours", "[user_runtime]")
{
    FakeHeap source(16 * kMiB);
    HeapAllocator heap(&source);
    void* blocks[6];
    for (auto& block : blocks)
        block = heap.malloc(100);
    void* guard = heap.malloc(100);
    size_t free_before = heap.free_block_count(); // the tail of the chunk
    CHECK(free_before == 1);

    heap.free(blocks[1]);
    heap.free(blocks[3]);
    CHECK(heap.free_block_count() == 3);
    heap.free(blocks[2]); // joins 1 and 3 into one
    CHECK(heap.free_block_count() == 2);
    heap.free(blocks[0]); // joins the front
    CHECK(heap.free_block_count() == 2);
    heap.free(blocks[4]);
    CHECK(heap.free_block_count() == 2);
    CHECK(heap.check_consistency());

    // The joined space serves a block as large as all five.
    void* joined = heap.malloc(5 * 112 - 16);
    CHECK(joined == blocks[0]);
    heap.free(joined);
    heap.free(blocks[5]);
    heap.free(guard);
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: realloc shrinks and grows in place, moves otherwise", "[user_runtime]")
{
    FakeHeap source(16 * kMiB);
    HeapAllocator heap(&source);

    SECTION("realloc(nullptr, n) is malloc(n)")
    {
        void* pointer = heap.realloc(nullptr, 40);
        REQUIRE(pointer != nullptr);
        CHECK(heap.usable_size(pointer) == 48);
    }
    SECTION("in place")
    {
        void* a = heap.malloc(1000);
        void* b = heap.malloc(1000);
        fill(a, 1000, 7);
        CHECK(heap.realloc(a, 100) == a); // shrinks, the rest becomes free
        CHECK(heap.usable_size(a) == 112);
        CHECK(check_pattern(a, 100, 7) == 100);
        CHECK(heap.free_block_count() == 2);
        CHECK(heap.realloc(a, 900) == a); // grows back into its freed rest
        CHECK(check_pattern(a, 100, 7) == 100);
        CHECK(heap.realloc(a, 0) == a); // a minimal block, still allocated
        CHECK(heap.usable_size(a) == 16);
        CHECK(heap.live_blocks() == 2);
        heap.free(b);
        heap.free(a);
        CHECK(heap.free_block_count() == 1);
    }
    SECTION("moves when the neighbour is taken")
    {
        void* a = heap.malloc(64);
        void* b = heap.malloc(64);
        fill(a, 64, 9);
        void* moved = heap.realloc(a, 4000);
        REQUIRE(moved != nullptr);
        CHECK(moved != a);
        CHECK(check_pattern(moved, 64, 9) == 64);
        CHECK(heap.usable_size(a) == 0); // the old block was freed
        heap.free(moved);
        heap.free(b);
    }
    CHECK(heap.check_consistency());
    CHECK(heap.misuse_count() == 0);
}

TEST_CASE("heap allocator: calloc zeroes reused memory and refuses overflow", "[user_runtime]")
{
    FakeHeap source(16 * kMiB);
    HeapAllocator heap(&source);
    void* dirty = heap.malloc(1000);
    std::memset(dirty, 0xFF, 1000);
    heap.free(dirty);
    void* clean = heap.calloc(10, 100);
    REQUIRE(clean != nullptr);
    CHECK(all_zero(clean, 1000));
    CHECK(heap.calloc(0, 10) != nullptr);

    size_t grows = source.grow_calls;
    CHECK(heap.calloc(SIZE_MAX / 2, 3) == nullptr);
    CHECK(heap.calloc(size_t(1) << 32, size_t(1) << 32) == nullptr);
    CHECK(heap.calloc(size_t(1) << 20, size_t(1) << 20) == nullptr); // 1 TiB: above kMaxRequest
    CHECK(source.grow_calls == grows);
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: exhaustion returns nullptr and keeps the heap intact", "[user_runtime]")
{
    SECTION("no source, or one that refuses")
    {
        HeapAllocator heap;
        CHECK(heap.malloc(1) == nullptr);
        CHECK(heap.calloc(1, 1) == nullptr);
        CHECK(heap.realloc(nullptr, 1) == nullptr);
        heap.free(nullptr);
        CHECK(heap.misuse_count() == 0);
        CHECK(heap.check_consistency());

        CHECK(g_zero_heap.malloc(16) == nullptr);
        CHECK(g_heap_with_source.malloc(16) == nullptr);
        CHECK(g_heap_with_source.source() == &g_refusing_source);
        RefusingSource refusing;
        HeapAllocator with_refusing(&refusing);
        CHECK(with_refusing.malloc(100) == nullptr);
        CHECK(with_refusing.heap_bytes() == 0);
    }
    SECTION("a source that runs out")
    {
        FakeHeap source(16 * kMiB);
        source.set_limit(256 * kKiB);
        HeapAllocator heap(&source);
        std::vector<void*> blocks;
        for (;;) {
            void* block = heap.malloc(16 * kKiB);
            if (!block)
                break;
            fill(block, 16 * kKiB, static_cast<uint32_t>(blocks.size()));
            blocks.push_back(block);
            REQUIRE(blocks.size() < 100);
        }
        CHECK(blocks.size() >= 14);
        CHECK(source.refused > 0);
        CHECK(heap.heap_bytes() <= 256 * kKiB);
        CHECK(heap.check_consistency());

        // Smaller blocks still come from what is left, realloc that cannot
        // grow leaves the block alone, and freed space is reused.
        void* small = heap.malloc(100);
        CHECK(small != nullptr);
        CHECK(heap.realloc(blocks[0], 1 * kMiB) == nullptr);
        CHECK(check_pattern(blocks[0], 16 * kKiB, 0) == 16 * kKiB);
        heap.free(blocks[3]);
        void* again = heap.malloc(16 * kKiB);
        CHECK(again == blocks[3]);
        blocks[3] = again;
        fill(again, 16 * kKiB, 3);
        for (size_t i = 0; i < blocks.size(); ++i)
            CHECK(check_pattern(blocks[i], 16 * kKiB, static_cast<uint32_t>(i)) == 16 * kKiB);
        CHECK(heap.misuse_count() == 0);
        CHECK(heap.check_consistency());
    }
    SECTION("sizes too large to ask for")
    {
        FakeHeap source(16 * kMiB);
        HeapAllocator heap(&source);
        void* block = heap.malloc(10);
        size_t grows = source.grow_calls;
        CHECK(heap.malloc(SIZE_MAX) == nullptr);
        CHECK(heap.malloc(SIZE_MAX - 15) == nullptr);
        CHECK(heap.malloc(HeapAllocator::kMaxRequest + 1) == nullptr);
        CHECK(heap.realloc(block, SIZE_MAX) == nullptr);
        CHECK(source.grow_calls == grows);
        CHECK(heap.malloc(HeapAllocator::kMaxRequest) == nullptr); // asked, and refused
        CHECK(source.grow_calls > grows);
        CHECK(heap.usable_size(block) == 16);
        CHECK(heap.check_consistency());
    }
}

TEST_CASE("heap allocator: large free space at the end goes back to the source", "[user_runtime]")
{
    FakeHeap source(64 * kMiB, 0, true);
    HeapAllocator heap(&source);
    void* keep = heap.malloc(100);
    void* big = heap.malloc(2 * kMiB);
    REQUIRE(big != nullptr);
    std::memset(big, 1, 2 * kMiB);
    size_t before = heap.heap_bytes();
    CHECK(before >= 2 * kMiB);

    heap.free(big);
    CHECK(source.shrink_calls == 1);
    CHECK(heap.heap_bytes() < HeapAllocator::kTrimThreshold);
    CHECK(heap.heap_bytes() == source.granted);
    CHECK(heap.check_consistency());
    // big's header now heads the trimmed free block; the pages given back
    // are poisoned, and a pointer there is refused unread.
    heap.free(big);
    CHECK(heap.last_misuse() == HeapMisuse::DoubleFree);
    heap.free(static_cast<unsigned char*>(big) + 1 * kMiB);
    CHECK(heap.last_misuse() == HeapMisuse::ForeignPointer);
    CHECK(heap.misuse_count() == 2);

    // realloc shrinking a large last block gives its end back too.
    void* again = heap.malloc(1 * kMiB);
    REQUIRE(again != nullptr);
    CHECK(heap.chunk_count() == 1);
    CHECK(heap.realloc(again, 100) == again);
    CHECK(source.shrink_calls == 2);
    CHECK(heap.heap_bytes() < HeapAllocator::kTrimThreshold);

    // Small frees do not ask.
    void* medium = heap.malloc(10 * kKiB);
    heap.free(medium);
    CHECK(source.shrink_calls == 2);
    heap.free(again);
    heap.free(keep);
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.check_consistency());
}

TEST_CASE("heap allocator: a source that refuses to shrink changes nothing", "[user_runtime]")
{
    FakeHeap source(64 * kMiB, 0, false);
    HeapAllocator heap(&source);
    void* big = heap.malloc(1 * kMiB);
    size_t bytes = heap.heap_bytes();
    heap.free(big);
    CHECK(source.shrink_calls == 1);
    CHECK(heap.heap_bytes() == bytes);
    CHECK(heap.check_consistency());
    CHECK(heap.malloc(1 * kMiB) == big);
}

TEST_CASE("heap allocator: misuse is counted and refused without harm", "[user_runtime]")
{
    FakeHeap source(16 * kMiB);
    HeapAllocator heap(&source);
    auto* a = static_cast<unsigned char*>(heap.malloc(200));
    auto* b = static_cast<unsigned char*>(heap.malloc(200));
    auto* c = static_cast<unsigned char*>(heap.calloc(1, 200));
    auto* d = static_cast<unsigned char*>(heap.malloc(200));
    fill(a, 200, 1);
    fill(b, 200, 2);
    fill(d, 200, 4);

    SECTION("free(nullptr) is a no-op")
    {
        heap.free(nullptr);
        CHECK(heap.misuse_count() == 0);
        CHECK(heap.last_misuse() == HeapMisuse::None);
    }
    SECTION("double free")
    {
        heap.free(a);
        heap.free(a);
        CHECK(heap.misuse_count() == 1);
        CHECK(heap.last_misuse() == HeapMisuse::DoubleFree);
        CHECK(heap.realloc(a, 10) == nullptr);
        CHECK(heap.misuse_count() == 2);
        CHECK(heap.usable_size(a) == 0);
        CHECK(heap.misuse_count() == 2); // usable_size does not count
        CHECK(heap.free_block_count() == 2);
    }
    SECTION("double free of a block merged into its free neighbour")
    {
        heap.free(a);
        heap.free(b); // merges into a: b's header is gone
        heap.free(b);
        CHECK(heap.misuse_count() == 1);
        CHECK(heap.last_misuse() == HeapMisuse::ForeignPointer);
        heap.free(a);
        CHECK(heap.misuse_count() == 2);
        CHECK(heap.last_misuse() == HeapMisuse::DoubleFree);
    }
    SECTION("pointers never handed out")
    {
        alignas(16) unsigned char on_stack[64] {};
        void* host = std::malloc(64);
        heap.free(on_stack);
        heap.free(host);
        heap.free(source.base());                 // the chunk record
        heap.free(source.base() + 16);            // the first block's header
        heap.free(source.base() + 64 * kKiB - 16); // the sentinel
        heap.free(source.base() + 64 * kKiB);     // just past the region
        heap.free(reinterpret_cast<void*>(UINTPTR_MAX & ~uintptr_t(15)));
        heap.free(reinterpret_cast<void*>(16));
        CHECK(heap.misuse_count() == 8);
        CHECK(heap.last_misuse() == HeapMisuse::ForeignPointer);
        CHECK(heap.realloc(on_stack, 10) == nullptr);
        CHECK(heap.misuse_count() == 9);
        std::free(host);
    }
    SECTION("pointers into the middle of a block")
    {
        heap.free(a + 1);  // misaligned
        heap.free(a + 16); // a's own bytes as a header
        heap.free(a + 192);
        heap.free(c + 16); // zeros
        heap.free(c + 64);
        // A copy of a real header elsewhere: the seal names its address.
        std::memcpy(d + 32, b - 16, 16);
        heap.free(d + 48);
        CHECK(heap.misuse_count() == 6);
        CHECK(heap.last_misuse() == HeapMisuse::ForeignPointer);
        CHECK(heap.usable_size(a + 16) == 0);
        CHECK(heap.usable_size(d + 48) == 0);
        fill(d, 200, 4);
    }
    SECTION("a pointer from another allocator")
    {
        FakeHeap other_source(16 * kMiB);
        HeapAllocator other(&other_source);
        void* theirs = other.malloc(200);
        heap.free(theirs);
        CHECK(heap.misuse_count() == 1);
        CHECK(other.usable_size(theirs) == 208);
        other.free(theirs);
        CHECK(other.misuse_count() == 0);
    }

    // Whatever happened, the heap is whole and the other blocks untouched.
    CHECK(heap.check_consistency());
    CHECK(check_pattern(d, 200, 4) == 200);
    if (heap.usable_size(b) != 0)
        CHECK(check_pattern(b, 200, 2) == 200);
    heap.free(b);
    heap.free(c);
    heap.free(d);
    if (heap.usable_size(a) != 0)
        heap.free(a);
    CHECK(heap.bytes_in_use() == 0);
    CHECK(heap.free_block_count() == 1);
    CHECK(heap.check_consistency());
}

// ---- strings ----

namespace str = herald::user;

static_assert(str::strlen("") == 0);
static_assert(str::strlen("herald") == 6);
static_assert(str::strcmp("a", "b") < 0);

namespace {

constexpr uint64_t parsed(const char* text)
{
    uint64_t value = 0xDEAD;
    return str::parse_u64(text, value) ? value : 0xDEAD;
}
static_assert(parsed("4096") == 4096);
static_assert(parsed("0x1000") == 4096);
static_assert(parsed("x") == 0xDEAD);

constexpr size_t token_count(const char* text)
{
    size_t count = 0;
    while (!str::next_token(text).empty())
        ++count;
    return count;
}
static_assert(token_count("  a bb\tccc \n") == 3);

} // namespace

TEST_CASE("strings: lengths", "[user_runtime]")
{
    CHECK(str::strlen("") == 0);
    CHECK(str::strlen("abc") == 3);
    CHECK(str::strlen("a\0b") == 1);
    CHECK(str::strnlen("abc", 0) == 0);
    CHECK(str::strnlen("abc", 2) == 2);
    CHECK(str::strnlen("abc", 3) == 3);
    CHECK(str::strnlen("abc", 100) == 3);
    const char unterminated[4] = { 'w', 'x', 'y', 'z' };
    CHECK(str::strnlen(unterminated, sizeof unterminated) == 4); // reads no further
}

TEST_CASE("strings: comparisons", "[user_runtime]")
{
    CHECK(str::strcmp("", "") == 0);
    CHECK(str::strcmp("abc", "abc") == 0);
    CHECK(str::strcmp("abc", "abd") < 0);
    CHECK(str::strcmp("abd", "abc") > 0);
    CHECK(str::strcmp("ab", "abc") < 0);
    CHECK(str::strcmp("abc", "ab") > 0);
    CHECK(str::strcmp("", "a") < 0);
    CHECK(str::strcmp("\x80", "a") > 0); // unsigned, as in C
    CHECK(str::strings_equal("x", "x"));
    CHECK_FALSE(str::strings_equal("x", "xy"));

    CHECK(str::strncmp("abc", "abd", 0) == 0);
    CHECK(str::strncmp("abc", "abd", 2) == 0);
    CHECK(str::strncmp("abc", "abd", 3) < 0);
    CHECK(str::strncmp("ab", "abc", 5) < 0);
    CHECK(str::strncmp("abc", "abc", 10) == 0); // stops at the terminator
    CHECK(str::strncmp("\xff", "\x01", 1) > 0);
    const char left[3] = { 'a', 'b', 'c' }; // no terminators: n bounds the read
    const char right[3] = { 'a', 'b', 'c' };
    CHECK(str::strncmp(left, right, 3) == 0);

    CHECK(str::starts_with("hello", ""));
    CHECK(str::starts_with("", ""));
    CHECK(str::starts_with("hello", "he"));
    CHECK(str::starts_with("hello", "hello"));
    CHECK_FALSE(str::starts_with("hello", "hello!"));
    CHECK_FALSE(str::starts_with("he", "hello"));
    CHECK_FALSE(str::starts_with("", "h"));
    CHECK_FALSE(str::starts_with("hello", "hx"));
}

TEST_CASE("strings: copy_string always terminates and reports the length it wanted", "[user_runtime]")
{
    char buffer[8];
    std::memset(buffer, '#', sizeof buffer);
    CHECK(str::copy_string(buffer, sizeof buffer, "abc") == 3);
    CHECK(std::string(buffer) == "abc");

    std::memset(buffer, '#', sizeof buffer);
    CHECK(str::copy_string(buffer, sizeof buffer, "1234567") == 7); // exactly fits
    CHECK(std::string(buffer) == "1234567");

    std::memset(buffer, '#', sizeof buffer);
    CHECK(str::copy_string(buffer, sizeof buffer, "123456789") == 9); // truncated: 9 >= 8
    CHECK(std::string(buffer) == "1234567");

    std::memset(buffer, '#', sizeof buffer);
    CHECK(str::copy_string(buffer, 1, "abc") == 3);
    CHECK(buffer[0] == '\0');
    CHECK(buffer[1] == '#');

    std::memset(buffer, '#', sizeof buffer);
    CHECK(str::copy_string(buffer, 0, "abc") == 3);
    CHECK(buffer[0] == '#');
    CHECK(str::copy_string(nullptr, 0, "abcd") == 4);

    CHECK(str::copy_string(buffer, sizeof buffer, "") == 0);
    CHECK(buffer[0] == '\0');
}

TEST_CASE("strings: next_token splits on whitespace", "[user_runtime]")
{
    const char* line = "  map 0x1000\t4 \r\n";
    const char* cursor = line;
    auto first = str::next_token(cursor);
    CHECK(first.equals("map"));
    CHECK(first.text == line + 2);
    CHECK(first.length == 3);
    CHECK(str::skip_spaces(cursor) == line + 6);
    CHECK(str::next_token(cursor).equals("0x1000"));
    CHECK(str::next_token(cursor).equals("4"));
    auto end = str::next_token(cursor);
    CHECK(end.empty());
    CHECK(*end.text == '\0');
    CHECK(*cursor == '\0');
    CHECK(str::next_token(cursor).empty()); // stays at the end

    const char* empty = "";
    CHECK(str::next_token(empty).empty());
    const char* blank = " \t \n";
    CHECK(str::next_token(blank).empty());
    CHECK(*blank == '\0');
    const char* single = "word";
    CHECK(str::next_token(single).equals("word"));
    CHECK(*single == '\0');

    const char* words = "ab abc";
    auto ab = str::next_token(words);
    CHECK(ab.equals("ab"));
    CHECK_FALSE(ab.equals("a"));
    CHECK_FALSE(ab.equals("abc"));
    CHECK_FALSE(ab.equals(""));
    CHECK(str::Token {}.equals(""));
}

TEST_CASE("strings: parse_u64", "[user_runtime]")
{
    auto parse = [](const char* text, uint64_t& value) { return str::parse_u64(text, value); };
    uint64_t value = 0;
    CHECK(parse("0", value));
    CHECK(value == 0);
    CHECK(parse("42", value));
    CHECK(value == 42);
    CHECK(parse("007", value));
    CHECK(value == 7);
    CHECK(parse("18446744073709551615", value));
    CHECK(value == UINT64_MAX);
    CHECK(parse("0x0", value));
    CHECK(value == 0);
    CHECK(parse("0xdeadBEEF", value));
    CHECK(value == 0xDEAD'BEEF);
    CHECK(parse("0XFF", value));
    CHECK(value == 255);
    CHECK(parse("0xFFFFFFFFFFFFFFFF", value));
    CHECK(value == UINT64_MAX);
    CHECK(parse("0x00000000000000000001", value)); // leading zeros are not overflow
    CHECK(value == 1);

    value = 1234;
    for (const char* bad : { "", "0x", "0X", "x10", "-1", "+1", " 1", "1 ", "12a", "0x1g", "0xx1", "1.5", "0b101",
             "18446744073709551616", "99999999999999999999", "0x10000000000000000", "0x1FFFFFFFFFFFFFFFF" }) {
        INFO(bad);
        CHECK_FALSE(parse(bad, value));
        CHECK(value == 1234); // unchanged
    }

    // Tokens: only the token's characters count.
    const char* cursor = "size 0x20 12345678901234567890123";
    str::next_token(cursor);
    CHECK(str::parse_u64(str::next_token(cursor), value));
    CHECK(value == 32);
    CHECK_FALSE(str::parse_u64(str::next_token(cursor), value));
    CHECK_FALSE(str::parse_u64(str::next_token(cursor), value)); // the empty end
    CHECK(str::parse_u64("123", 2, value));
    CHECK(value == 12);
}
