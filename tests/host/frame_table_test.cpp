#include "servers/memory/frame_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <utility>
#include <vector>

using namespace herald::memory;
using FreeResult = FrameTable::FreeResult;

namespace {

constexpr uint64_t kBase = 0x10'0000; // 1 MiB, where the seed's managed memory began

// A table with its storage, filled with garbage first to show init clears it.
struct TestTable {
    std::vector<uint64_t> storage;
    FrameTable table;

    explicit TestTable(size_t frame_count, uint64_t first_physical = kBase)
        : storage(FrameTable::storage_bytes(frame_count) / sizeof(uint64_t), 0xA5A5'A5A5'A5A5'A5A5)
    {
        REQUIRE(table.init(storage.data(), first_physical, frame_count));
    }
};

uint64_t frame(size_t index, uint64_t first_physical = kBase) { return first_physical + index * kFrameSize; }

// The seed OS's AVL values, spelled out rather than taken from FrameKind.
uint64_t avl_bits(uint64_t entry) { return (entry >> 9) & 0b111; }

uint64_t splitmix64(uint64_t& state)
{
    uint64_t z = (state += 0x9E37'79B9'7F4A'7C15);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EB;
    return z ^ (z >> 31);
}

constexpr FrameKind kAllKinds[] = { FrameKind::Free, FrameKind::Stack, FrameKind::Kernel, FrameKind::Heap };
constexpr FrameKind kTakenKinds[] = { FrameKind::Stack, FrameKind::Kernel, FrameKind::Heap };

// Constant-initialized: it can sit in .bss with no constructor to run.
constinit FrameTable g_table_in_bss;

} // namespace

TEST_CASE("frame table: storage layout sizes", "[frame_table]")
{
    CHECK(FrameTable::storage_bytes(0) == 0);
    CHECK(FrameTable::storage_bytes(1) == 4096);   // 8 + 1 count, bitmap at 16, ends at 24
    CHECK(FrameTable::storage_bytes(500) == 4096); // 4000 + 8 counts + 8 bitmap
    CHECK(FrameTable::storage_bytes(509) == 4096); // 4072 + 8 counts + 8 bitmap = 4088
    CHECK(FrameTable::storage_bytes(510) == 4096); // 4080 + 8 counts + 8 bitmap: exactly one frame
    CHECK(FrameTable::storage_bytes(511) == 8192); // 4088 + 8 counts + 8 bitmap
    CHECK(FrameTable::storage_bytes(512) == 8192);
    // 4 GiB: 8 MiB of entries, 16384 group counts, 256 bitmap words.
    CHECK(FrameTable::storage_bytes(size_t(1) << 20) == 8409088);
    CHECK(FrameTable::storage_bytes(FrameTable::kMaxFrameCount) > 0);
    CHECK(FrameTable::storage_bytes(FrameTable::kMaxFrameCount + 1) == 0);
    CHECK(FrameTable::storage_bytes(SIZE_MAX) == 0);
    for (size_t frames = 1; frames < 5000; frames += 37)
        CHECK(FrameTable::storage_bytes(frames) % kFrameSize == 0);
}

TEST_CASE("frame table: a fresh table has no frames", "[frame_table]")
{
    CHECK(g_table_in_bss.managed_frames() == 0);
    CHECK(g_table_in_bss.frame_count() == 0);
    uint64_t physical = 0;
    CHECK_FALSE(g_table_in_bss.allocate(FrameKind::Heap, physical));
    CHECK(g_table_in_bss.free(0) == FreeResult::NotManaged);
    CHECK(g_table_in_bss.check_consistency());

    TestTable t(100);
    CHECK(t.table.first_physical() == kBase);
    CHECK(t.table.frame_count() == 100);
    CHECK(t.table.managed_frames() == 0);
    for (FrameKind kind : kAllKinds)
        CHECK(t.table.count(kind) == 0);
    for (size_t i = 0; i < 100; ++i)
        CHECK(t.table.raw_entry(i) == 0);
    CHECK(t.table.raw_entry(100) == 0);
    FrameKind kind;
    CHECK_FALSE(t.table.kind_of(frame(0), kind));
    CHECK_FALSE(t.table.allocate(FrameKind::Heap, physical));
    CHECK(t.table.free(frame(0)) == FreeResult::NotManaged);
    CHECK_FALSE(t.table.claim(frame(0), FrameKind::Kernel));
    CHECK(t.table.check_consistency());
}

TEST_CASE("frame table: init rejects what it cannot cover", "[frame_table]")
{
    std::vector<uint64_t> storage(FrameTable::storage_bytes(64) / sizeof(uint64_t));
    FrameTable table;
    CHECK_FALSE(table.init(storage.data(), kBase + 1, 64));
    CHECK_FALSE(table.init(storage.data(), kBase + 2048, 64));
    CHECK_FALSE(table.init(nullptr, kBase, 64));
    CHECK_FALSE(table.init(reinterpret_cast<uint8_t*>(storage.data()) + 4, kBase, 64));
    // The entry's address field ends at bit 51.
    CHECK_FALSE(table.init(storage.data(), FrameTable::kAddressLimit - 63 * kFrameSize, 64));
    CHECK_FALSE(table.init(storage.data(), ~uint64_t(0) & ~(kFrameSize - 1), 64));
    CHECK(table.frame_count() == 0); // a failed init leaves an empty table
    CHECK(table.init(storage.data(), FrameTable::kAddressLimit - 64 * kFrameSize, 64));
    CHECK(table.add_free_range(FrameTable::kAddressLimit - kFrameSize, 1));
    uint64_t physical = 0;
    REQUIRE(table.allocate(FrameKind::Heap, physical));
    CHECK(physical == FrameTable::kAddressLimit - kFrameSize);
    CHECK(table.init(nullptr, kBase, 0));
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: add_free_range rejects bad ranges and changes nothing", "[frame_table]")
{
    TestTable t(100);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(10), 20));
    CHECK(table.managed_frames() == 20);
    CHECK(table.count(FrameKind::Free) == 20);
    std::vector<uint64_t> before(t.storage);

