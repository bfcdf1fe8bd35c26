#include "microkernel/debug/symbol_table.hpp"
#include "tools/nm_parser.hpp"
#include "tools/symbol_table_writer.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace herald;
using herald::tools::NmSymbol;
using herald::tools::SymbolTableWriter;

namespace {

using Blob = std::vector<u8>;

ErrorOr<SymbolTable> parse(const Blob& blob)
{
    return SymbolTable::parse(ByteReader(blob.data(), blob.size()));
}

std::string as_string(StringView view) { return std::string(view.chars(), view.length()); }

void put_u32(Blob& blob, usize offset, u32 value) { std::memcpy(blob.data() + offset, &value, sizeof(value)); }
void put_u64(Blob& blob, usize offset, u64 value) { std::memcpy(blob.data() + offset, &value, sizeof(value)); }

usize entry_offset(usize index) { return symbol_table_header_size + index * symbol_table_entry_size; }

// Three functions with a gap after `alpha` and an unsized `gamma` at the end.
Blob sample_blob()
{
    SymbolTableWriter writer;
    writer.add(0x2000, 0x40, "beta(int, char const*)");
    writer.add(0x1000, 0x10, "alpha");
    writer.add(0x3000, 0, "gamma");
    return writer.encode();
}

} // namespace

TEST_CASE("symbol lookup finds the containing symbol")
{
    Blob blob = sample_blob();
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    const SymbolTable& table = parsed.value();
    CHECK(table.count() == 3);

    SECTION("exact address")
    {
        auto hit = table.lookup(0x1000);
        REQUIRE(hit);
        CHECK(as_string(hit->name) == "alpha");
        CHECK(hit->offset == 0);
    }
    SECTION("inside a sized symbol, name with spaces")
    {
        auto hit = table.lookup(0x203f);
        REQUIRE(hit);
        CHECK(as_string(hit->name) == "beta(int, char const*)");
        CHECK(hit->offset == 0x3f);
    }
    SECTION("past the end of a sized symbol")
    {
        CHECK(!table.lookup(0x1010));
        CHECK(!table.lookup(0x1fff));
    }
    SECTION("before the first symbol")
    {
        CHECK(!table.lookup(0));
        CHECK(!table.lookup(0xfff));
    }
    SECTION("after the last symbol, whose size is unknown")
    {
        auto hit = table.lookup(0xffffffffffffffffull);
        REQUIRE(hit);
        CHECK(as_string(hit->name) == "gamma");
        CHECK(hit->offset == 0xffffffffffffffffull - 0x3000);
    }
}

TEST_CASE("symbol lookup on many symbols agrees with a linear scan")
{
    SymbolTableWriter writer;
    for (u64 i = 0; i < 1000; ++i)
        writer.add(0xffffffff80000000ull + i * 32, 16, "f" + std::to_string(i));
    Blob blob = writer.encode();
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    for (u64 i = 0; i < 1000; i += 37) {
        auto hit = parsed.value().lookup(0xffffffff80000000ull + i * 32 + 5);
        REQUIRE(hit);
        CHECK(as_string(hit->name) == "f" + std::to_string(i));
        CHECK(hit->offset == 5);
        CHECK(!parsed.value().lookup(0xffffffff80000000ull + i * 32 + 16));
    }
}

TEST_CASE("symbol table writer keeps the first symbol at a duplicate address and shares names")
{
    SymbolTableWriter writer;
    writer.add(0x100, 8, "first");
    writer.add(0x100, 8, "second");
    writer.add(0x200, 8, "first");
    Blob blob = writer.encode();
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    CHECK(parsed.value().count() == 2);
    CHECK(as_string(parsed.value().lookup(0x100)->name) == "first");
    CHECK(as_string(parsed.value().lookup(0x200)->name) == "first");
    CHECK(blob.size() == symbol_table_header_size + 2 * symbol_table_entry_size + 6);
}

TEST_CASE("an empty symbol table is valid and finds nothing")
{
    Blob blob = SymbolTableWriter().encode();
    CHECK(blob.size() == symbol_table_header_size);
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    CHECK(parsed.value().count() == 0);
    CHECK(!parsed.value().lookup(0x1000));
    CHECK(!SymbolTable().lookup(0x1000));
}

