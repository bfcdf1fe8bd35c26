// The sector cache (sector_cache.hpp).
#include "sector_cache.hpp"

namespace herald::fat {

void SectorCache::attach(BlockDevice& device)
{
    m_device = &device;
    m_sector_size = device.sector_size();
    m_clock = 0;
    for (Slot& slot : m_slots)
        slot = {};
}

Result<void> SectorCache::write_back(size_t index)
{
    Slot& slot = m_slots[index];
    if (!slot.valid || !slot.dirty)
        return {};
    FAT_TRY(m_device->write(slot.sector, 1, m_data[index]));
    ++m_device_writes;
    slot.dirty = false;
    return {};
}

Result<size_t> SectorCache::slot_for(uint64_t sector, bool read_in)
{
    if (!m_device || m_sector_size == 0 || m_sector_size > kMaxSectorSize)
        return Error::NotMounted;
    if (sector >= m_device->sector_count())
        return Error::OutOfRange;
    size_t victim = 0;
    for (size_t i = 0; i < kSlots; ++i) {
        if (m_slots[i].valid && m_slots[i].sector == sector) {
            m_slots[i].last_use = ++m_clock;
            return i;
        }
        if (!m_slots[i].valid || (m_slots[victim].valid && m_slots[i].last_use < m_slots[victim].last_use))
            victim = i;
    }
    FAT_TRY(write_back(victim));
    m_slots[victim].valid = false;
    if (read_in) {
        FAT_TRY(m_device->read(sector, 1, m_data[victim]));
        ++m_device_reads;
    }
    m_slots[victim] = { sector, ++m_clock, true, false };
    return victim;
}

Result<const uint8_t*> SectorCache::get(uint64_t sector)
{
    size_t index = FAT_TRY(slot_for(sector, true));
    return static_cast<const uint8_t*>(m_data[index]);
}

Result<uint8_t*> SectorCache::modify(uint64_t sector)
{
    size_t index = FAT_TRY(slot_for(sector, true));
    m_slots[index].dirty = true;
    return static_cast<uint8_t*>(m_data[index]);
}

Result<uint8_t*> SectorCache::overwrite(uint64_t sector)
{
    size_t index = FAT_TRY(slot_for(sector, false));
    m_slots[index].dirty = true;
    return static_cast<uint8_t*>(m_data[index]);
}

Result<void> SectorCache::flush()
{
    // Lowest sector first: FATs before directories before data, in one sweep.
    for (;;) {
        size_t next = kSlots;
        for (size_t i = 0; i < kSlots; ++i) {
            if (m_slots[i].valid && m_slots[i].dirty && (next == kSlots || m_slots[i].sector < m_slots[next].sector))
                next = i;
        }
        if (next == kSlots)
            return {};
        FAT_TRY(write_back(next));
    }
}

} // namespace herald::fat
