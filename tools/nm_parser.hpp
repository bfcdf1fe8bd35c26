// Parsing of `llvm-nm -n -C -S --defined-only` output for tools/mksymtab.
// Host-only. Kept apart from mksymtab's main() so the host tests can call it.
//
// Lines look like
//   ffffffff80000110 0000000000000019 T herald::foo(int, char const*)
//   ffffffff80000110 T herald::foo(int, char const*)
// The size column is missing where nm does not know a size (GNU nm omits it
// for size-0 symbols), and demangled names contain spaces, so the name is the
// whole rest of the line. Undefined symbols (blank address) are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::tools {

struct NmSymbol {
    std::uint64_t address { 0 };
    std::uint64_t size { 0 };  // 0 when nm printed no size
    char type { '?' };
    std::string name;
};

// Parses one line. Returns false and sets `error` when the line is malformed;
// otherwise `symbol` holds the symbol, or is empty for a line that names no
// defined symbol (blank line, undefined symbol).
bool parse_nm_line(std::string_view line, std::optional<NmSymbol>& symbol, std::string& error);

// Parses a whole listing. On failure returns false with `error` naming the
// line number; `symbols` then holds what came before it.
bool parse_nm_output(std::string_view text, std::vector<NmSymbol>& symbols, std::string& error);

// Whether nm's type letter marks code: text (T, t), weak functions (W) and GNU
// indirect functions (i, whose address is the resolver's code). Weak objects
// are V; w and v are undefined weak symbols and never have an address.
bool is_code_symbol(char type);

// The code symbols with names, sorted by address, one per address. Where
// several share an address the most useful name wins: one with a known size
// (linker-script markers such as __text_start have none), then a strong global
// over a weak over a local one, then the first listed.
std::vector<NmSymbol> select_code_symbols(std::vector<NmSymbol> symbols);

} // namespace herald::tools