TEST_CASE("symbol table tolerates padding after the string area")
{
    Blob blob = sample_blob();
    blob.resize(blob.size() + 7, 0xcc);
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    CHECK(as_string(parsed.value().lookup(0x3000)->name) == "gamma");
}

TEST_CASE("corrupt symbol tables are rejected")
{
    Blob blob = sample_blob();

    SECTION("bad magic")
    {
        blob[0] = 'X';
        CHECK(parse(blob).error() == Error::BadMagic);
    }
    SECTION("unknown version")
    {
        put_u32(blob, 4, 2);
        CHECK(parse(blob).error() == Error::Unsupported);
    }
    SECTION("truncated header")
    {
        for (usize size = 0; size < symbol_table_header_size; ++size) {
            Blob cut(blob.begin(), blob.begin() + size);
            CHECK(parse(cut).error() == Error::Truncated);
        }
    }
    SECTION("count too large for the blob")
    {
        put_u32(blob, 8, 4);
        CHECK(parse(blob).error() == Error::Truncated);
        put_u32(blob, 8, 0xffffffff);
        CHECK(parse(blob).error() == Error::Truncated);
    }
    SECTION("string area past the end of the blob")
    {
        blob.pop_back();
        CHECK(parse(blob).error() == Error::Truncated);
    }
    SECTION("unsorted entries")
    {
        put_u64(blob, entry_offset(2), 0x1800);
        CHECK(parse(blob).error() == Error::OutOfRange);
    }
    SECTION("two entries at the same address")
    {
        put_u64(blob, entry_offset(1), 0x1000);
        CHECK(parse(blob).error() == Error::OutOfRange);
    }
    SECTION("name offset out of range")
    {
        u32 string_bytes;
        std::memcpy(&string_bytes, blob.data() + 12, sizeof(string_bytes));
        put_u32(blob, entry_offset(1) + 12, string_bytes);
        CHECK(parse(blob).error() == Error::OutOfRange);
        put_u32(blob, entry_offset(1) + 12, 0xffffffff);
        CHECK(parse(blob).error() == Error::OutOfRange);
    }
    SECTION("unterminated name")
    {
        blob.back() = 'x';
        CHECK(parse(blob).error() == Error::Truncated);
    }
    SECTION("entries but no string area")
    {
        put_u32(blob, 12, 0);
        CHECK(parse(blob).error() == Error::Truncated);
    }
}

TEST_CASE("every truncation and every single-byte corruption fails cleanly")
{
    Blob blob = sample_blob();
    for (usize size = 0; size < blob.size(); ++size) {
        Blob cut(blob.begin(), blob.begin() + size);
        CHECK(parse(cut).is_error());
    }
    // Whatever a flipped byte does, parsing and looking up must not crash.
    for (usize i = 0; i < blob.size(); ++i) {
        Blob corrupt = blob;
        corrupt[i] ^= 0xff;
        auto parsed = parse(corrupt);
        if (!parsed.is_error()) {
            for (u64 address : { 0x0ull, 0x1000ull, 0x2010ull, 0x3000ull, ~0ull })
                (void)parsed.value().lookup(address);
        }
    }
}

// Real output of `llvm-nm -n -C -S --defined-only` on a linked kernel (LLVM 14),
// plus lines in GNU nm's form without a size column, and undefined symbols.
static const char* const nm_listing = R"(                                  U target_undefined
                                  w weak_undefined
0000000000001234 0000000000000000 A abs_sym
ffffffff800000c0 0000000000000000 T __text_start
ffffffff800000c0 0000000000000000 T asm_label
ffffffff800000c1 0000000000000000 t local_label
ffffffff800000d0 0000000000000023 T call()
ffffffff80000100 0000000000000010 t resolve()
ffffffff80000100 0000000000000010 i ifn
ffffffff80000110 0000000000000019 T herald::foo(int, char const*)
ffffffff80000130 000000000000000a T herald::S::m()
ffffffff80000140 000000000000000b T herald::use()
ffffffff80000150 0000000000000006 t herald::loc()
ffffffff80000160 0000000000000006 T bar
ffffffff80000170 0000000000000010 T u()
ffffffff80000180 0000000000000006 W wk()
ffffffff80000190 000000000000000c W int tf<int>(int)
ffffffff800001a0 T unsized_entry
ffffffff800001a6 0000000000000000 T __text_end
ffffffff800001c0 0000000000000004 V wo
ffffffff800001d0 0000000000000004 B g
ffffffff800001e0 D data_without_size
)";

