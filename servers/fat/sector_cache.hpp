// SectorCache: a small write-back cache of whole sectors between the FAT
// library and its BlockDevice (servers/fat, docs/storage.md).
//
// kSlots sectors of up to kMaxSectorSize bytes each, in the object itself
// (no heap: a ring-3 server keeps its Volume in .bss). get() reads a sector
// in (or finds it); modify() does the same and marks it dirty, and
// overwrite() marks it dirty without reading, for a sector the caller fills
// entirely. The pointer they return stays valid only until the next call
// into the cache: callers copy what they need before asking for another
// sector. A dirty sector reaches the device when its slot is reused (the
// least recently used one is) or at flush(); a failed write leaves it
// dirty and returns the device's error.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "block_device.hpp"
#include "fat_layout.hpp"

namespace herald::fat {

class SectorCache {
public:
    static constexpr size_t kSlots = 16;

    // Forgets every slot (without writing: call flush() first) and uses `device`.
    void attach(BlockDevice& device);

    Result<const uint8_t*> get(uint64_t sector);
    Result<uint8_t*> modify(uint64_t sector);
    Result<uint8_t*> overwrite(uint64_t sector);

    // Writes every dirty sector back, in sector order (then the caller flushes the device).
    Result<void> flush();

    // Reads and writes that went to the device (the tests look at them).
    uint64_t device_reads() const { return m_device_reads; }
    uint64_t device_writes() const { return m_device_writes; }

private:
    struct Slot {
        uint64_t sector;
        uint64_t last_use;
        bool valid;
        bool dirty;
    };

    Result<size_t> slot_for(uint64_t sector, bool read_in);
    Result<void> write_back(size_t index);

    BlockDevice* m_device { nullptr };
    uint32_t m_sector_size { 0 };
    uint64_t m_clock { 0 };
    uint64_t m_device_reads { 0 };
    uint64_t m_device_writes { 0 };
    Slot m_slots[kSlots] {};
    alignas(64) uint8_t m_data[kSlots][kMaxSectorSize] {};
};

} // namespace herald::fat
