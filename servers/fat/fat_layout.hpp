// FAT layout: the boot sector's BIOS parameter block (BPB), checked, as the
// numbers the rest of the library works with (servers/fat, docs/storage.md).
//
// parse_layout() trusts nothing in the sector: every size must be non-zero
// and within the device, the regions (reserved, FATs, FAT16's root
// directory, data) must follow each other inside the volume, and the
// cluster count must fit both the FAT type and the FAT's own size, so that
// every cluster number below cluster_count + 2 has an entry in the FAT and
// sectors on the device. The FAT type follows the layout: a BPB with a
// 32-bit FAT size (BPB_FATSz16 = 0) is FAT32, else the cluster count decides
// between FAT16 and FAT12 (Microsoft's "FAT: General Overview of On-Disk
// Format", 1.03, section 3.5), and FAT12 is refused as Unsupported.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fat_error.hpp"

namespace herald::fat {

enum class FatType : uint8_t { Fat16, Fat32 };

// Limits from the specification (section 3.5): a FAT16 volume has 4085 to
// 65524 clusters; FAT32's entries are 28 bits wide, and 0x0FFFFFF7 and up
// are the "bad" and end-of-chain markers.
inline constexpr uint32_t kMinFat16Clusters = 4085;
inline constexpr uint32_t kMaxFat16Clusters = 65524;
inline constexpr uint32_t kMaxFat32Clusters = 0x0FFFFFF4; // clusters 2 .. 0x0FFFFFF5
inline constexpr uint32_t kMaxSectorSize = 4096;
inline constexpr uint32_t kMaxClusterSize = 64 * 1024;
inline constexpr uint32_t kDirectoryEntrySize = 32;
// FAT32's FSInfo sector (section 5): its signatures, and "unknown".
inline constexpr uint32_t kFsInfoLeadSignature = 0x41615252;
inline constexpr uint32_t kFsInfoStructSignature = 0x61417272;
inline constexpr uint32_t kFsInfoTrailSignature = 0xAA550000;
inline constexpr uint32_t kFsInfoUnknown = 0xFFFFFFFF;

struct Layout {
    FatType type;
    uint32_t bytes_per_sector;
    uint32_t sectors_per_cluster;
    uint32_t bytes_per_cluster;
    uint32_t reserved_sectors;
    uint32_t fat_count;
    uint32_t sectors_per_fat;
    uint32_t first_fat_sector;       // = reserved_sectors
    uint32_t root_directory_sector;  // FAT16: the fixed root directory's first sector
    uint32_t root_directory_sectors; // FAT16: its length (0 on FAT32)
    uint32_t root_entry_count;       // FAT16: its entries (0 on FAT32)
    uint32_t root_cluster;           // FAT32: the root directory's first cluster (0 on FAT16)
    uint32_t first_data_sector;
    uint32_t total_sectors;
    uint32_t cluster_count;          // data clusters, numbered 2 .. cluster_count + 1
    uint32_t fs_info_sector;         // FAT32: the FSInfo sector, 0 if none
    uint8_t media;

    constexpr uint32_t last_cluster() const { return cluster_count + 1; }
    constexpr bool is_valid_cluster(uint32_t cluster) const { return cluster >= 2 && cluster <= last_cluster(); }
    constexpr uint64_t cluster_sector(uint32_t cluster) const
    {
        return first_data_sector + static_cast<uint64_t>(cluster - 2) * sectors_per_cluster;
    }
};

// Checks the boot sector (`sector`, `sector_size` bytes, at least 512)
// of a device of `device_sectors` sectors of `sector_size` bytes.
Result<Layout> parse_layout(const uint8_t* sector, uint32_t sector_size, uint64_t device_sectors);

// Little-endian fields of on-disk structures.
inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t load32(const uint8_t* p)
{
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16
        | static_cast<uint32_t>(p[3]) << 24;
}
inline void store16(uint8_t* p, uint16_t value)
{
    p[0] = static_cast<uint8_t>(value);
    p[1] = static_cast<uint8_t>(value >> 8);
}
inline void store32(uint8_t* p, uint32_t value)
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<uint8_t>(value >> (8 * i));
}

} // namespace herald::fat
