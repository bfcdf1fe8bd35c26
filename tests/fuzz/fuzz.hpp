// What every libFuzzer target of tests/fuzz shares (docs/testing.md, "Host
// fuzzing"): FUZZ_CHECK for a target's own invariants, a physical memory
// made of the fuzzer's bytes, and checksum fix-ups.
//
// A target runs the parser on the bytes as they are, and where a checksum
// guards the structure, once more with the checksum made right, so that the
// fuzzer reaches what lies behind it instead of spending its time guessing
// one byte. A failed FUZZ_CHECK aborts: libFuzzer keeps the input as a crash.
#pragma once

#include "microkernel/boot/physical_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#define FUZZ_CHECK(condition) \
    ((condition) ? static_cast<void>(0) : ::herald::fuzz::check_failed(#condition, __FILE__, __LINE__))

namespace herald::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line)
{
    std::fprintf(stderr, "FUZZ_CHECK(%s) failed at %s:%d\n", condition, file, line);
    std::abort();
}

// A C string held in `field` (size bytes) is terminated inside it.
inline bool terminated(const char* field, size_t size) { return ::strnlen(field, size) < size; }

// Physical memory as a few regions of the fuzzer's bytes (or zeros); a read
// succeeds only inside one region, as an unmapped address fails in the kernel.
class Memory final : public PhysicalReader {
public:
    // Returns the region's bytes, to fill in.
    std::vector<u8>& add(u64 base, size_t size)
    {
        m_regions.push_back({ base, std::vector<u8>(size, 0) });
        return m_regions.back().bytes;
    }
    std::vector<u8>& add(u64 base, const u8* data, size_t size)
    {
        std::vector<u8>& bytes = add(base, size);
        if (size)
            std::memcpy(bytes.data(), data, size);
        return bytes;
    }

    Optional<ByteReader> read(PhysicalAddress address, usize length) const override
    {
        for (const Region& region : m_regions) {
            u64 offset = address.get() - region.base;
            if (address.get() >= region.base && offset <= region.bytes.size() && length <= region.bytes.size() - offset)
                return ByteReader(region.bytes.data() + offset, length);
        }
        return nullopt;
    }

    bool overlaps(u64 base, size_t size) const
    {
        for (const Region& region : m_regions) {
            u64 end = base + size, region_end = region.base + region.bytes.size();
            if (size && !region.bytes.empty() && base < region_end && region.base < end)
                return true;
        }
        return false;
    }

    size_t region_count() const { return m_regions.size(); }
    std::vector<u8>& region(size_t index) { return m_regions[index].bytes; }
    u64 region_base(size_t index) const { return m_regions[index].base; }

    // Whether [data, data + size) lies inside one region (a parser's result
    // must point into memory that was read, nowhere else).
    bool holds(const u8* data, size_t size) const
    {
        for (const Region& region : m_regions) {
            const u8* begin = region.bytes.data();
            if (data >= begin && data <= begin + region.bytes.size()
                && size <= static_cast<size_t>(begin + region.bytes.size() - data))
                return true;
        }
        return false;
    }

private:
    struct Region {
        u64 base;
        std::vector<u8> bytes;
    };
    std::deque<Region> m_regions; // add() hands out references that must stay valid
};

// Fills `memory` from the "regions" input format, which lets a seed put
// real firmware tables at the addresses firmware put them:
//   repeated: u32 address, u16 length, then length bytes
// (the last region gets what is left when the input ends early). A region
// that overlaps an earlier one is left out: real memory reads the same
// whatever the length of the read.
inline void add_regions(Memory& memory, const u8* data, size_t size)
{
    constexpr size_t kRegionHeader = 6;
    size_t at = 0;
    while (size - at >= kRegionHeader) {
        u32 address;
        u16 length;
        std::memcpy(&address, data + at, 4);
        std::memcpy(&length, data + at + 4, 2);
        at += kRegionHeader;
        size_t taken = length < size - at ? length : size - at;
        if (!memory.overlaps(address, taken))
            memory.add(address, data + at, taken);
        at += taken;
    }
}

inline u8 byte_sum(const u8* data, size_t size)
{
    u8 sum = 0;
    for (size_t i = 0; i < size; ++i)
        sum = static_cast<u8>(sum + data[i]);
    return sum;
}

// Makes bytes [0, length) of `bytes` sum to zero by changing the byte at
// `checksum_at`, when both lie inside `size`.
inline void fix_checksum(u8* bytes, size_t size, size_t checksum_at, size_t length)
{
    if (checksum_at >= size || length > size || checksum_at >= length)
        return;
    bytes[checksum_at] = 0;
    bytes[checksum_at] = static_cast<u8>(-byte_sum(bytes, length));
}

template<typename T>
T load(const u8* bytes, size_t size, size_t at)
{
    T value {};
    if (at <= size && sizeof(T) <= size - at)
        std::memcpy(&value, bytes + at, sizeof(T));
    return value;
}

template<typename T>
void store(u8* bytes, size_t size, size_t at, T value)
{
    if (at <= size && sizeof(T) <= size - at)
        std::memcpy(bytes + at, &value, sizeof(T));
}

} // namespace herald::fuzz
