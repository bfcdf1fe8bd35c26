// Host tests of pci::MsixVectors (ctest: host-pci): one vector per MSI-X
// entry while the holder runs, a cap per function, and every vector handed
// back when the holder ended (msix_vectors.hpp).
#include "msix_vectors.hpp"

#include <catch2/catch.hpp>
#include <utility>
#include <vector>

namespace {

constexpr size_t kFunctions = 4;
using Vectors = pci::MsixVectors<kFunctions>;

} // namespace

TEST_CASE("pci: an MSI-X entry keeps its vector; asking again finds it", "[pci][msix]")
{
    Vectors vectors;
    CHECK(vectors.find(1, 0) == 0);
    REQUIRE(vectors.has_room(1, 3));
    REQUIRE(vectors.add(1, 0, 40));
    CHECK(vectors.find(1, 0) == 40);
    CHECK(vectors.find(1, 1) == 0); // another entry: none yet
    CHECK(vectors.find(2, 0) == 0); // another function: its own
    CHECK_FALSE(vectors.add(1, 0, 41)); // one vector per entry
    CHECK(vectors.count(1) == 1);
    CHECK_FALSE(vectors.add(1, 2, 0)); // no handle
    CHECK_FALSE(vectors.add(kFunctions, 0, 42)); // no such function
    CHECK(vectors.find(kFunctions, 0) == 0);
    CHECK_FALSE(vectors.has_room(kFunctions, 8));
}

TEST_CASE("pci: a function gets at most its table's size, and at most kMaxMsixVectorsPerFunction", "[pci][msix]")
{
    Vectors vectors;
    CHECK(Vectors::limit(2) == 2);
    CHECK(Vectors::limit(64) == pci::kMaxMsixVectorsPerFunction);
    CHECK(Vectors::limit(2048) == pci::kMaxMsixVectorsPerFunction); // PCI 3.0 §6.8.2: up to 2048 entries
    uint64_t handle = 100;
    uint16_t entry = 0;
    for (; vectors.has_room(0, 64); ++entry)
        REQUIRE(vectors.add(0, entry, handle++));
    CHECK(entry == pci::kMaxMsixVectorsPerFunction);
    CHECK_FALSE(vectors.add(0, entry, handle)); // full
    CHECK(vectors.has_room(1, 64)); // the cap is per function
    REQUIRE(vectors.add(3, 0, 200));
    REQUIRE(vectors.add(3, 1, 201));
    CHECK_FALSE(vectors.has_room(3, 2)); // a two-entry table: two vectors
}

TEST_CASE("pci: when the holder ended, every vector of the function is released once", "[pci][msix]")
{
    Vectors vectors;
    REQUIRE(vectors.add(2, 0, 50));
    REQUIRE(vectors.add(2, 5, 51));
    REQUIRE(vectors.add(1, 0, 60));
    std::vector<std::pair<uint16_t, uint64_t>> released;
    vectors.release_all(2, [&](uint16_t entry, uint64_t handle) { released.emplace_back(entry, handle); });
    CHECK(released == std::vector<std::pair<uint16_t, uint64_t>> { { 0, 50 }, { 5, 51 } });
    CHECK(vectors.count(2) == 0);
    CHECK(vectors.find(2, 0) == 0);
    CHECK(vectors.find(1, 0) == 60); // another function's stays
    released.clear();
    vectors.release_all(2, [&](uint16_t entry, uint64_t handle) { released.emplace_back(entry, handle); });
    CHECK(released.empty()); // nothing twice
    // The next driver of the function starts from nothing.
    CHECK(vectors.has_room(2, 64));
    REQUIRE(vectors.add(2, 0, 70));
    CHECK(vectors.find(2, 0) == 70);
}
