// The file allocation table (fat_table.hpp).
#include "fat_table.hpp"

namespace herald::fat {

namespace {

constexpr uint32_t kFat32Mask = 0x0FFFFFFF;
constexpr uint32_t kFree = 0;

} // namespace

Result<void> FatTable::attach(SectorCache& cache, const Layout& layout)
{
    m_cache = &cache;
    m_layout = layout;
    m_free = 0;
    m_hint = 2;
    bool found_hint = false;
    for (uint32_t cluster = 2; cluster <= m_layout.last_cluster(); ++cluster) {
        if (FAT_TRY(entry(cluster)) == kFree) {
            ++m_free;
            if (!found_hint) {
                m_hint = cluster;
                found_hint = true;
            }
        }
    }
    return {};
}

Result<uint32_t> FatTable::entry(uint32_t cluster)
{
    if (!m_cache)
        return Error::NotMounted;
    if (cluster > m_layout.last_cluster())
        return Error::CorruptChain;
    uint32_t entry_size = m_layout.type == FatType::Fat32 ? 4 : 2;
    uint64_t offset = static_cast<uint64_t>(cluster) * entry_size;
    uint64_t sector = m_layout.first_fat_sector + offset / m_layout.bytes_per_sector;
    const uint8_t* bytes = FAT_TRY(m_cache->get(sector));
    const uint8_t* at = bytes + offset % m_layout.bytes_per_sector;
    return m_layout.type == FatType::Fat32 ? load32(at) & kFat32Mask : load16(at);
}

Result<void> FatTable::set(uint32_t cluster, uint32_t value)
{
    if (!m_cache)
        return Error::NotMounted;
    if (!m_layout.is_valid_cluster(cluster))
        return Error::CorruptChain;
    uint32_t entry_size = m_layout.type == FatType::Fat32 ? 4 : 2;
    uint64_t offset = static_cast<uint64_t>(cluster) * entry_size;
    for (uint32_t copy = 0; copy < m_layout.fat_count; ++copy) {
        uint64_t sector = m_layout.first_fat_sector + static_cast<uint64_t>(copy) * m_layout.sectors_per_fat
            + offset / m_layout.bytes_per_sector;
        uint8_t* at = FAT_TRY(m_cache->modify(sector)) + offset % m_layout.bytes_per_sector;
        if (m_layout.type == FatType::Fat32)
            store32(at, (load32(at) & ~kFat32Mask) | (value & kFat32Mask));
        else
            store16(at, static_cast<uint16_t>(value));
    }
    return {};
}

Result<uint32_t> FatTable::next(uint32_t cluster)
{
    if (!m_layout.is_valid_cluster(cluster))
        return Error::CorruptChain;
    uint32_t value = FAT_TRY(entry(cluster));
    if (is_end(value))
        return kEndOfChain;
    if (!m_layout.is_valid_cluster(value))
        return Error::CorruptChain; // free (0), reserved (1), bad (…F7) or beyond the volume
    return value;
}

Result<uint32_t> FatTable::allocate(uint32_t previous)
{
    if (m_free == 0)
        return Error::NoSpace;
    uint32_t count = m_layout.cluster_count;
    for (uint32_t step = 0; step < count; ++step) {
        uint32_t cluster = 2 + (m_hint - 2 + step) % count;
        if (FAT_TRY(entry(cluster)) != kFree)
            continue;
        FAT_TRY(set(cluster, end_marker()));
        if (previous != 0) {
            if (auto linked = set(previous, cluster); linked.is_error()) {
                (void)set(cluster, kFree);
                return linked.error();
            }
        }
        --m_free;
        m_hint = cluster == m_layout.last_cluster() ? 2 : cluster + 1;
        return cluster;
    }
    m_free = 0; // the count was wrong: the FAT was changed behind our back
    return Error::NoSpace;
}

Result<void> FatTable::free_chain(uint32_t first)
{
    uint32_t cluster = first;
    for (uint32_t step = 0; step <= m_layout.cluster_count; ++step) {
        uint32_t following = FAT_TRY(next(cluster));
        FAT_TRY(set(cluster, kFree));
        ++m_free;
        if (following == kEndOfChain)
            return {};
        cluster = following;
    }
    return Error::ChainLoop;
}

} // namespace herald::fat
