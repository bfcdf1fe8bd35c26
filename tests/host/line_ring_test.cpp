#include "microkernel/lib/line_ring.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <random>
#include <string>

using herald::LineRing;

namespace {

std::string take_all(LineRing<64>& ring, size_t max = 64)
{
    std::string out;
    char buffer[64];
    for (;;) {
        size_t got = ring.take(buffer, max);
        if (got == 0)
            return out;
        out.append(buffer, got);
    }
}

} // namespace

TEST_CASE("line ring: lines come out whole, oldest first", "[line_ring]")
{
    LineRing<64> ring;
    ring.push("one", 3);
    ring.push("two", 3);
    CHECK(ring.lines() == 2);
    char buffer[64];
    CHECK(ring.take(buffer, 5) == 4); // "one\n" fits, "two\n" would not
    CHECK(std::string(buffer, 4) == "one\n");
    CHECK(take_all(ring) == "two\n");
    CHECK(ring.size() == 0);
    CHECK(ring.take(buffer, sizeof(buffer)) == 0);
}

TEST_CASE("line ring: a full ring drops whole old lines and counts them", "[line_ring]")
{
    LineRing<64> ring;
    for (int i = 0; i < 20; ++i) {
        std::string line = "line " + std::to_string(i);
        ring.push(line.data(), line.size());
    }
    std::string out = take_all(ring);
    CHECK(ring.dropped_lines() > 0);
    CHECK(out.substr(out.size() - 8) == "line 19\n");
    // What is left starts at a line boundary.
    CHECK(out.rfind("line ", 0) == 0);
}

TEST_CASE("line ring: embedded newlines and over-long lines stay one line", "[line_ring]")
{
    LineRing<64> ring;
    ring.push("a\nb", 3);
    CHECK(take_all(ring) == "a b\n");
    std::string huge(200, 'x');
    ring.push(huge.data(), huge.size());
    CHECK(ring.lines() == 1);
    CHECK(take_all(ring) == std::string(63, 'x') + "\n");
}

TEST_CASE("line ring: random pushes and takes match a model", "[line_ring]")
{
    std::mt19937 random(7);
    LineRing<64> ring;
    std::deque<std::string> model;
    size_t model_bytes = 0;
    for (int step = 0; step < 20000; ++step) {
        if (random() % 3) {
            std::string line(random() % 20, static_cast<char>('a' + random() % 26));
            ring.push(line.data(), line.size());
            model.push_back(line + "\n");
            model_bytes += line.size() + 1;
            while (model_bytes > 64) {
                model_bytes -= model.front().size();
                model.pop_front();
            }
        } else {
            char buffer[64];
            size_t max = random() % 40;
            size_t got = ring.take(buffer, max);
            std::string expected;
            while (!model.empty() && expected.size() + model.front().size() <= max) {
                expected += model.front();
                model_bytes -= model.front().size();
                model.pop_front();
            }
            REQUIRE(std::string(buffer, got) == expected);
        }
        REQUIRE(ring.size() == model_bytes);
        REQUIRE(ring.lines() == model.size());
    }
}