    CHECK_FALSE(table.add_free_range(frame(40) + 8, 1));         // unaligned
    CHECK_FALSE(table.add_free_range(frame(40) + 2048, 1));
    CHECK_FALSE(table.add_free_range(frame(40), 0));             // empty
    CHECK_FALSE(table.add_free_range(kBase - kFrameSize, 1));    // below the span
    CHECK_FALSE(table.add_free_range(0, 2));
    CHECK_FALSE(table.add_free_range(frame(100), 1));            // just past the end
    CHECK_FALSE(table.add_free_range(frame(99), 2));             // straddles the end
    CHECK_FALSE(table.add_free_range(frame(40), 61));
    CHECK_FALSE(table.add_free_range(frame(40), SIZE_MAX));      // would wrap
    CHECK_FALSE(table.add_free_range(frame(40), SIZE_MAX / kFrameSize + 1));
    CHECK_FALSE(table.add_free_range(~uint64_t(0) & ~(kFrameSize - 1), 2));
    CHECK_FALSE(table.add_free_range(frame(10), 1));             // overlaps: same start
    CHECK_FALSE(table.add_free_range(frame(29), 1));             // overlaps: last frame
    CHECK_FALSE(table.add_free_range(frame(0), 11));             // overlaps from below
    CHECK_FALSE(table.add_free_range(frame(25), 10));            // overlaps from inside
    CHECK_FALSE(table.add_free_range(frame(0), 100));            // covers it
    CHECK(t.storage == before);
    CHECK(table.managed_frames() == 20);

