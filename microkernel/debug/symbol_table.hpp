// SymbolTable: the kernel's embedded function symbols, for symbolized
// backtraces in panic reports.
//
// The build links the kernel once, lists its code symbols with
// `llvm-nm -n -C -S --defined-only`, turns that listing into a blob with the
// host tool tools/mksymtab, and relinks the kernel with the blob in its
// `.ksyms` section (between the linker symbols __ksyms_start/__ksyms_end).
//
// Blob format, all integers little-endian:
//
//   offset 0   header (16 bytes)
//              u32 magic         the bytes "HSYM"
//              u32 version       1
//              u32 count         number of entries
//              u32 string_bytes  size of the string area
//   offset 16  count entries (16 bytes each), strictly ascending by address
//              u64 address       first byte of the symbol
//              u32 size          length in bytes; 0 means "extent unknown"
//              u32 name_offset   where the name starts in the string area
//   then       string area (string_bytes bytes): NUL-terminated demangled
//              names. When count > 0 its last byte is NUL, so every name
//              that starts inside the area also ends inside it.
//
// Bytes after the string area are ignored: the section holding the blob may
// be padded by the linker.
#pragma once

#include "microkernel/lib/bytes.hpp"
#include "microkernel/lib/error.hpp"
#include "microkernel/lib/optional.hpp"
#include "microkernel/lib/string_view.hpp"
#include "microkernel/lib/types.hpp"

namespace herald {

// "HSYM" read as a little-endian u32.
inline constexpr u32 symbol_table_magic = 'H' | ('S' << 8) | ('Y' << 16) | (u32('M') << 24);
inline constexpr u32 symbol_table_version = 1;
inline constexpr usize symbol_table_header_size = 16;
inline constexpr usize symbol_table_entry_size = 16;

// An address explained as "name+offset".
struct Symbolized {
    StringView name;
    u64 offset;
};

class SymbolTable {
public:
    // An empty table: every lookup fails. Useful before the blob is parsed.
    SymbolTable() = default;

    // Validates the whole blob up front, so that lookup() (which runs while
    // the kernel panics) never has to cope with inconsistent data.
    static ErrorOr<SymbolTable> parse(ByteReader blob);

    // The symbol containing `address`: the last one starting at or below it,
    // unless that symbol's known size ends before `address`.
    Optional<Symbolized> lookup(u64 address) const;

    usize count() const { return m_count; }

private:
    struct Entry {
        u64 address;
        u32 size;
        u32 name_offset;
    };

    SymbolTable(ByteReader entries, ByteReader strings, usize count)
        : m_entries(entries), m_strings(strings), m_count(count) { }

    Entry entry(usize index) const;
    StringView name_at(u32 offset) const;

    ByteReader m_entries { nullptr, 0 };
    ByteReader m_strings { nullptr, 0 };
    usize m_count { 0 };
};

} // namespace herald