TEST_CASE("nm lines with and without a size column")
{
    std::optional<NmSymbol> symbol;
    std::string error;

    REQUIRE(tools::parse_nm_line("ffffffff80000110 0000000000000019 T herald::foo(int, char const*)", symbol, error));
    REQUIRE(symbol);
    CHECK(symbol->address == 0xffffffff80000110ull);
    CHECK(symbol->size == 0x19);
    CHECK(symbol->type == 'T');
    CHECK(symbol->name == "herald::foo(int, char const*)");

    REQUIRE(tools::parse_nm_line("ffffffff800001a0 t herald::(anonymous namespace)::helper()\r", symbol, error));
    REQUIRE(symbol);
    CHECK(symbol->address == 0xffffffff800001a0ull);
    CHECK(symbol->size == 0);
    CHECK(symbol->type == 't');
    CHECK(symbol->name == "herald::(anonymous namespace)::helper()");

    REQUIRE(tools::parse_nm_line("                                  U target", symbol, error));
    CHECK(!symbol);
    REQUIRE(tools::parse_nm_line("", symbol, error));
    CHECK(!symbol);
}

TEST_CASE("malformed nm lines are reported")
{
    std::optional<NmSymbol> symbol;
    std::string error;
    CHECK(!tools::parse_nm_line("garbage", symbol, error));
    CHECK(!tools::parse_nm_line("ffffffff80000110", symbol, error));
    CHECK(!tools::parse_nm_line("ffffffff80000110 0000000000000019", symbol, error));
    CHECK(!tools::parse_nm_line("ffffffff80000110 zz T name", symbol, error));
    CHECK(!tools::parse_nm_line("1ffffffff80000110 T name", symbol, error));
    CHECK(!tools::parse_nm_line("          T defined_without_address", symbol, error));
    CHECK(!error.empty());

    std::vector<NmSymbol> symbols;
    CHECK(!tools::parse_nm_output("ffffffff80000110 T ok\n/tmp/k.elf:\n", symbols, error));
    CHECK(error.find("line 2") != std::string::npos);
}

TEST_CASE("nm listing becomes a table of code symbols")
{
    std::vector<NmSymbol> symbols;
    std::string error;
    REQUIRE(tools::parse_nm_output(nm_listing, symbols, error));
    CHECK(symbols.size() == 20);

    auto code = tools::select_code_symbols(symbols);
    std::vector<std::string> names;
    for (const auto& symbol : code)
        names.push_back(symbol.name);
    CHECK(names == std::vector<std::string> {
        "__text_start", "local_label", "call()", "ifn", "herald::foo(int, char const*)",
        "herald::S::m()", "herald::use()", "herald::loc()", "bar", "u()", "wk()",
        "int tf<int>(int)", "unsized_entry", "__text_end" });

    SymbolTableWriter writer;
    for (const auto& symbol : code)
        writer.add(symbol.address, symbol.size, symbol.name);
    Blob blob = writer.encode();
    auto parsed = parse(blob);
    REQUIRE(!parsed.is_error());
    const SymbolTable& table = parsed.value();

    auto hit = table.lookup(0xffffffff80000118ull);
    REQUIRE(hit);
    CHECK(as_string(hit->name) == "herald::foo(int, char const*)");
    CHECK(hit->offset == 8);
    CHECK(!table.lookup(0xffffffff80000129ull)); // past foo's 0x19 bytes
    CHECK(as_string(table.lookup(0xffffffff800001a4ull)->name) == "unsized_entry");
    CHECK(!table.lookup(0x1234)); // absolute symbols are not code
}

TEST_CASE("a sized global beats an unsized marker and a local at the same address")
{
    std::vector<NmSymbol> symbols {
        { 0x100, 0, 'T', "__marker" },
        { 0x100, 8, 't', "local_alias" },
        { 0x100, 8, 'T', "global_function" },
        { 0x100, 8, 'W', "weak_function" },
    };
    auto code = tools::select_code_symbols(symbols);
    REQUIRE(code.size() == 1);
    CHECK(code[0].name == "global_function");
}

TEST_CASE("empty nm output gives an empty table")
{
    std::vector<NmSymbol> symbols;
    std::string error;
    REQUIRE(tools::parse_nm_output("", symbols, error));
    CHECK(symbols.empty());
    CHECK(tools::select_code_symbols(symbols).empty());
}
