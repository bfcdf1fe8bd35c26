// FAT directories: 32-byte entries, 8.3 names, long names (servers/fat,
// docs/storage.md).
//
// A directory is a row of 32-byte slots: FAT16's root in a fixed region
// after the FATs, every other directory (and FAT32's root) in a cluster
// chain. A slot is free (first byte 0xE5), the end of the directory (0x00:
// nothing follows), a long-name piece (attributes 0x0F) or a short entry
// (the 8.3 name, attributes, first cluster and size). DirectoryCursor walks
// the slots with the FatTable's checks (a directory chain that loops is
// ChainLoop); read_entry() joins long-name pieces to the short entry they
// precede, keeping the long name only when its pieces are complete, in
// order and carry the short name's checksum (section 7 of the
// specification), and otherwise the 8.3 name.
//
// Names this library creates are 8.3 names (make_short_name): 1-8
// characters, optionally a dot and 1-3 more, from the set the specification
// allows; all lower-case parts are stored upper-case with the "lower case"
// flags of byte 12 that Windows and mtools honour, so that "notes.txt"
// lists as "notes.txt". Long names are read only; characters outside ASCII
// read as '?'.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fat_error.hpp"
#include "fat_layout.hpp"
#include "fat_table.hpp"
#include "sector_cache.hpp"

namespace herald::fat {

inline constexpr size_t kMaxNameLength = 255;
// A directory holds at most 65536 entries (specification, section 6).
inline constexpr uint32_t kMaxDirectorySlots = 65536;
inline constexpr uint8_t kAttributeReadOnly = 0x01;
inline constexpr uint8_t kAttributeHidden = 0x02;
inline constexpr uint8_t kAttributeSystem = 0x04;
inline constexpr uint8_t kAttributeVolumeId = 0x08;
inline constexpr uint8_t kAttributeDirectory = 0x10;
inline constexpr uint8_t kAttributeArchive = 0x20;
inline constexpr uint8_t kAttributeLongName = 0x0F;
inline constexpr uint8_t kSlotFree = 0xE5;
inline constexpr uint8_t kSlotEnd = 0x00;

// Offsets in a short entry (section 6).
inline constexpr size_t kEntryNameAt = 0;
inline constexpr size_t kEntryAttributesAt = 11;
inline constexpr size_t kEntryCaseAt = 12;
inline constexpr size_t kEntryCreateTimeAt = 14;
inline constexpr size_t kEntryCreateDateAt = 16;
inline constexpr size_t kEntryAccessDateAt = 18;
inline constexpr size_t kEntryClusterHighAt = 20;
inline constexpr size_t kEntryWriteTimeAt = 22;
inline constexpr size_t kEntryWriteDateAt = 24;
inline constexpr size_t kEntryClusterLowAt = 26;
inline constexpr size_t kEntrySizeAt = 28;
inline constexpr uint8_t kCaseLowerBase = 0x08;
inline constexpr uint8_t kCaseLowerExtension = 0x10;

// A directory: its first cluster, or 0 for FAT16's fixed root.
struct DirectoryRef {
    uint32_t first_cluster;
};

// Where a slot is on the disk, and its index in its directory.
struct SlotPosition {
    uint64_t sector;
    uint32_t offset;
    uint32_t index;
};

struct ShortName {
    uint8_t bytes[11];
    uint8_t case_flags;
};

// A file or directory as its directory lists it.
struct Entry {
    char name[kMaxNameLength + 1]; // the long name if it has a valid one, else the 8.3 name
    char short_display[13];        // the 8.3 name as "NAME.EXT" (for lookups)
    uint8_t short_name[11];
    uint8_t attributes;
    uint32_t first_cluster;
    uint32_t size;
    uint16_t write_date;
    uint16_t write_time;
    SlotPosition position;   // the short entry
    uint32_t first_slot;     // the index of its first long-name slot (= position.index if none)

    bool is_directory() const { return attributes & kAttributeDirectory; }
    bool is_dot() const { return short_name[0] == '.'; } // "." or ".."
};

// "NAME.EXT" (or lower case) as an 11-byte short name; BadName if it is not one.
Result<ShortName> make_short_name(const char* name, size_t length);
// The short name's checksum that long-name slots carry (section 7.2).
uint8_t short_name_checksum(const uint8_t* short_name);
// ASCII case-insensitive comparison of a name with `length` bytes of `text`.
bool names_equal(const char* name, const char* text, size_t length);

class DirectoryCursor {
public:
    DirectoryCursor(SectorCache& cache, FatTable& fat, const Layout& layout, DirectoryRef directory);

    // The next slot's position (false at the end of the directory's storage).
    Result<bool> next(SlotPosition& position);
    // Moves to slot `index` (the next next() gives it).
    Result<void> seek(uint32_t index);
    // The cluster the cursor is in (0 in FAT16's root), for growing the directory.
    uint32_t last_cluster() const { return m_cluster; }
    SectorCache& cache() const { return m_cache; }
    const Layout& layout() const { return m_layout; }

private:
    SectorCache& m_cache;
    FatTable& m_fat;
    const Layout& m_layout;
    DirectoryRef m_directory;
    uint32_t m_cluster { 0 };
    uint32_t m_index { 0 };     // of the next slot
    uint32_t m_clusters_walked { 0 };
    bool m_at_end { false };
};

// The next entry at or after the cursor (false at the end of the
// directory). Skips free slots, the volume label, and stray long-name pieces.
Result<bool> read_entry(DirectoryCursor& cursor, Entry& entry);

// The entry's first cluster as a directory: 0 means the root (".." of a
// directory in the root).
DirectoryRef directory_of(const Entry& entry, const Layout& layout);

} // namespace herald::fat
