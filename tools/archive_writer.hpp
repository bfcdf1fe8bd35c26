// ArchiveWriter: encodes the boot archive that herald::Archive parses (format
// in microkernel/boot/archive.hpp and docs/boot-archive.md). Host-only: used
// by tools/mkarchive and by the host tests to build archives.
#pragma once

#include "microkernel/boot/archive.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::tools {

class ArchiveWriter {
public:
    // Adds an entry after the others. Returns an error message, or an empty
    // string when the entry was added.
    std::string add(std::string_view name, ArchiveKind kind, std::vector<std::uint8_t> data)
    {
        if (!Archive::is_valid_name(StringView(name.data(), name.size())))
            return "invalid name \"" + std::string(name) + "\": it must be 1 to "
                + std::to_string(Archive::kNameSize - 1) + " characters of [A-Za-z0-9._-]";
        for (const Entry& entry : m_entries) {
            if (entry.name == name)
                return "duplicate name \"" + std::string(name) + "\"";
        }
        if (m_entries.size() == Archive::kMaxEntries)
            return "more than " + std::to_string(Archive::kMaxEntries) + " entries";
        m_entries.push_back({ std::string(name), kind, std::move(data) });
        return {};
    }

    std::size_t count() const { return m_entries.size(); }

    // The header, the table, then each entry's data at the next aligned
    // offset; archive_size is rounded up to the alignment too, so the file
    // ends on a page boundary. Parses only with 1 or more entries.
    std::vector<std::uint8_t> encode() const
    {
        using namespace archive_layout;
        std::uint64_t table_end = Archive::kHeaderSize + m_entries.size() * Archive::kEntrySize;
        std::vector<std::uint8_t> bytes(table_end, 0);

        std::uint64_t cursor = table_end;
        for (std::size_t i = 0; i < m_entries.size(); ++i) {
            const Entry& entry = m_entries[i];
            std::uint64_t offset = align(cursor);
            std::size_t at = Archive::kHeaderSize + i * Archive::kEntrySize;
            for (std::size_t c = 0; c < entry.name.size(); ++c)
                bytes[at + kEntryNameAt + c] = static_cast<std::uint8_t>(entry.name[c]);
            put(bytes, at + kEntryOffsetAt, offset, 8);
            put(bytes, at + kEntrySizeAt, entry.data.size(), 8);
            put(bytes, at + kEntryKindAt, static_cast<std::uint32_t>(entry.kind), 4);
            put(bytes, at + kEntryChecksumAt, fnv1a32(entry.data.data(), entry.data.size()), 4);
            bytes.resize(offset, 0);
            bytes.insert(bytes.end(), entry.data.begin(), entry.data.end());
            cursor = offset + entry.data.size();
        }
        bytes.resize(align(cursor), 0);

        for (std::size_t i = 0; i < sizeof(kMagic); ++i)
            bytes[kHeaderMagicAt + i] = static_cast<std::uint8_t>(kMagic[i]);
        put(bytes, kHeaderVersionAt, kVersion, 4);
        put(bytes, kHeaderEntryCountAt, m_entries.size(), 4);
        put(bytes, kHeaderArchiveSizeAt, bytes.size(), 8);
        put(bytes, kHeaderTableChecksumAt,
            fnv1a32(bytes.data() + Archive::kHeaderSize, table_end - Archive::kHeaderSize), 4);
        put(bytes, kHeaderReservedAt, 0, 4);
        return bytes;
    }

private:
    struct Entry {
        std::string name;
        ArchiveKind kind;
        std::vector<std::uint8_t> data;
    };

    static std::uint64_t align(std::uint64_t value)
    {
        return (value + Archive::kDataAlignment - 1) & ~std::uint64_t(Archive::kDataAlignment - 1);
    }

    // Little-endian, `width` bytes.
    static void put(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint64_t value, int width)
    {
        for (int i = 0; i < width; ++i)
            bytes[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
    }

    std::vector<Entry> m_entries;
};

} // namespace herald::tools
