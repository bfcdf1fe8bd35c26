#include "archive.hpp"

namespace herald {

using namespace archive_layout;

namespace {

constexpr u32 kFnvOffsetBasis = 2166136261u;
constexpr u32 kFnvPrime = 16777619u;

struct Header {
    u32 version;
    u32 entry_count;
    u64 archive_size;
    u32 table_checksum;
    u32 reserved;
};

struct TableEntry {
    u64 offset;
    u64 size;
    u32 kind;
    u32 checksum;
};

ErrorOr<Header> read_header(ByteReader bytes)
{
    for (usize i = 0; i < sizeof(kMagic); ++i) {
        auto byte = bytes.read<u8>(kHeaderMagicAt + i);
        if (!byte)
            return Error::Truncated;
        if (*byte != static_cast<u8>(kMagic[i]))
            return Error::BadMagic;
    }
    if (bytes.size() < Archive::kHeaderSize)
        return Error::Truncated;
    return Header {
        bytes.read<u32>(kHeaderVersionAt).value(),
        bytes.read<u32>(kHeaderEntryCountAt).value(),
        bytes.read<u64>(kHeaderArchiveSizeAt).value(),
        bytes.read<u32>(kHeaderTableChecksumAt).value(),
        bytes.read<u32>(kHeaderReservedAt).value(),
    };
}

TableEntry read_table_entry(ByteReader entry)
{
    return TableEntry {
        entry.read<u64>(kEntryOffsetAt).value(),
        entry.read<u64>(kEntrySizeAt).value(),
        entry.read<u32>(kEntryKindAt).value(),
        entry.read<u32>(kEntryChecksumAt).value(),
    };
}

bool is_name_character(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-';
}

// The name field: the name, then NUL bytes to the end of the field.
StringView name_field(ByteReader entry)
{
    auto chars = reinterpret_cast<const char*>(entry.data() + kEntryNameAt);
    return StringView::from_bounded(chars, Archive::kNameSize);
}

ErrorOr<void> check_name_field(ByteReader entry)
{
    StringView name = name_field(entry);
    if (name.is_empty() || name.length() == Archive::kNameSize)
        return Error::BadLength;
    if (!Archive::is_valid_name(name))
        return Error::OutOfRange;
    // Nothing hides after the NUL: the field is exactly one name.
    for (usize i = name.length(); i < Archive::kNameSize; ++i) {
        if (entry.read<u8>(kEntryNameAt + i).value() != 0)
            return Error::OutOfRange;
    }
    return {};
}

// Where the data may lie: aligned, in [table_end, archive_size), and from
// `previous_end` on. Returns the end of the data.
ErrorOr<u64> check_data_range(const TableEntry& entry, u64 table_end, u64 previous_end, u64 archive_size)
{
    if (!is_aligned(entry.offset, Archive::kDataAlignment))
        return Error::BadAlignment;
    if (entry.offset < table_end || entry.offset < previous_end)
        return Error::OutOfRange;
    if (entry.offset > archive_size || entry.size > archive_size - entry.offset)
        return Error::OutOfRange; // also catches offset + size wrapping
    return entry.offset + entry.size;
}

} // namespace

u32 fnv1a32(const u8* data, usize length)
{
    u32 hash = kFnvOffsetBasis;
    for (usize i = 0; i < length; ++i) {
        hash ^= data[i];
        hash *= kFnvPrime;
    }
    return hash;
}

bool Archive::is_valid_name(StringView name)
{
    if (name.is_empty() || name.length() >= kNameSize)
        return false;
    for (usize i = 0; i < name.length(); ++i) {
        if (!is_name_character(name[i]))
            return false;
    }
    return true;
}

ErrorOr<Archive> Archive::parse(ByteReader bytes)
{
    Header header = HERALD_TRY(read_header(bytes));
    if (header.version != kVersion || header.reserved != 0)
        return Error::Unsupported;
    if (header.entry_count == 0)
        return Error::BadLength;
    if (header.entry_count > kMaxEntries)
        return Error::TooMany;

    // At most 32 + 256 * 56 bytes: no overflow.
    usize table_size = usize { header.entry_count } * kEntrySize;
    u64 table_end = kHeaderSize + table_size;
    if (header.archive_size < table_end)
        return Error::BadLength;
    if (header.archive_size > bytes.size())
        return Error::Truncated;

    Archive archive(bytes.slice(0, header.archive_size).value(), header.entry_count);
    ByteReader table = archive.m_bytes.slice(kHeaderSize, table_size).value();
    if (fnv1a32(table.data(), table.size()) != header.table_checksum)
        return Error::BadChecksum;

    u64 previous_end = table_end;
    for (usize i = 0; i < archive.m_count; ++i) {
        ByteReader entry = archive.table_entry(i);
        HERALD_TRY(check_name_field(entry));
        StringView name = name_field(entry);
        for (usize j = 0; j < i; ++j) {
            if (name_field(archive.table_entry(j)) == name)
                return Error::Duplicate;
        }
        previous_end = HERALD_TRY(check_data_range(read_table_entry(entry), table_end, previous_end, header.archive_size));
    }
    return archive;
}

ByteReader Archive::table_entry(usize index) const
{
    // parse() checked that the table lies inside m_bytes.
    return m_bytes.slice(kHeaderSize + index * kEntrySize, kEntrySize).value();
}

StringView Archive::name(usize index) const
{
    if (index >= m_count)
        return {};
    return name_field(table_entry(index));
}

ErrorOr<ArchiveEntry> Archive::entry(usize index) const
{
    if (index >= m_count)
        return Error::OutOfRange;
    ByteReader table_bytes = table_entry(index);
    TableEntry entry = read_table_entry(table_bytes);
    if (entry.kind != static_cast<u32>(ArchiveKind::Program) && entry.kind != static_cast<u32>(ArchiveKind::File)
        && entry.kind != static_cast<u32>(ArchiveKind::Symbols))
        return Error::Unsupported;
    // parse() checked that the data lies inside m_bytes.
    ByteReader data = m_bytes.slice(entry.offset, entry.size).value();
    if (!data_checked(index)) {
        if (fnv1a32(data.data(), data.size()) != entry.checksum)
            return Error::BadChecksum;
        mark_data_checked(index);
    }
    return ArchiveEntry { name_field(table_bytes), static_cast<ArchiveKind>(entry.kind), data };
}

bool Archive::data_checked(usize index) const
{
    return __atomic_load_n(&m_checked[index / 64], __ATOMIC_RELAXED) & (1ull << (index % 64));
}

void Archive::mark_data_checked(usize index) const
{
    __atomic_or_fetch(&m_checked[index / 64], 1ull << (index % 64), __ATOMIC_RELAXED);
}

ErrorOr<ArchiveEntry> Archive::find(StringView name) const
{
    for (usize i = 0; i < m_count; ++i) {
        if (name_field(table_entry(i)) == name)
            return entry(i);
    }
    return Error::NotFound;
}

} // namespace herald
