#include "microkernel/lib/format.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace herald;

template<typename... Args>
static std::string fmt(const char* text, const Args&... args)
{
    char buffer[256];
    BufferSink sink(buffer, sizeof(buffer));
    format(sink, text, args...);
    return std::string(sink.view().chars(), sink.view().length());
}

TEST_CASE("format prints integers in decimal and hex")
{
    CHECK(fmt("{}", 0) == "0");
    CHECK(fmt("{}", -42) == "-42");
    CHECK(fmt("{}", 18446744073709551615ull) == "18446744073709551615");
    CHECK(fmt("{:x}", 255u) == "ff");
    CHECK(fmt("{:#x}", 255u) == "0xff");
    CHECK(fmt("{:#018x}", 0x1234ull) == "0x0000000000001234");
    CHECK(fmt("{:08x}", 0xbeefu) == "0000beef");
    CHECK(fmt("{:5}", 42) == "   42");
    CHECK(fmt("{:<5}|", 42) == "42   |");
}

TEST_CASE("format prints strings, chars, bools and pointers")
{
    CHECK(fmt("a{}c", "b") == "abc");
    CHECK(fmt("{}", StringView("xyz", 2)) == "xy");
    CHECK(fmt("{}{}", 'o', 'k') == "ok");
    CHECK(fmt("{} {}", true, false) == "true false");
    CHECK(fmt("{}", reinterpret_cast<void*>(0x1000)) == "0x0000000000001000");
    CHECK(fmt("{:<6}|", "ab") == "ab    |");
}

TEST_CASE("format copes with malformed format strings")
{
    CHECK(fmt("{} {}", 1) == "1 {?}");
    CHECK(fmt("{{}}", 1) == "{}}");
    CHECK(fmt("tail {", 1) == "tail {");
    CHECK(fmt("{:999}", 1).size() == 64);
}

TEST_CASE("BufferSink truncates and says so")
{
    char buffer[4];
    BufferSink sink(buffer, sizeof(buffer));
    format(sink, "{}", 123456);
    CHECK(sink.truncated());
    CHECK(std::string(buffer) == "123");
}
