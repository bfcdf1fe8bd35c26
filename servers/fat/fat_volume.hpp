// Volume: a mounted FAT16 or FAT32 file system on a BlockDevice, with the
// operations the file protocol offers (servers/fat, docs/storage.md).
//
// Paths are '/'-separated from the root ("/docs/readme.txt"; the leading
// '/' may be left out), matched without regard to case against long and
// 8.3 names. Files are read and written by offset (no file position: the
// protocol's requests stand alone), through ids that open() gives out; a
// file opened twice shares one table entry, so both see the same size. A
// write past the end fills the gap with zeros; a write that needs more
// clusters than are free is refused with NoSpace before any byte is
// written, so a full disk never leaves a half-written request behind.
// Files are limited to 4 GiB - 1 bytes (the directory entry's 32-bit size).
//
// Nothing reaches the disk before sync() (or before the sector cache needs
// the slot): sync writes the dirty sectors, FSInfo's free count on FAT32,
// and flushes the device. Everything lives in the object: a table of
// kMaxOpenFiles open files and the sector cache; no heap.
//
// What it does not do yet: create long names (8.3 only), keep time (every
// entry gets the timestamp set_timestamp() gave, 1980-01-01 by default),
// FAT12, and rename.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "block_device.hpp"
#include "fat_directory.hpp"
#include "fat_error.hpp"
#include "fat_layout.hpp"
#include "fat_table.hpp"
#include "sector_cache.hpp"

namespace herald::fat {

using FileId = uint32_t;

struct Stat {
    uint32_t size;
    uint32_t first_cluster;
    uint16_t write_date; // DOS format: (year - 1980) << 9 | month << 5 | day
    uint16_t write_time; // hours << 11 | minutes << 5 | seconds / 2
    uint8_t attributes;
    uint8_t is_directory;
};

struct VolumeInfo {
    FatType type;
    uint32_t bytes_per_cluster;
    uint32_t cluster_count;
    uint32_t free_clusters;
};

class Volume {
public:
    static constexpr size_t kMaxOpenFiles = 16;
    static constexpr size_t kMaxPathLength = 255;
    static constexpr uint32_t kMaxFileSize = 0xFFFFFFFF;
    // 1980-01-01 00:00:00, the first day FAT can say.
    static constexpr uint16_t kDefaultDate = (0 << 9) | (1 << 5) | 1;

    // Reads and checks the boot sector and the FAT of `device`. Any open
    // files of an earlier mount are forgotten (sync() it first).
    Result<void> mount(BlockDevice& device);
    bool is_mounted() const { return m_device != nullptr; }
    VolumeInfo info() const;

    Result<FileId> open(const char* path, size_t length);
    Result<void> close(FileId file);
    // Up to `length` bytes from `offset`; fewer at the end of the file, 0 past it.
    Result<uint32_t> read(FileId file, uint32_t offset, uint8_t* buffer, uint32_t length);
    // All `length` bytes at `offset`, or nothing (NoSpace, FileTooLarge).
    Result<uint32_t> write(FileId file, uint32_t offset, const uint8_t* data, uint32_t length);
    // Shortens the file (freeing its clusters beyond `size`) or lengthens it with zeros.
    Result<void> truncate(FileId file, uint32_t size);
    Result<Stat> stat(FileId file);
    Result<Stat> stat(const char* path, size_t length);

    // A new empty file, or directory (with its "." and ".."), named by an 8.3 name.
    Result<void> create(const char* path, size_t length, bool directory);
    // Deletes a file (not while open) or an empty directory.
    Result<void> remove(const char* path, size_t length);
    // The entry at or after `cookie` (0 at first) in the directory `path`,
    // and the cookie of the one after it; false at the end. "." and ".." are left out.
    Result<bool> list(const char* path, size_t length, uint32_t& cookie, Entry& entry);

    // Writes everything to the device and flushes it.
    Result<void> sync();

    void set_timestamp(uint16_t date, uint16_t time) { m_date = date, m_time = time; }
    const Layout& layout() const { return m_layout; }
    SectorCache& cache() { return m_cache; }
    FatTable& fat() { return m_fat; }

private:
    struct OpenFile {
        uint64_t entry_sector;
        uint32_t entry_offset;
        uint32_t first_cluster;
        uint32_t size;
        uint32_t cursor_index;   // the chain's cluster number cursor_index is cursor_cluster
        uint32_t cursor_cluster; // (0: start from the first)
        uint16_t references;
        uint8_t generation;
        bool in_use;
    };
    struct Found {
        Entry entry;
        DirectoryRef parent;
        bool is_root;
    };

    Result<Found> resolve(const char* path, size_t length);
    Result<bool> find(DirectoryRef directory, const char* name, size_t length, const uint8_t* short_name, Entry& entry);
    Result<OpenFile*> file_of(FileId file);
    // Walks the whole chain of a file of `size` bytes: ChainLoop if it
    // never ends, CorruptChain if it leaves the volume or is too short.
    Result<void> check_chain(uint32_t first, uint32_t size);
    Result<uint32_t> cluster_at(OpenFile& file, uint32_t index);
    Result<void> grow_chain(OpenFile& file, uint32_t bytes);
    Result<void> transfer(OpenFile& file, uint32_t offset, uint8_t* out, const uint8_t* in, uint32_t length);
    Result<void> update_entry(OpenFile& file);
    Result<SlotPosition> free_slot(DirectoryRef directory);
    Result<void> zero_cluster(uint32_t cluster);
    Result<void> write_short_entry(const SlotPosition& at, const uint8_t* name, uint8_t case_flags, uint8_t attributes,
        uint32_t first_cluster);
    Result<void> mark_free(DirectoryRef directory, uint32_t first_slot, uint32_t last_slot);
    Result<bool> is_empty_directory(DirectoryRef directory);
    DirectoryRef root() const { return { m_layout.type == FatType::Fat32 ? m_layout.root_cluster : 0 }; }
    uint32_t clusters_for(uint32_t bytes) const
    {
        return static_cast<uint32_t>((static_cast<uint64_t>(bytes) + m_layout.bytes_per_cluster - 1) / m_layout.bytes_per_cluster);
    }

    BlockDevice* m_device { nullptr };
    Layout m_layout {};
    SectorCache m_cache;
    FatTable m_fat;
    OpenFile m_files[kMaxOpenFiles] {};
    uint16_t m_date { kDefaultDate };
    uint16_t m_time { 0 };
};

} // namespace herald::fat
