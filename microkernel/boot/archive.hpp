// Boot archive parser: the one file that carries Herald's programs (servers,
// init, the shell, user programs) and their data files. QEMU (-initrd) and
// GRUB (a Multiboot2 module) hand it to the kernel as a boot module; the host
// tool tools/mkarchive builds it. Format in docs/boot-archive.md; all
// integers little-endian:
//
//   offset 0   header (kHeaderSize = 32 bytes)
//              char magic[8]       "HERALDAR"
//              u32  version        1
//              u32  entry_count    1 to kMaxEntries
//              u64  archive_size   header to the end of the last entry's data
//                                  (plus any padding)
//              u32  table_checksum fnv1a32() of the entry table's bytes
//              u32  reserved       0
//   offset 32  entry_count entries (kEntrySize = 56 bytes each)
//              char name[32]       1 to 31 bytes of [A-Za-z0-9._-], then NUL
//                                  bytes to the end of the field
//              u64  offset         where the data starts
//              u64  size           data bytes (0 allowed)
//              u32  kind           ArchiveKind
//              u32  checksum       fnv1a32() of the data bytes
//   then       each entry's data, in table order, at a kDataAlignment-aligned
//              offset, with zero padding between.
//
// The archive is untrusted. Archive::parse() checks the header and the table
// and nothing else, so that one corrupt program costs only that program:
// entry() checks the entry's kind and data checksum when it is asked for,
// the first time; a checksum that matched is not computed again. An Archive
// therefore needs bytes that do not change once parsed (the loader sees them
// read-only, the kernel keeps its module untouched): checksumming a whole
// ELF file, debug information included, at every spawn was most of what a
// spawn cost (docs/benchmarks.md, "Where spawn_to_exit's instructions go").
// What parse() accepts:
//   - the magic, version 1, reserved 0, 1 to kMaxEntries entries
//   - archive_size at least the header and the table, and at most the bytes
//     given (bytes after archive_size are ignored: loaders pad modules)
//   - the table checksum
//   - every name valid (is_valid_name()) with NUL bytes after it, and unique
//   - every entry's data at an aligned offset at or after the end of the
//     table, inside archive_size, and at or after the end of the previous
//     entry's data (table order, so no two overlap)
//
// Errors of parse():
//   Truncated     the bytes end inside the header or the table, or before
//                 archive_size
//   BadMagic      not a boot archive
//   Unsupported   another version, or a reserved field that is not 0
//   BadLength     entry_count 0, archive_size smaller than the header and
//                 the table, or a name that is empty or fills all 32 bytes
//   TooMany       more than kMaxEntries entries
//   BadChecksum   the table checksum does not match
//   OutOfRange    a name with a character outside [A-Za-z0-9._-] or a
//                 non-NUL byte after its end; an entry's data starting inside
//                 the header or the table, ending past archive_size, or
//                 overlapping (or preceding) the previous entry's data
//   BadAlignment  an entry's offset is not a multiple of kDataAlignment
//   Duplicate     two entries with the same name
// Errors of entry() and find():
//   OutOfRange    entry(): no entry at that index
//   NotFound      find(): no entry of that name
//   Unsupported   the entry's kind is not one this version knows
//   BadChecksum   the entry's data does not match its checksum
#pragma once

#include "../lib/bytes.hpp"
#include "../lib/error.hpp"
#include "../lib/string_view.hpp"
#include "../lib/types.hpp"

namespace herald {

enum class ArchiveKind : u32 {
    Program = 1, // an ELF64 executable (microkernel/boot/elf.hpp)
    File = 2,    // data, e.g. a text manifest
    Symbols = 3, // the function symbols of the program named like the entry
                 // without its ".sym" (debug/symbol_table.hpp's format):
                 // the kernel names the functions of a faulting program
};

// The entry holding program NAME's symbols is NAME + kSymbolsSuffix, so a
// program's name has at most Archive::kNameSize - 1 - 4 characters.
inline constexpr char kSymbolsSuffix[] = ".sym";

struct ArchiveEntry {
    StringView name;
    ArchiveKind kind;
    ByteReader bytes;
};

// The format's magic, version and field offsets, shared with the writer
// (tools/archive_writer.hpp).
namespace archive_layout {
inline constexpr char kMagic[8] = { 'H', 'E', 'R', 'A', 'L', 'D', 'A', 'R' };
inline constexpr u32 kVersion = 1;
// In the header.
inline constexpr usize kHeaderMagicAt = 0;          // char[8]
inline constexpr usize kHeaderVersionAt = 8;        // u32
inline constexpr usize kHeaderEntryCountAt = 12;    // u32
inline constexpr usize kHeaderArchiveSizeAt = 16;   // u64
inline constexpr usize kHeaderTableChecksumAt = 24; // u32
inline constexpr usize kHeaderReservedAt = 28;      // u32
// In an entry.
inline constexpr usize kEntryNameAt = 0;      // char[32]
inline constexpr usize kEntryOffsetAt = 32;   // u64
inline constexpr usize kEntrySizeAt = 40;     // u64
inline constexpr usize kEntryKindAt = 48;     // u32
inline constexpr usize kEntryChecksumAt = 52; // u32
} // namespace archive_layout

class Archive {
public:
    static constexpr usize kMaxEntries = 256;
    static constexpr usize kNameSize = 32;
    static constexpr usize kHeaderSize = 32;
    static constexpr usize kEntrySize = 56;
    static constexpr usize kDataAlignment = 4096;

    // Checks the header and the table (see the top of this file); does not
    // read any entry's data.
    static ErrorOr<Archive> parse(ByteReader bytes);

    // 1 to kMaxEntries, in table order.
    usize count() const { return m_count; }

    // The entry at `index`, after checking its kind and its data checksum
    // (once: see the top of this file).
    ErrorOr<ArchiveEntry> entry(usize index) const;

    // The entry named exactly `name`, checked as entry() does.
    ErrorOr<ArchiveEntry> find(StringView name) const;

    // The name at `index` without checking the data, for listings; empty
    // for an index past the end.
    StringView name(usize index) const;

    // 1 to kNameSize - 1 characters, each of [A-Za-z0-9._-].
    static bool is_valid_name(StringView name);

private:
    Archive(ByteReader bytes, usize count) : m_bytes(bytes), m_count(count) { }

    ByteReader table_entry(usize index) const;

    bool data_checked(usize index) const;
    void mark_data_checked(usize index) const;

    ByteReader m_bytes; // the archive_size bytes
    usize m_count;
    // One bit per entry whose data checksum matched; atomic, since the
    // kernel's archive may be read on several CPUs at once.
    mutable u64 m_checked[kMaxEntries / 64] {};
};

// FNV-1a, 32 bits (offset basis 2166136261, prime 16777619): the table and
// data checksums.
u32 fnv1a32(const u8* data, usize length);

} // namespace herald
