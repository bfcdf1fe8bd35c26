// SymbolTableWriter: encodes the blob that herald::SymbolTable parses (format
// documented in microkernel/debug/symbol_table.hpp). Host-only: used by
// tools/mksymtab and by the host tests to build blobs.
#pragma once

#include "microkernel/debug/symbol_table.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace herald::tools {

class SymbolTableWriter {
public:
    // Sizes above 4 GiB cannot be stored and no function is that large; they
    // become 0, "extent unknown".
    void add(std::uint64_t address, std::uint64_t size, std::string_view name)
    {
        std::uint32_t stored_size = size > UINT32_MAX ? 0 : static_cast<std::uint32_t>(size);
        m_symbols.push_back({ address, stored_size, std::string(name) });
    }

    // Sorts by address. When several symbols share an address the one added
    // first wins, because the table allows only one name per address; callers
    // that care which one add their preferred symbol first.
    std::vector<std::uint8_t> encode() const
    {
        std::vector<Symbol> sorted = m_symbols;
        std::stable_sort(sorted.begin(), sorted.end(),
            [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
        auto duplicate = std::unique(sorted.begin(), sorted.end(),
            [](const Symbol& a, const Symbol& b) { return a.address == b.address; });
        sorted.erase(duplicate, sorted.end());

        std::vector<std::uint8_t> entries;
        std::string strings;
        std::unordered_map<std::string, std::uint32_t> offsets;
        for (const Symbol& symbol : sorted) {
            put_u64(entries, symbol.address);
            put_u32(entries, symbol.size);
            put_u32(entries, intern(symbol.name, strings, offsets));
        }

        std::vector<std::uint8_t> blob;
        put_u32(blob, symbol_table_magic);
        put_u32(blob, symbol_table_version);
        put_u32(blob, static_cast<std::uint32_t>(sorted.size()));
        put_u32(blob, static_cast<std::uint32_t>(strings.size()));
        blob.insert(blob.end(), entries.begin(), entries.end());
        blob.insert(blob.end(), strings.begin(), strings.end());
        return blob;
    }

private:
    struct Symbol {
        std::uint64_t address;
        std::uint32_t size;
        std::string name;
    };

    // Identical names (e.g. several static helpers called "init") share one
    // copy in the string area.
    static std::uint32_t intern(const std::string& name, std::string& strings,
        std::unordered_map<std::string, std::uint32_t>& offsets)
    {
        // A NUL inside a name would end it early when read back; cut there.
        std::string clean = name.substr(0, name.find('\0'));
        auto found = offsets.find(clean);
        if (found != offsets.end())
            return found->second;
        auto offset = static_cast<std::uint32_t>(strings.size());
        strings += clean;
        strings += '\0';
        offsets.emplace(clean, offset);
        return offset;
    }

    static void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value)
    {
        for (int shift = 0; shift < 32; shift += 8)
            out.push_back(static_cast<std::uint8_t>(value >> shift));
    }

    static void put_u64(std::vector<std::uint8_t>& out, std::uint64_t value)
    {
        for (int shift = 0; shift < 64; shift += 8)
            out.push_back(static_cast<std::uint8_t>(value >> shift));
    }

    std::vector<Symbol> m_symbols;
};

} // namespace herald::tools
