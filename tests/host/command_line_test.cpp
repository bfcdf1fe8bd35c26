#include "microkernel/boot/command_line.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace herald;

static std::string value_of(const char* line, const char* key)
{
    auto value = command_line_value(line, key);
    return value ? std::string(value->chars(), value->length()) : std::string("<none>");
}

TEST_CASE("command line values are found by key")
{
    CHECK(value_of("test=fault", "test") == "fault");
    CHECK(value_of("  a=1   test=all b", "test") == "all");
    CHECK(value_of("a=1 b", "b") == "");
    CHECK(value_of("a=1 b", "c") == "<none>");
    CHECK(value_of("testing=1", "test") == "<none>");
    CHECK(value_of("", "test") == "<none>");
    CHECK(value_of("x=1 x=2", "x") == "1");
    CHECK(value_of("k=a=b", "k") == "a=b");
}
