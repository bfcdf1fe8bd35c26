#include "symbol_table.hpp"

namespace herald {

namespace {

struct Header {
    u32 magic;
    u32 version;
    u32 count;
    u32 string_bytes;
};

ErrorOr<Header> read_header(ByteReader blob)
{
    auto magic = blob.read<u32>(0);
    auto version = blob.read<u32>(4);
    auto count = blob.read<u32>(8);
    auto string_bytes = blob.read<u32>(12);
    if (!magic || !version || !count || !string_bytes)
        return Error::Truncated;
    if (*magic != symbol_table_magic)
        return Error::BadMagic;
    if (*version != symbol_table_version)
        return Error::Unsupported;
    return Header { *magic, *version, *count, *string_bytes };
}

// Every name must start inside the string area and end there too. A final NUL
// byte guarantees the second for every offset that satisfies the first.
ErrorOr<void> check_strings_terminated(ByteReader strings)
{
    if (strings.size() == 0)
        return Error::Truncated;
    if (strings.read<u8>(strings.size() - 1).value() != 0)
        return Error::Truncated;
    return {};
}

} // namespace

ErrorOr<SymbolTable> SymbolTable::parse(ByteReader blob)
{
    Header header = HERALD_TRY(read_header(blob));

    // count is a u32, so count * 16 cannot overflow a 64-bit usize.
    usize entries_bytes = usize(header.count) * symbol_table_entry_size;
    auto entries = blob.slice(symbol_table_header_size, entries_bytes);
    if (!entries)
        return Error::Truncated;
    auto strings = blob.slice(symbol_table_header_size + entries_bytes, header.string_bytes);
    if (!strings)
        return Error::Truncated;

    SymbolTable table(*entries, *strings, header.count);
    if (header.count == 0)
        return table;

    HERALD_TRY(check_strings_terminated(*strings));
    for (usize i = 0; i < table.m_count; ++i) {
        Entry current = table.entry(i);
        if (current.name_offset >= strings->size())
            return Error::OutOfRange;
        // Strictly ascending, so lookup() can binary-search and no address
        // has two competing names.
        if (i > 0 && current.address <= table.entry(i - 1).address)
            return Error::OutOfRange;
    }
    return table;
}

SymbolTable::Entry SymbolTable::entry(usize index) const
{
    // parse() checked that all entries lie inside m_entries.
    usize base = index * symbol_table_entry_size;
    return Entry {
        m_entries.read<u64>(base).value(),
        m_entries.read<u32>(base + 8).value(),
        m_entries.read<u32>(base + 12).value(),
    };
}

StringView SymbolTable::name_at(u32 offset) const
{
    auto chars = reinterpret_cast<const char*>(m_strings.data()) + offset;
    return StringView::from_bounded(chars, m_strings.size() - offset);
}

Optional<Symbolized> SymbolTable::lookup(u64 address) const
{
    // Find the first entry above `address`; the one before it is the last
    // entry at or below `address`.
    usize low = 0;
    usize high = m_count;
    while (low < high) {
        usize middle = low + (high - low) / 2;
        if (entry(middle).address <= address)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == 0)
        return nullopt;

    Entry found = entry(low - 1);
    u64 offset = address - found.address;
    if (found.size != 0 && offset >= found.size)
        return nullopt;
    return Symbolized { name_at(found.name_offset), offset };
}

} // namespace herald
