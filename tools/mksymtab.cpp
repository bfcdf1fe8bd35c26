// mksymtab: turns `llvm-nm -n -C -S --defined-only kernel.elf` output into the
// symbol-table blob the kernel embeds in its .ksyms section (format in
// microkernel/debug/symbol_table.hpp).
//
//   mksymtab INPUT_NM_TEXT OUTPUT_BLOB
//
// Empty input gives an empty table, so the first link stage can use it too.
#include "microkernel/debug/symbol_table.hpp"
#include "tools/nm_parser.hpp"
#include "tools/symbol_table_writer.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace herald {

// SymbolTable's headers assert on broken invariants; a host tool just aborts.
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line)
{
    std::fprintf(stderr, "mksymtab: HERALD_ASSERT(%s) failed at %s:%d\n", expression, file, line);
    std::abort();
}

} // namespace herald

namespace {

std::optional<std::string> read_file(const char* path)
{
    std::FILE* file = std::fopen(path, "rb");
    if (!file)
        return std::nullopt;
    std::string contents;
    char buffer[65536];
    std::size_t count;
    while ((count = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        contents.append(buffer, count);
    bool failed = std::ferror(file) != 0;
    std::fclose(file);
    if (failed)
        return std::nullopt;
    return contents;
}

bool write_file(const char* path, const std::vector<std::uint8_t>& bytes)
{
    std::FILE* file = std::fopen(path, "wb");
    if (!file)
        return false;
    bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    bool closed = std::fclose(file) == 0;
    if (written && closed)
        return true;
    // Leave no half-written blob behind for the build to link.
    std::remove(path);
    return false;
}

int fail(const std::string& message)
{
    std::fprintf(stderr, "mksymtab: %s\n", message.c_str());
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    using namespace herald;
    if (argc != 3)
        return fail("usage: mksymtab INPUT_NM_TEXT OUTPUT_BLOB");
    const char* input_path = argv[1];
    const char* output_path = argv[2];

    auto text = read_file(input_path);
    if (!text)
        return fail(std::string("cannot read ") + input_path);

    std::vector<tools::NmSymbol> symbols;
    std::string error;
    if (!tools::parse_nm_output(*text, symbols, error))
        return fail(std::string(input_path) + ": " + error);

    tools::SymbolTableWriter writer;
    for (const auto& symbol : tools::select_code_symbols(std::move(symbols)))
        writer.add(symbol.address, symbol.size, symbol.name);
    std::vector<std::uint8_t> blob = writer.encode();

    // Check the blob the way the kernel will, so a bad one fails the build
    // rather than a later panic report.
    auto parsed = SymbolTable::parse(ByteReader(blob.data(), blob.size()));
    if (parsed.is_error())
        return fail(std::string("internal error: generated table does not parse: ") + error_name(parsed.error()));

    if (!write_file(output_path, blob))
        return fail(std::string("cannot write ") + output_path);
    return 0;
}