    // Adjacent ranges are fine, and so is the very last frame.
    CHECK(table.add_free_range(frame(0), 10));
    CHECK(table.add_free_range(frame(30), 1));
    CHECK(table.add_free_range(frame(99), 1));
    CHECK(table.managed_frames() == 32);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: allocate writes the seed's entry format", "[frame_table]")
{
    TestTable t(8);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 8));
    for (size_t i = 0; i < 8; ++i) {
        uint64_t entry = table.raw_entry(i);
        CHECK((entry & 1) == 1);
        CHECK(avl_bits(entry) == 0b000);
        CHECK((entry & 0x000F'FFFF'FFFF'F000) == frame(i));
        CHECK((entry & ~0x000F'FFFF'FFFF'F000 & ~uint64_t(0xE01)) == 0); // nothing else set
    }

    struct Expected {
        FrameKind kind;
        uint64_t avl;
    };
    const Expected cases[] = { { FrameKind::Stack, 0b001 }, { FrameKind::Kernel, 0b010 }, { FrameKind::Heap, 0b011 } };
    for (const Expected& expected : cases) {
        uint64_t physical = 0;
        REQUIRE(table.allocate(expected.kind, physical));
        REQUIRE(physical >= frame(0));
        REQUIRE(physical < frame(8));
        CHECK(physical % kFrameSize == 0);
        size_t index = (physical - kBase) / kFrameSize;
        uint64_t entry = table.raw_entry(index);
        CHECK(((entry >> 0) & 1) == 1);
        CHECK(((entry >> 9) & 1) == ((expected.avl >> 0) & 1));
        CHECK(((entry >> 10) & 1) == ((expected.avl >> 1) & 1));
        CHECK(((entry >> 11) & 1) == ((expected.avl >> 2) & 1));
        CHECK(((entry >> 12) & 0xFF'FFFF'FFFF) == physical >> 12); // bits 12..51
        CHECK((entry >> 52) == 0);
        CHECK(((entry >> 1) & 0xFF) == 0); // bits 1..8
        FrameKind kind;
        REQUIRE(table.kind_of(physical, kind));
        CHECK(kind == expected.kind);
        CHECK(table.count(expected.kind) == 1);
    }
    CHECK(table.count(FrameKind::Free) == 5);
    CHECK(table.managed_frames() == 8);
    CHECK(table.check_consistency());

    // Freeing puts 000 back and keeps the frame present.
    for (size_t i = 0; i < 8; ++i) {
        uint64_t entry = table.raw_entry(i);
        if (avl_bits(entry) == 0)
            continue;
        CHECK(table.free(frame(i)) == FreeResult::Freed);
        CHECK(table.raw_entry(i) == (frame(i) | 1));
    }
    CHECK(table.count(FrameKind::Free) == 8);
    for (FrameKind kind : kTakenKinds)
        CHECK(table.count(kind) == 0);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: counts move between kinds", "[frame_table]")
{
    TestTable t(200);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 200));
    std::vector<uint64_t> heap;
    for (int i = 0; i < 70; ++i) {
        uint64_t physical = 0;
        REQUIRE(table.allocate(FrameKind::Heap, physical));
        heap.push_back(physical);
    }
    uint64_t stack = 0;
    REQUIRE(table.allocate(FrameKind::Stack, stack));
    CHECK(table.count(FrameKind::Heap) == 70);
    CHECK(table.count(FrameKind::Stack) == 1);
    CHECK(table.count(FrameKind::Kernel) == 0);
    CHECK(table.count(FrameKind::Free) == 129);
    for (int i = 0; i < 30; ++i)
        REQUIRE(table.free(heap[i]) == FreeResult::Freed);
    CHECK(table.count(FrameKind::Heap) == 40);
    CHECK(table.count(FrameKind::Free) == 159);
    CHECK(table.managed_frames() == 200);
    CHECK(table.count(static_cast<FrameKind>(5)) == 0);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: allocate refuses Free and kinds that do not exist", "[frame_table]")
{
    TestTable t(4);
    REQUIRE(t.table.add_free_range(frame(0), 4));
    uint64_t physical = 12345;
    CHECK_FALSE(t.table.allocate(FrameKind::Free, physical));
    CHECK_FALSE(t.table.allocate(static_cast<FrameKind>(5), physical));
    CHECK_FALSE(t.table.allocate(static_cast<FrameKind>(7), physical));
    CHECK(physical == 12345);
    CHECK(t.table.count(FrameKind::Free) == 4);
    CHECK(t.table.check_consistency());
}

TEST_CASE("frame table: allocate fails cleanly when nothing is free", "[frame_table]")
{
    TestTable t(3);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 3));
    std::set<uint64_t> taken;
    for (int i = 0; i < 3; ++i) {
        uint64_t physical = 0;
        REQUIRE(table.allocate(FrameKind::Kernel, physical));
        taken.insert(physical);
    }
    CHECK(taken == std::set<uint64_t> { frame(0), frame(1), frame(2) });
    std::vector<uint64_t> before(t.storage);
    uint64_t physical = 777;
    CHECK_FALSE(table.allocate(FrameKind::Heap, physical));
    CHECK(physical == 777);
    CHECK(t.storage == before);
    CHECK(table.count(FrameKind::Kernel) == 3);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: free reports frames it does not manage or that are already free", "[frame_table]")
{
    TestTable t(100);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 50)); // frames 50..99 are holes
    uint64_t physical = 0;
    REQUIRE(table.allocate(FrameKind::Heap, physical));

    CHECK(table.free(physical + 8) == FreeResult::NotManaged);   // unaligned
    CHECK(table.free(physical + 4095) == FreeResult::NotManaged);
    CHECK(table.free(kBase - kFrameSize) == FreeResult::NotManaged); // below
    CHECK(table.free(0) == FreeResult::NotManaged);
    CHECK(table.free(frame(100)) == FreeResult::NotManaged);     // past the end
    CHECK(table.free(~uint64_t(0) & ~(kFrameSize - 1)) == FreeResult::NotManaged);
    CHECK(table.free(frame(50)) == FreeResult::NotManaged);      // a hole
    CHECK(table.free(frame(99)) == FreeResult::NotManaged);
    uint64_t other_free = physical == frame(0) ? frame(1) : frame(0);
    CHECK(table.free(other_free) == FreeResult::AlreadyFree);
    CHECK(table.count(FrameKind::Heap) == 1);

    CHECK(table.free(physical) == FreeResult::Freed);
    CHECK(table.free(physical) == FreeResult::AlreadyFree); // double free
    CHECK(table.count(FrameKind::Free) == 50);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: claim takes a specific free frame", "[frame_table]")
{
    TestTable t(100);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 50));
    CHECK(table.claim(frame(7), FrameKind::Kernel));
    FrameKind kind;
    REQUIRE(table.kind_of(frame(7), kind));
    CHECK(kind == FrameKind::Kernel);
    CHECK(avl_bits(table.raw_entry(7)) == 0b010);
    CHECK(table.count(FrameKind::Kernel) == 1);
    CHECK(table.count(FrameKind::Free) == 49);

