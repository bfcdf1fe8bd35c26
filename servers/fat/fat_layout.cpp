// The BPB check (fat_layout.hpp). Offsets are those of Microsoft's "FAT:
// General Overview of On-Disk Format" 1.03, section 3 (BPB) and 3.3 (FAT32).
#include "fat_layout.hpp"

namespace herald::fat {

namespace {

constexpr size_t kJumpAt = 0;
constexpr size_t kBytesPerSectorAt = 11;
constexpr size_t kSectorsPerClusterAt = 13;
constexpr size_t kReservedSectorsAt = 14;
constexpr size_t kFatCountAt = 16;
constexpr size_t kRootEntryCountAt = 17;
constexpr size_t kTotalSectors16At = 19;
constexpr size_t kMediaAt = 21;
constexpr size_t kFatSize16At = 22;
constexpr size_t kTotalSectors32At = 32;
constexpr size_t kFatSize32At = 36;
constexpr size_t kExtendedFlagsAt = 40;
constexpr size_t kVersionAt = 42;
constexpr size_t kRootClusterAt = 44;
constexpr size_t kFsInfoAt = 48;
constexpr size_t kSignatureAt = 510;
constexpr size_t kBootSectorSize = 512;
// ExtFlags bit 7: "only one FAT is active", which this library does not do.
constexpr uint16_t kMirroringDisabled = 0x80;
// More copies of the FAT than anyone makes (mkfs.fat: 1 or 2).
constexpr uint32_t kMaxFatCount = 4;

constexpr bool is_power_of_two(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

} // namespace

Result<Layout> parse_layout(const uint8_t* sector, uint32_t sector_size, uint64_t device_sectors)
{
    if (!sector || sector_size < kBootSectorSize)
        return Error::BadGeometry;
    if (sector[kSignatureAt] != 0x55 || sector[kSignatureAt + 1] != 0xAA)
        return Error::NotFat;
    bool jump = sector[kJumpAt] == 0xE9 || (sector[kJumpAt] == 0xEB && sector[kJumpAt + 2] == 0x90);
    if (!jump)
        return Error::NotFat;

    Layout layout {};
    layout.bytes_per_sector = load16(sector + kBytesPerSectorAt);
    layout.sectors_per_cluster = sector[kSectorsPerClusterAt];
    layout.reserved_sectors = load16(sector + kReservedSectorsAt);
    layout.fat_count = sector[kFatCountAt];
    layout.root_entry_count = load16(sector + kRootEntryCountAt);
    layout.media = sector[kMediaAt];
    uint32_t total16 = load16(sector + kTotalSectors16At);
    uint32_t total32 = load32(sector + kTotalSectors32At);
    uint32_t fat_size16 = load16(sector + kFatSize16At);

    if (layout.bytes_per_sector < 512 || layout.bytes_per_sector > kMaxSectorSize
        || !is_power_of_two(layout.bytes_per_sector) || !is_power_of_two(layout.sectors_per_cluster)
        || layout.reserved_sectors == 0 || layout.fat_count == 0 || layout.fat_count > kMaxFatCount)
        return Error::BadGeometry;
    if (layout.bytes_per_sector != sector_size)
        return Error::Unsupported; // logical sectors unlike the device's
    layout.bytes_per_cluster = layout.bytes_per_sector * layout.sectors_per_cluster;
    if (layout.bytes_per_cluster > kMaxClusterSize)
        return Error::BadGeometry;
    layout.total_sectors = total16 != 0 ? total16 : total32;
    if (layout.total_sectors == 0 || layout.total_sectors > device_sectors)
        return Error::BadGeometry;

    layout.type = fat_size16 != 0 ? FatType::Fat16 : FatType::Fat32;
    if (layout.type == FatType::Fat32) {
        layout.sectors_per_fat = load32(sector + kFatSize32At);
        if (layout.sectors_per_fat == 0 || layout.root_entry_count != 0)
            return Error::BadGeometry;
        if (load16(sector + kVersionAt) != 0 || (load16(sector + kExtendedFlagsAt) & kMirroringDisabled))
            return Error::Unsupported;
    } else {
        layout.sectors_per_fat = fat_size16;
        if (layout.root_entry_count == 0)
            return Error::BadGeometry;
    }
    layout.first_fat_sector = layout.reserved_sectors;
    layout.root_directory_sectors
        = (layout.root_entry_count * kDirectoryEntrySize + layout.bytes_per_sector - 1) / layout.bytes_per_sector;
    uint64_t root_start = layout.reserved_sectors + static_cast<uint64_t>(layout.fat_count) * layout.sectors_per_fat;
    uint64_t data_start = root_start + layout.root_directory_sectors;
    if (data_start >= layout.total_sectors)
        return Error::BadGeometry;
    layout.root_directory_sector = static_cast<uint32_t>(root_start);
    layout.first_data_sector = static_cast<uint32_t>(data_start);
    uint64_t clusters = (layout.total_sectors - data_start) / layout.sectors_per_cluster;

    uint64_t entry_size = layout.type == FatType::Fat32 ? 4 : 2;
    uint64_t fat_entries = static_cast<uint64_t>(layout.sectors_per_fat) * layout.bytes_per_sector / entry_size;
    if (layout.type == FatType::Fat16) {
        if (clusters < kMinFat16Clusters)
            return Error::Unsupported; // FAT12
        if (clusters > kMaxFat16Clusters)
            return Error::BadClusterCount;
    } else if (clusters == 0 || clusters > kMaxFat32Clusters) {
        return Error::BadClusterCount;
    }
    if (fat_entries < clusters + 2)
        return Error::BadClusterCount; // the FAT cannot describe every cluster
    layout.cluster_count = static_cast<uint32_t>(clusters);

    if (layout.type == FatType::Fat32) {
        layout.root_cluster = load32(sector + kRootClusterAt);
        if (!layout.is_valid_cluster(layout.root_cluster))
            return Error::BadGeometry; // the root directory outside the data region
        uint32_t fs_info = load16(sector + kFsInfoAt);
        layout.fs_info_sector = fs_info != 0 && fs_info < layout.reserved_sectors ? fs_info : 0;
    }
    return layout;
}

} // namespace herald::fat
