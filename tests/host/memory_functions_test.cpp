// microkernel/lib/memory_functions.cpp, the copy and fill routines of the
// kernel and of every ring-3 program (REP MOVSQ/STOSQ plus a byte tail),
// built here under other names so that they do not replace the host's.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#define memcpy herald_test_memcpy
#define memmove herald_test_memmove
#define memset herald_test_memset
#define memcmp herald_test_memcmp
#include "microkernel/lib/memory_functions.cpp"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp

namespace {

std::vector<unsigned char> pattern(size_t size, unsigned seed)
{
    std::vector<unsigned char> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<unsigned char>(seed * 31 + i * 7 + 1);
    return bytes;
}

} // namespace

TEST_CASE("memory functions: memcpy copies every length and alignment, and nothing around it", "[memory_functions]")
{
    for (size_t length = 0; length <= 70; ++length) {
        for (size_t offset = 0; offset < 8; ++offset) {
            auto source = pattern(length + 16, static_cast<unsigned>(length));
            std::vector<unsigned char> destination(length + 32, 0xEE);
            void* result = herald_test_memcpy(destination.data() + 8 + offset, source.data() + offset, length);
            CHECK(result == destination.data() + 8 + offset);
            CHECK(std::memcmp(destination.data() + 8 + offset, source.data() + offset, length) == 0);
            for (size_t i = 0; i < 8 + offset; ++i)
                CHECK(destination[i] == 0xEE);
            for (size_t i = 8 + offset + length; i < destination.size(); ++i)
                CHECK(destination[i] == 0xEE);
        }
    }
}

TEST_CASE("memory functions: memset fills every length with the byte's value", "[memory_functions]")
{
    for (size_t length : { size_t(0), size_t(1), size_t(7), size_t(8), size_t(9), size_t(63), size_t(4096), size_t(4099) }) {
        for (int value : { 0, 0xA5, 0x1FF, -1 }) {
            std::vector<unsigned char> buffer(length + 16, 0x11);
            CHECK(herald_test_memset(buffer.data() + 3, value, length) == buffer.data() + 3);
            for (size_t i = 0; i < buffer.size(); ++i) {
                bool inside = i >= 3 && i < 3 + length;
                CHECK(buffer[i] == (inside ? static_cast<unsigned char>(value) : 0x11));
            }
        }
    }
}

TEST_CASE("memory functions: memmove copies overlapping ranges in both directions", "[memory_functions]")
{
    for (size_t length = 0; length <= 40; ++length) {
        for (ptrdiff_t shift : { -9, -8, -3, -1, 1, 3, 8, 9 }) {
            auto buffer = pattern(length + 40, 3);
            auto expected = buffer;
            size_t from = 16;
            size_t to = static_cast<size_t>(static_cast<ptrdiff_t>(from) + shift);
            std::memmove(expected.data() + to, expected.data() + from, length);
            CHECK(herald_test_memmove(buffer.data() + to, buffer.data() + from, length) == buffer.data() + to);
            CHECK(buffer == expected);
        }
    }
}

TEST_CASE("memory functions: memcmp orders by the first differing byte, unsigned", "[memory_functions]")
{
    unsigned char a[] = { 1, 2, 3, 0x80 };
    unsigned char b[] = { 1, 2, 3, 0x7F };
    CHECK(herald_test_memcmp(a, b, 3) == 0);
    CHECK(herald_test_memcmp(a, b, 4) > 0);
    CHECK(herald_test_memcmp(b, a, 4) < 0);
    CHECK(herald_test_memcmp(a, b, 0) == 0);
}
