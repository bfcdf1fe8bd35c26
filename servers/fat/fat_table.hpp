// FatTable: the file allocation table, the volume's map of cluster chains
// (servers/fat, docs/storage.md).
//
// Each cluster's entry says what follows it in its file: the next cluster,
// the end of the chain, or (0) that the cluster is free. next() checks
// every entry it follows: a chain that leads outside the volume, to a free
// or bad cluster, is CorruptChain; walkers count their steps against the
// volume's cluster count and call a longer walk ChainLoop, so that no chain
// on a corrupt image runs forever. Writes go to every copy of the FAT (the
// usual two) so that they stay mirrors; FAT32's top four bits are kept as
// they were (section 4 of the specification: they are reserved).
//
// The free count comes from one scan at attach (FSInfo's copy is only a
// hint, and a corrupt one must not make allocation fail) and follows every
// allocation and release after it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fat_error.hpp"
#include "fat_layout.hpp"
#include "sector_cache.hpp"

namespace herald::fat {

// What next() returns at the end of a chain.
inline constexpr uint32_t kEndOfChain = 0xFFFFFFFF;

class FatTable {
public:
    // Uses `cache` for a volume of `layout`; counts the free clusters.
    Result<void> attach(SectorCache& cache, const Layout& layout);

    // The cluster after `cluster` in its chain, or kEndOfChain.
    Result<uint32_t> next(uint32_t cluster);

    // A free cluster, marked as the end of a chain and, unless `previous`
    // is 0, linked after `previous`. NoSpace when none is left.
    Result<uint32_t> allocate(uint32_t previous);

    // Frees the chain that starts at `first` (bounded: a loop is ChainLoop).
    Result<void> free_chain(uint32_t first);

    // Marks `cluster` as the end of its chain.
    Result<void> end_chain_at(uint32_t cluster) { return set(cluster, end_marker()); }

    uint32_t free_clusters() const { return m_free; }
    uint32_t next_free_hint() const { return m_hint; }

    // The raw entry (28 bits on FAT32), for the tests and the fuzzer.
    Result<uint32_t> entry(uint32_t cluster);

private:
    Result<void> set(uint32_t cluster, uint32_t value);
    uint32_t end_marker() const { return m_layout.type == FatType::Fat32 ? 0x0FFFFFFF : 0xFFFF; }
    bool is_end(uint32_t value) const { return value >= (m_layout.type == FatType::Fat32 ? 0x0FFFFFF8u : 0xFFF8u); }

    SectorCache* m_cache { nullptr };
    Layout m_layout {};
    uint32_t m_free { 0 };
    uint32_t m_hint { 2 };
};

} // namespace herald::fat