    CHECK_FALSE(table.claim(frame(7), FrameKind::Heap));        // no longer free
    CHECK_FALSE(table.claim(frame(8), FrameKind::Free));        // Free is not a claim
    CHECK_FALSE(table.claim(frame(8), static_cast<FrameKind>(6)));
    CHECK_FALSE(table.claim(frame(8) + 16, FrameKind::Heap));   // unaligned
    CHECK_FALSE(table.claim(frame(60), FrameKind::Heap));       // a hole
    CHECK_FALSE(table.claim(frame(100), FrameKind::Heap));      // outside
    CHECK_FALSE(table.claim(kBase - kFrameSize, FrameKind::Heap));
    CHECK(table.count(FrameKind::Kernel) == 1);
    CHECK(table.count(FrameKind::Free) == 49);

    // allocate never hands out the claimed frame.
    std::set<uint64_t> allocated;
    uint64_t physical = 0;
    while (table.allocate(FrameKind::Stack, physical))
        allocated.insert(physical);
    CHECK(allocated.size() == 49);
    CHECK(allocated.count(frame(7)) == 0);
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: holes are never handed out", "[frame_table]")
{
    // 200 frames is not a multiple of 64: the last group is partial.
    for (size_t frame_count : { size_t(1), size_t(63), size_t(65), size_t(200), size_t(333) }) {
        CAPTURE(frame_count);
        TestTable t(frame_count);
        FrameTable& table = t.table;
        std::set<uint64_t> expected;
        // Every third run of five frames is RAM, and so is the last frame.
        for (size_t i = 0; i < frame_count; i += 15) {
            size_t pages = std::min<size_t>(5, frame_count - i);
            REQUIRE(table.add_free_range(frame(i), pages));
            for (size_t j = i; j < i + pages; ++j)
                expected.insert(frame(j));
        }
        if (expected.count(frame(frame_count - 1)) == 0) {
            REQUIRE(table.add_free_range(frame(frame_count - 1), 1));
            expected.insert(frame(frame_count - 1));
        }
        CHECK(table.managed_frames() == expected.size());
        for (size_t i = 0; i < frame_count; ++i)
            CHECK((table.raw_entry(i) == 0) == (expected.count(frame(i)) == 0));

        std::set<uint64_t> allocated;
        uint64_t physical = 0;
        while (table.allocate(FrameKind::Heap, physical)) {
            REQUIRE(expected.count(physical) == 1);
            REQUIRE(allocated.insert(physical).second);
        }
        CHECK(allocated == expected);
        CHECK(table.count(FrameKind::Free) == 0);
        CHECK(table.check_consistency());
    }
}

TEST_CASE("frame table: the search wraps around to the start", "[frame_table]")
{
    TestTable t(300);
    FrameTable& table = t.table;
    REQUIRE(table.add_free_range(frame(0), 300));
    uint64_t physical = 0;
    for (int i = 0; i < 300; ++i)
        REQUIRE(table.allocate(FrameKind::Heap, physical));
    CHECK(physical == frame(299)); // next-fit walked up to the last group
    REQUIRE(table.free(frame(5)) == FreeResult::Freed);
    REQUIRE(table.allocate(FrameKind::Stack, physical));
    CHECK(physical == frame(5));
    REQUIRE(table.free(frame(299)) == FreeResult::Freed);
    REQUIRE(table.allocate(FrameKind::Stack, physical));
    CHECK(physical == frame(299));
    CHECK(table.check_consistency());
}

TEST_CASE("frame table: allocate everything, free everything, allocate everything again", "[frame_table]")
{
    for (size_t frame_count : { size_t(64), size_t(1000), size_t(64 * 64 + 3), size_t(64 * 64 * 2 + 70) }) {
        CAPTURE(frame_count);
        TestTable t(frame_count, 0x4000'0000);
        FrameTable& table = t.table;
        uint64_t state = frame_count;
        std::set<uint64_t> existing;
        for (size_t i = 0; i < frame_count; ++i) {
            if (splitmix64(state) % 4 != 0) {
                REQUIRE(table.add_free_range(frame(i, 0x4000'0000), 1));
                existing.insert(frame(i, 0x4000'0000));
            }
        }
        for (int round = 0; round < 2; ++round) {
            std::set<uint64_t> allocated;
            uint64_t physical = 0;
            while (table.allocate(kTakenKinds[allocated.size() % 3], physical))
                REQUIRE(allocated.insert(physical).second);
            CHECK(allocated == existing);
            CHECK(table.count(FrameKind::Free) == 0);
            CHECK(table.managed_frames() == existing.size());
            CHECK(table.check_consistency());
            for (uint64_t address : allocated)
                REQUIRE(table.free(address) == FreeResult::Freed);
            CHECK(table.count(FrameKind::Free) == existing.size());
            CHECK(table.check_consistency());
        }
    }
}

namespace {

// The frame table against a plain map of frame -> kind, under random operations.
class ModelCheck {
public:
    ModelCheck(uint64_t seed, size_t frame_count)
        : m_state(seed)
        , m_first((splitmix64(m_state) % (1 << 20)) * kFrameSize)
        , m_frame_count(frame_count)
        , m_storage(FrameTable::storage_bytes(frame_count) / sizeof(uint64_t), splitmix64(m_state))
    {
        REQUIRE(m_table.init(m_storage.data(), m_first, frame_count));
        // Runs of RAM and holes of random length.
        for (size_t i = 0; i < frame_count;) {
            size_t run = std::min<size_t>(1 + random() % 100, frame_count - i);
            if (random() % 3 != 0)
                add_free_range(frame(i, m_first), run);
            i += run;
        }
        check_all();
    }

    void step()
    {
        switch (random() % 10) {
        case 0: case 1: case 2: case 3: allocate(); break;
        case 4: case 5: case 6: free_held(); break;
        case 7: free(random_address()); break;
        case 8: claim(random_address(), kAllKinds[random() % 4]); break;
        default: add_free_range(random_address(), random() % 8); break;
        }
        FrameKind kind;
        uint64_t probe = random_address();
        auto it = m_model.find(probe);
        REQUIRE(m_table.kind_of(probe, kind) == (it != m_model.end()));
        if (it != m_model.end())
            REQUIRE(kind == it->second);
        check_counts();
        REQUIRE(m_table.check_consistency());
    }

    void check_all()
    {
        check_counts();
        REQUIRE(m_table.check_consistency());
        for (size_t i = 0; i < m_frame_count; ++i) {
            auto it = m_model.find(frame(i, m_first));
            uint64_t entry = m_table.raw_entry(i);
            if (it == m_model.end()) {
                REQUIRE(entry == 0);
            } else {
                REQUIRE(entry == (frame(i, m_first) | (uint64_t(it->second) << 9) | 1));
            }
        }
        std::set<uint64_t> distinct(m_held.begin(), m_held.end());
        REQUIRE(distinct.size() == m_held.size());
    }

private:
    uint64_t random() { return splitmix64(m_state); }

    // Mostly frames in or near the span, sometimes unaligned or far away.
    uint64_t random_address()
    {
        uint64_t r = random() % 16;
        if (r == 0)
            return random();
        uint64_t slack = 3 * kFrameSize;
        uint64_t low = m_first >= slack ? m_first - slack : 0;
        uint64_t address = low + (random() % (m_frame_count + 6)) * kFrameSize;
        if (r == 1)
            address += 1 + random() % (kFrameSize - 1);
        return address;
    }

    void allocate()
    {
        FrameKind kind = kTakenKinds[random() % 3];
        uint64_t physical = 0;
        bool ok = m_table.allocate(kind, physical);
        REQUIRE(ok == (m_counts[0] > 0));
        if (!ok)
            return;
        auto it = m_model.find(physical);
        REQUIRE(it != m_model.end());
        REQUIRE(it->second == FrameKind::Free);
        set_kind(it->second, kind);
        m_held.push_back(physical);
    }

    void free_held()
    {
        if (m_held.empty())
            return;
        size_t i = random() % m_held.size();
        uint64_t physical = m_held[i];
        REQUIRE(m_table.free(physical) == FreeResult::Freed);
        set_kind(m_model[physical], FrameKind::Free);
        m_held[i] = m_held.back();
        m_held.pop_back();
    }

    void free(uint64_t physical)
    {
        auto it = m_model.find(physical);
        FreeResult result = m_table.free(physical);
        if (it == m_model.end()) {
            REQUIRE(result == FreeResult::NotManaged);
        } else if (it->second == FrameKind::Free) {
            REQUIRE(result == FreeResult::AlreadyFree);
        } else {
            REQUIRE(result == FreeResult::Freed);
            set_kind(it->second, FrameKind::Free);
            forget_held(physical);
        }
    }

    void claim(uint64_t physical, FrameKind kind)
    {
        auto it = m_model.find(physical);
        bool expected = it != m_model.end() && it->second == FrameKind::Free && kind != FrameKind::Free;
        REQUIRE(m_table.claim(physical, kind) == expected);
        if (expected) {
            set_kind(it->second, kind);
            m_held.push_back(physical);
        }
    }

    void add_free_range(uint64_t physical, size_t pages)
    {
        bool expected = pages > 0 && physical % kFrameSize == 0 && physical >= m_first
            && (physical - m_first) / kFrameSize + pages <= m_frame_count;
        for (size_t i = 0; expected && i < pages; ++i)
            expected = m_model.count(physical + i * kFrameSize) == 0;
        REQUIRE(m_table.add_free_range(physical, pages) == expected);
        for (size_t i = 0; expected && i < pages; ++i) {
            m_model[physical + i * kFrameSize] = FrameKind::Free;
            m_counts[0]++;
        }
    }

    void set_kind(FrameKind& slot, FrameKind kind)
    {
        m_counts[size_t(slot)]--;
        m_counts[size_t(kind)]++;
        slot = kind;
    }

    void forget_held(uint64_t physical)
    {
        for (size_t i = 0; i < m_held.size(); ++i) {
            if (m_held[i] == physical) {
                m_held[i] = m_held.back();
                m_held.pop_back();
                return;
            }
        }
        FAIL("freed a frame the model did not hold");
    }

    void check_counts()
    {
        for (size_t kind = 0; kind < 4; ++kind)
            REQUIRE(m_table.count(FrameKind(kind)) == m_counts[kind]);
        REQUIRE(m_table.managed_frames() == m_model.size());
        REQUIRE(m_held.size() == m_model.size() - m_counts[0]);
    }

    uint64_t m_state;
    uint64_t m_first;
    size_t m_frame_count;
    std::vector<uint64_t> m_storage;
    FrameTable m_table;
    std::map<uint64_t, FrameKind> m_model;
    std::vector<uint64_t> m_held; // frames taken by allocate or claim
    size_t m_counts[4] {};
};

} // namespace

TEST_CASE("frame table: matches a simple model under random operations", "[frame_table]")
{
    for (uint64_t seed = 1; seed <= 8; ++seed) {
        for (size_t frame_count : { size_t(1), size_t(7), size_t(64), size_t(65), size_t(200), size_t(1000), size_t(4100) }) {
            CAPTURE(seed, frame_count);
            ModelCheck check(seed, frame_count);
            int steps = frame_count > 1000 ? 1500 : 3000;
            for (int i = 0; i < steps; ++i)
                check.step();
            check.check_all();
        }
    }
}

TEST_CASE("frame table: retag changes the kind of a frame in use, and only that", "[frame_table]")
{
    std::vector<uint64_t> storage(FrameTable::storage_bytes(64) / sizeof(uint64_t));
    FrameTable table;
    REQUIRE(table.init(storage.data(), 0x100000, 64));
    REQUIRE(table.add_free_range(0x100000, 64));
    uint64_t frame = 0;
    REQUIRE(table.allocate(FrameKind::Heap, frame));
    CHECK(table.retag(frame, FrameKind::Stack));
    FrameKind kind;
    REQUIRE(table.kind_of(frame, kind));
    CHECK(kind == FrameKind::Stack);
    CHECK(table.count(FrameKind::Stack) == 1);
    CHECK(table.count(FrameKind::Heap) == 0);
    CHECK_FALSE(table.retag(frame, FrameKind::Free));           // freeing is free()'s job
    CHECK_FALSE(table.retag(frame + 0x1000, FrameKind::Stack)); // a free frame
    CHECK_FALSE(table.retag(0x100000 + 64 * 0x1000, FrameKind::Stack)); // outside
    CHECK(table.check_consistency());
}


TEST_CASE("frame table: allocate_run takes contiguous free frames, first fit", "[frame_table]")
{
    TestTable t(200);
    REQUIRE(t.table.add_free_range(frame(0), 100));
    REQUIRE(t.table.add_free_range(frame(120), 80)); // a hole of 20 frames between
    uint64_t physical = 0;
    REQUIRE(t.table.allocate_run(FrameKind::Dma, 10, physical));
    CHECK(physical == frame(0));
    // Break the first range up: frame 50 taken, so a run of 60 cannot start below it.
    REQUIRE(t.table.claim(frame(50), FrameKind::Heap));
    REQUIRE(t.table.allocate_run(FrameKind::Dma, 40, physical));
    CHECK(physical == frame(10)); // 10..49 fits exactly
    REQUIRE(t.table.allocate_run(FrameKind::Dma, 60, physical));
    CHECK(physical == frame(120)); // 51..99 is 49 frames; the run does not cross the hole
    for (uint64_t i = 0; i < 60; ++i) {
        FrameKind kind;
        REQUIRE(t.table.kind_of(physical + i * 4096, kind));
        CHECK(kind == FrameKind::Dma);
    }
    CHECK(t.table.count(FrameKind::Dma) == 110);
    uint64_t untouched = 1;
    CHECK_FALSE(t.table.allocate_run(FrameKind::Dma, 50, untouched)); // 49 + 20 left, none 50 long
    CHECK_FALSE(t.table.allocate_run(FrameKind::Dma, 0, untouched));
    CHECK_FALSE(t.table.allocate_run(FrameKind::Free, 1, untouched));
    CHECK(untouched == 1);
    CHECK(t.table.check_consistency());
    REQUIRE(t.table.allocate_run(FrameKind::Dma, 49, physical));
    CHECK(physical == frame(51));
    CHECK(t.table.free(frame(51)) == FreeResult::Freed);
    CHECK(t.table.check_consistency());
}

TEST_CASE("frame table: allocate_run skips groups with nothing free and crosses group edges", "[frame_table]")
{
    TestTable t(256);
    REQUIRE(t.table.add_free_range(frame(0), 256));
    uint64_t physical = 0;
    for (int i = 0; i < 100; ++i)
        REQUIRE(t.table.allocate(FrameKind::Heap, physical)); // frames 0..99
    REQUIRE(t.table.allocate_run(FrameKind::Dma, 100, physical));
    CHECK(physical == frame(100)); // over the edges at 128 and 192
    CHECK(t.table.check_consistency());
}

TEST_CASE("frame table: allocate_many takes what allocate would, across groups and holes", "[frame_table]")
{
    // Two tables with the same ranges (a hole inside the second group, some
    // frames taken already): allocate_many's frames are allocate()'s, in order.
    TestTable a(300), b(300);
    for (FrameTable* table : { &a.table, &b.table }) {
        REQUIRE(table->add_free_range(frame(0), 70));
        REQUIRE(table->add_free_range(frame(100), 150));
        REQUIRE(table->claim(frame(3), FrameKind::Kernel));
        REQUIRE(table->claim(frame(64), FrameKind::Stack));
    }
    std::vector<uint64_t> batch(300);
    CHECK(a.table.allocate_many(FrameKind::Heap, batch.data(), 100) == 100);
    for (size_t i = 0; i < 100; ++i) {
        uint64_t expected = 0;
        REQUIRE(b.table.allocate(FrameKind::Heap, expected));
        CHECK(batch[i] == expected);
    }
    CHECK(std::set<uint64_t>(batch.begin(), batch.begin() + 100).size() == 100);
    CHECK(a.table.count(FrameKind::Heap) == 100);
    CHECK(a.table.count(FrameKind::Free) == 218 - 100);
    CHECK(a.storage == b.storage); // entries, summary and bitmap alike
    CHECK(a.table.check_consistency());
    // Fewer free than asked: all of them, then none.
    CHECK(a.table.allocate_many(FrameKind::Stack, batch.data(), 200) == 118);
    CHECK(a.table.count(FrameKind::Free) == 0);
    CHECK(a.table.allocate_many(FrameKind::Stack, batch.data(), 5) == 0);
    CHECK(a.table.check_consistency());
    // Free is not a kind to take frames as; nothing asked, nothing taken.
    REQUIRE(a.table.free(batch[0]) == FreeResult::Freed);
    CHECK(a.table.allocate_many(FrameKind::Free, batch.data(), 5) == 0);
    CHECK(a.table.allocate_many(FrameKind::Heap, batch.data(), 0) == 0);
    CHECK(a.table.count(FrameKind::Free) == 1);
    CHECK(a.table.check_consistency());
}
