#include "microkernel/abi/syscalls.hpp"
#include "microkernel/boot/elf.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

using namespace herald;

namespace {

constexpr u64 kUserBase = abi::kUserCodeBase;
constexpr u64 kUserEnd = abi::kUserSpaceEnd;
constexpr u64 kPage = 0x1000;

// gABI values the builder writes.
constexpr u32 PT_NULL = 0;
constexpr u32 PT_LOAD = 1;
constexpr u32 PT_DYNAMIC = 2;
constexpr u32 PT_INTERP = 3;
constexpr u32 PT_NOTE = 4;
constexpr u32 PT_SHLIB = 5;
constexpr u32 PT_PHDR = 6;
constexpr u32 PT_TLS = 7;
constexpr u32 PT_GNU_EH_FRAME = 0x6474e550;
constexpr u32 PT_GNU_STACK = 0x6474e551;
constexpr u32 PT_GNU_RELRO = 0x6474e552;
constexpr u32 PT_GNU_PROPERTY = 0x6474e553;
constexpr u32 PF_X = 1;
constexpr u32 PF_W = 2;
constexpr u32 PF_R = 4;

struct ProgramHeader {
    u32 type;
    u32 flags;
    u64 offset;
    u64 vaddr;
    u64 filesz;
    u64 memsz;
    u64 align;
};

template<typename T>
void put(std::vector<u8>& bytes, usize offset, T value)
{
    if (bytes.size() < offset + sizeof(T))
        bytes.resize(offset + sizeof(T), 0);
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// Builds an ELF64 executable by hand (gABI "ELF Header", "Program Header").
// By default it is what ld.lld makes of a small user program: text, rodata
// and data+bss in separate page-aligned PT_LOAD segments, plus PT_GNU_STACK.
struct ElfBuilder {
    u8 elf_class = 2;       // ELFCLASS64
    u8 data = 1;            // ELFDATA2LSB
    u8 ident_version = 1;   // EV_CURRENT
    u8 os_abi = 0;          // ELFOSABI_NONE
    u16 type = 2;           // ET_EXEC
    u16 machine = 62;       // EM_X86_64
    u32 version = 1;        // EV_CURRENT
    u64 entry = kUserBase + 0x10;
    u64 phoff = 64;
    u16 ehsize = 64;
    u16 phentsize = 56;
    Optional<u16> phnum_override;
    usize minimum_size = 0;
    std::vector<ProgramHeader> headers = {
        { PT_LOAD, PF_R | PF_X, 0x1000, kUserBase, 0x234, 0x234, kPage },
        { PT_LOAD, PF_R, 0x2000, kUserBase + 0x1000, 0x80, 0x80, kPage },
        { PT_LOAD, PF_R | PF_W, 0x3000, kUserBase + 0x2000, 0x10, 0x3000, kPage },
        { PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16 },
    };

    ProgramHeader& text() { return headers[0]; }
    ProgramHeader& rodata() { return headers[1]; }
    ProgramHeader& bss() { return headers[2]; }

    void write_header(std::vector<u8>& bytes) const
    {
        const u8 ident[16] = { 0x7f, 'E', 'L', 'F', elf_class, data, ident_version, os_abi };
        std::memcpy(bytes.data(), ident, sizeof(ident));
        put<u16>(bytes, 16, type);
        put<u16>(bytes, 18, machine);
        put<u32>(bytes, 20, version);
        put<u64>(bytes, 24, entry);
        put<u64>(bytes, 32, phoff);
        put<u64>(bytes, 40, 0); // e_shoff: no section headers
        put<u32>(bytes, 48, 0); // e_flags
        put<u16>(bytes, 52, ehsize);
        put<u16>(bytes, 54, phentsize);
        put<u16>(bytes, 56, phnum_override.value_or(static_cast<u16>(headers.size())));
        put<u16>(bytes, 58, 64); // e_shentsize
        put<u16>(bytes, 60, 0);  // e_shnum
        put<u16>(bytes, 62, 0);  // e_shstrndx
    }

    std::vector<u8> build() const
    {
        std::vector<u8> bytes(64, 0);
        // Segment contents first, so that headers placed over them win.
        for (const auto& header : headers) {
            if (header.type != PT_LOAD || header.filesz == 0 || header.filesz > 0x100000 || header.offset > 0x100000)
                continue;
            if (bytes.size() < header.offset + header.filesz)
                bytes.resize(header.offset + header.filesz, 0);
            for (u64 i = 0; i < header.filesz; ++i)
                bytes[header.offset + i] = static_cast<u8>(0xc0 + i);
        }
        if (bytes.size() < minimum_size)
            bytes.resize(minimum_size, 0);

        // The table, then the ELF header over it should they overlap.
        if (phoff > 0x100000) {
            write_header(bytes); // a table far past the end: leave it out
            return bytes;
        }
        for (usize i = 0; i < headers.size(); ++i) {
            const ProgramHeader& h = headers[i];
            usize at = phoff + i * 56;
            put<u32>(bytes, at + 0, h.type);
            put<u32>(bytes, at + 4, h.flags);
            put<u64>(bytes, at + 8, h.offset);
            put<u64>(bytes, at + 16, h.vaddr);
            put<u64>(bytes, at + 24, h.vaddr); // p_paddr
            put<u64>(bytes, at + 32, h.filesz);
            put<u64>(bytes, at + 40, h.memsz);
            put<u64>(bytes, at + 48, h.align);
        }
        write_header(bytes);
        return bytes;
    }
};

// Parses from a heap block of exactly the file's size, so that AddressSanitizer
// reports any read past the end.
ErrorOr<ElfImage> parse(const std::vector<u8>& bytes, u64 user_base = kUserBase, u64 user_end = kUserEnd)
{
    // One byte in, so the file also starts at an odd address: nothing may
    // assume alignment.
    std::unique_ptr<u8[]> copy(new u8[bytes.size() + 1]);
    u8* start = copy.get() + 1;
    if (!bytes.empty())
        std::memcpy(start, bytes.data(), bytes.size());
    return parse_elf(ByteReader(start, bytes.size()), user_base, user_end);
}

Error parse_error(const std::vector<u8>& bytes, u64 user_base = kUserBase, u64 user_end = kUserEnd)
{
    return parse(bytes, user_base, user_end).error();
}

std::string error_string(Error error) { return error_name(error); }

u64 page_down(u64 value) { return value & ~(kPage - 1); }

// What the loader relies on after a successful parse, checked without
// trusting the parser's own arithmetic.
bool invariants_hold(const ElfImage& image, usize file_size, u64 user_base, u64 user_end)
{
    if (image.segment_count == 0 || image.segment_count > ElfImage::kMaxSegments)
        return false;
    bool entry_in_code = false;
    for (usize i = 0; i < image.segment_count; ++i) {
        const ElfSegment& s = image.segments[i];
        if (s.memory_size == 0 || s.file_size > s.memory_size)
            return false;
        if (s.file_size > 0 && (s.file_offset > file_size || s.file_size > file_size - s.file_offset))
            return false;
        if (s.virtual_address < user_base || s.virtual_address >= user_end || s.memory_size > user_end - s.virtual_address)
            return false;
        if (i > 0) {
            const ElfSegment& p = image.segments[i - 1];
            unsigned __int128 previous_end = static_cast<unsigned __int128>(p.virtual_address) + p.memory_size;
            unsigned __int128 previous_end_page = (previous_end + kPage - 1) & ~static_cast<unsigned __int128>(kPage - 1);
            if (page_down(s.virtual_address) < previous_end_page)
                return false;
        }
        if (s.executable && image.entry >= s.virtual_address && image.entry - s.virtual_address < s.file_size)
            entry_in_code = true;
    }
    return entry_in_code;
}

std::vector<u8> read_file(const std::filesystem::path& path)
{
    std::ifstream stream(path, std::ios::binary);
    return std::vector<u8>(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("elf parses a well-formed static executable")
{
    ElfBuilder builder;
    auto result = parse(builder.build());
    REQUIRE_FALSE(result.is_error());
    const ElfImage& image = result.value();
    CHECK(image.entry == kUserBase + 0x10);
    REQUIRE(image.segment_count == 3); // PT_GNU_STACK is not a segment to map

    const ElfSegment& text = image.segments[0];
    CHECK(text.virtual_address == kUserBase);
    CHECK(text.memory_size == 0x234);
    CHECK(text.file_offset == 0x1000);
    CHECK(text.file_size == 0x234);
    CHECK(text.readable);
    CHECK_FALSE(text.writable);
    CHECK(text.executable);

    const ElfSegment& rodata = image.segments[1];
    CHECK(rodata.virtual_address == kUserBase + 0x1000);
    CHECK(rodata.readable);
    CHECK_FALSE(rodata.writable);
    CHECK_FALSE(rodata.executable);

    const ElfSegment& data = image.segments[2];
    CHECK(data.virtual_address == kUserBase + 0x2000);
    CHECK(data.memory_size == 0x3000);
    CHECK(data.file_offset == 0x3000);
    CHECK(data.file_size == 0x10);
    CHECK(data.readable);
    CHECK(data.writable);
    CHECK_FALSE(data.executable);

    CHECK(invariants_hold(image, builder.build().size(), kUserBase, kUserEnd));
}

TEST_CASE("elf accepts what the specification allows")
{
    SECTION("segments need not be page-aligned, only page-disjoint")
    {
        ElfBuilder builder;
        builder.text() = { PT_LOAD, PF_R | PF_X, 0x1010, kUserBase + 0x10, 0x200, 0x200, 16 };
        builder.entry = kUserBase + 0x10;
        builder.rodata() = { PT_LOAD, PF_R, 0x2234, kUserBase + 0x1234, 0x80, 0x80, 4 };
        auto result = parse(builder.build());
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segments[0].virtual_address == kUserBase + 0x10);
        CHECK(result.value().segments[1].virtual_address == kUserBase + 0x1234);
    }
    SECTION("p_align 0 and 1 mean no alignment")
    {
        ElfBuilder builder;
        builder.rodata().align = 0;
        builder.rodata().offset = 0x2001;
        builder.bss().align = 1;
        builder.bss().offset = 0x3003;
        CHECK_FALSE(parse(builder.build()).is_error());
    }
    SECTION("a segment may end exactly at user_end")
    {
        ElfBuilder builder;
        builder.bss().vaddr = kUserEnd - 0x3000;
        builder.bss().offset = 0x3000;
        auto result = parse(builder.build());
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segments[2].virtual_address + result.value().segments[2].memory_size == kUserEnd);
    }
    SECTION("a segment may start exactly at user_base and the entry be its first byte")
    {
        ElfBuilder builder;
        builder.entry = kUserBase;
        CHECK_FALSE(parse(builder.build()).is_error());
    }
    SECTION("non-loadable program headers are skipped")
    {
        ElfBuilder builder;
        builder.headers.insert(builder.headers.begin(), { PT_PHDR, PF_R, 64, kUserBase - 0x1000 + 64, 56 * 10, 56 * 10, 8 });
        builder.headers.push_back({ PT_NULL, 0, 0, 0, 0, 0, 0 });
        builder.headers.push_back({ PT_NOTE, PF_R, 0x1100, kUserBase + 0x100, 0x20, 0x20, 4 });
        builder.headers.push_back({ PT_GNU_RELRO, PF_R, 0x3000, kUserBase + 0x2000, 0x10, 0x10, 1 });
        builder.headers.push_back({ PT_GNU_EH_FRAME, PF_R, 0x2000, kUserBase + 0x1000, 0x10, 0x10, 4 });
        builder.headers.push_back({ PT_GNU_PROPERTY, PF_R, 0x2000, kUserBase + 0x1000, 0x10, 0x10, 8 });
        builder.headers.push_back({ 0x60000000, 0, ~0ull, ~0ull, ~0ull, 0, 3 }); // OS-specific garbage
        auto result = parse(builder.build());
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segment_count == 3);
    }
    SECTION("empty PT_LOAD segments are dropped")
    {
        ElfBuilder builder;
        builder.headers.push_back({ PT_LOAD, PF_R, 0x3000, kUserBase + 0x10000, 0, 0, kPage });
        auto result = parse(builder.build());
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segment_count == 3);
    }
    SECTION("a segment with no file bytes may point past the end of the file")
    {
        ElfBuilder builder;
        builder.bss().filesz = 0;
        builder.bss().offset = 0x10000;
        auto bytes = builder.build();
        REQUIRE(bytes.size() < 0x10000);
        auto result = parse(bytes);
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segments[2].file_size == 0);
    }
    SECTION("exactly kMaxSegments segments")
    {
        ElfBuilder builder;
        builder.headers.resize(3);
        for (u64 i = 3; i < ElfImage::kMaxSegments; ++i)
            builder.headers.push_back({ PT_LOAD, PF_R, 0x1000 * (i + 1), kUserBase + 0x1000 * (i + 2), 0x10, 0x10, kPage });
        auto result = parse(builder.build());
        REQUIRE_FALSE(result.is_error());
        CHECK(result.value().segment_count == ElfImage::kMaxSegments);
    }
    SECTION("the program header table need not be aligned, and may come last")
    {
        ElfBuilder builder;
        builder.phoff = 0x3011;
        CHECK_FALSE(parse(builder.build()).is_error());
    }
    SECTION("the GNU OS/ABI byte")
    {
        ElfBuilder builder;
        builder.os_abi = 3;
        CHECK_FALSE(parse(builder.build()).is_error());
    }
}

TEST_CASE("elf rejects a file that is not a 64-bit x86-64 executable")
{
    auto valid = ElfBuilder().build();

    SECTION("truncated header")
    {
        CHECK(parse_error({}) == Error::Truncated);
        CHECK(parse_error({ 0x7f, 'E', 'L' }) == Error::Truncated);
        CHECK(parse_error(std::vector<u8>(valid.begin(), valid.begin() + 16)) == Error::Truncated);
        CHECK(parse_error(std::vector<u8>(valid.begin(), valid.begin() + 63)) == Error::Truncated);
    }
    SECTION("bad magic")
    {
        for (usize i = 0; i < 4; ++i) {
            auto bytes = valid;
            bytes[i] ^= 0x20;
            CHECK(parse_error(bytes) == Error::BadMagic);
        }
        std::string script = "#!/bin/sh\necho this is not an executable, but it is long enough to be one\n";
        CHECK(parse_error(std::vector<u8>(script.begin(), script.end())) == Error::BadMagic);
    }
    SECTION("class")
    {
        ElfBuilder builder;
        builder.elf_class = 1; // ELFCLASS32
        CHECK(parse_error(builder.build()) == Error::Unsupported);
        builder.elf_class = 0; // ELFCLASSNONE
        CHECK(parse_error(builder.build()) == Error::BadMagic);
        builder.elf_class = 3;
        CHECK(parse_error(builder.build()) == Error::BadMagic);
    }
    SECTION("byte order")
    {
        ElfBuilder builder;
        builder.data = 2; // ELFDATA2MSB
        CHECK(parse_error(builder.build()) == Error::Unsupported);
        builder.data = 0;
        CHECK(parse_error(builder.build()) == Error::BadMagic);
    }
    SECTION("version")
    {
        ElfBuilder builder;
        builder.ident_version = 0;
        CHECK(parse_error(builder.build()) == Error::BadMagic);
        builder.ident_version = 1;
        builder.version = 2;
        CHECK(parse_error(builder.build()) == Error::BadMagic);
    }
    SECTION("machine")
    {
        ElfBuilder builder;
        builder.machine = 3; // EM_386
        CHECK(parse_error(builder.build()) == Error::Unsupported);
        builder.machine = 183; // EM_AARCH64
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("type")
    {
        ElfBuilder builder;
        for (u16 type : { 0, 1, 3, 4, 0xfe00 }) { // none, REL, DYN (PIE), CORE, OS-specific
            builder.type = type;
            CHECK(parse_error(builder.build()) == Error::Unsupported);
        }
    }
    SECTION("header sizes")
    {
        ElfBuilder builder;
        builder.ehsize = 52;
        CHECK(parse_error(builder.build()) == Error::BadLength);
        builder.ehsize = 64;
        builder.phentsize = 32; // an ELF32 program header
        CHECK(parse_error(builder.build()) == Error::BadLength);
        builder.phentsize = 64;
        CHECK(parse_error(builder.build()) == Error::BadLength);
    }
}

TEST_CASE("elf rejects a program header table outside the file")
{
    ElfBuilder builder;
    SECTION("phoff past the end")
    {
        builder.phoff = 0x200000;
        CHECK(parse_error(builder.build()) == Error::Truncated);
    }
    SECTION("the table runs past the end")
    {
        auto bytes = builder.build();
        builder.phoff = bytes.size() - 56 * builder.headers.size();
        bytes = builder.build();
        bytes.resize(bytes.size() - 1);
        CHECK(parse_error(bytes) == Error::Truncated);
    }
    SECTION("phoff + size wraps past 2^64")
    {
        builder.phoff = ~0ull - 8;
        CHECK(parse_error(builder.build()) == Error::Truncated);
    }
    SECTION("the table overlaps the ELF header")
    {
        builder.phoff = 0;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("PN_XNUM")
    {
        builder.phnum_override = 0xffff;
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("more program headers than the file holds")
    {
        builder.phnum_override = 1000;
        CHECK(parse_error(builder.build()) == Error::Truncated);
    }
}

TEST_CASE("elf rejects bad PT_LOAD segments")
{
    ElfBuilder builder;
    SECTION("file bytes past the end of the file")
    {
        auto bytes = builder.build();
        bytes.resize(bytes.size() - 1);
        CHECK(parse_error(bytes) == Error::Truncated);
        builder.rodata().offset = ~0ull & ~(kPage - 1);
        CHECK(parse_error(builder.build()) == Error::Truncated);
        builder.rodata().offset = 0x2000;
        builder.rodata().filesz = builder.rodata().memsz = ~0ull - 0xfff;
        CHECK(parse_error(builder.build()) == Error::Truncated);
    }
    SECTION("filesz > memsz")
    {
        builder.bss().memsz = 0x8;
        CHECK(parse_error(builder.build()) == Error::BadLength);
    }
    SECTION("vaddr below user_base")
    {
        builder.text().vaddr = kUserBase - kPage;
        builder.entry = builder.text().vaddr;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
        builder.text().vaddr = 0;
        builder.entry = 0x10;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("vaddr at or past user_end")
    {
        builder.bss().vaddr = kUserEnd;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
        builder.bss().vaddr = 0xffff800000100000; // the kernel's half
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("vaddr + memsz past user_end")
    {
        builder.bss().vaddr = kUserEnd - 0x2000;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("vaddr + memsz wraps past 2^64")
    {
        builder.bss().memsz = ~0ull - 0xfff;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
        // With no upper bound at all, the wrap itself must still be caught.
        ElfBuilder high;
        high.headers = { { PT_LOAD, PF_R | PF_X, 0x1000, 0xfffffffffffff000, 0x10, 0x2000, kPage } };
        high.entry = 0xfffffffffffff000;
        CHECK(parse_error(high.build(), 0, ~0ull) == Error::OutOfRange);
    }
    SECTION("rounding the previous segment's end up to a page wraps")
    {
        ElfBuilder high;
        high.headers = {
            { PT_LOAD, PF_R | PF_X, 0x1000, 0xffffffffffffe000, 0x10, 0x1ffe, kPage },
            { PT_LOAD, PF_R, 0x1ff0, 0xffffffffffffeff0, 0x1, 0x1, 16 },
        };
        high.entry = 0xffffffffffffe000;
        CHECK(parse_error(high.build(), 0, ~0ull) == Error::OutOfRange);
    }
    SECTION("p_align not a power of two")
    {
        builder.rodata().align = 0x1800;
        CHECK(parse_error(builder.build()) == Error::BadAlignment);
        builder.rodata().align = 3;
        CHECK(parse_error(builder.build()) == Error::BadAlignment);
    }
    SECTION("vaddr and offset not congruent modulo p_align")
    {
        builder.rodata().offset = 0x2010;
        CHECK(parse_error(builder.build()) == Error::BadAlignment);
    }
    SECTION("overlapping segments")
    {
        builder.rodata().vaddr = kUserBase + 0x100; // inside text
        builder.rodata().align = 0;
        CHECK(parse_error(builder.build()) == Error::AlreadyMapped);
    }
    SECTION("segments sharing a page")
    {
        builder.rodata().vaddr = kUserBase + 0x800; // after text's last byte, same page
        builder.rodata().offset = 0x2800;
        CHECK(parse_error(builder.build()) == Error::AlreadyMapped);
    }
    SECTION("the same segment twice")
    {
        builder.headers.insert(builder.headers.begin() + 1, builder.text());
        CHECK(parse_error(builder.build()) == Error::AlreadyMapped);
    }
    SECTION("segments out of order")
    {
        std::swap(builder.headers[0], builder.headers[1]);
        CHECK(parse_error(builder.build()) == Error::AlreadyMapped);
    }
    SECTION("more than kMaxSegments")
    {
        builder.headers.resize(3);
        for (u64 i = 3; i <= ElfImage::kMaxSegments; ++i)
            builder.headers.push_back({ PT_LOAD, PF_R, 0x1000 * (i + 1), kUserBase + 0x1000 * (i + 2), 0x10, 0x10, kPage });
        CHECK(parse_error(builder.build()) == Error::TooMany);
    }
    SECTION("no PT_LOAD at all")
    {
        builder.headers = { { PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16 } };
        CHECK(parse_error(builder.build()) == Error::NotFound);
        builder.headers.clear();
        CHECK(parse_error(builder.build()) == Error::NotFound);
        builder.headers = { { PT_LOAD, PF_R | PF_X, 0x1000, kUserBase, 0, 0, kPage } };
        CHECK(parse_error(builder.build()) == Error::NotFound);
    }
}

TEST_CASE("elf rejects an entry point outside the code")
{
    ElfBuilder builder;
    SECTION("in read-only data")
    {
        builder.entry = kUserBase + 0x1000;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("in writable data and bss")
    {
        builder.entry = kUserBase + 0x2000;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
        builder.entry = kUserBase + 0x4000;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("just past the code")
    {
        builder.entry = kUserBase + 0x234;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("in the zero-filled tail of an executable segment")
    {
        builder.text().memsz = 0x800;
        builder.entry = kUserBase + 0x400;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("unmapped")
    {
        builder.entry = 0;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
        builder.entry = kUserBase - 1;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("no executable segment")
    {
        builder.text().flags = PF_R;
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
}

TEST_CASE("elf refuses dynamic linking")
{
    ElfBuilder builder;
    SECTION("PT_INTERP")
    {
        builder.headers.insert(builder.headers.begin(), { PT_INTERP, PF_R, 0x1100, kUserBase + 0x100, 0x1c, 0x1c, 1 });
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("PT_DYNAMIC")
    {
        builder.headers.push_back({ PT_DYNAMIC, PF_R | PF_W, 0x3000, kUserBase + 0x2000, 0x10, 0x10, 8 });
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("PT_SHLIB")
    {
        builder.headers.push_back({ PT_SHLIB, 0, 0, 0, 0, 0, 0 });
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
}

// The data segment's file bytes are [kUserBase + 0x2000, + 0x10): a TLS
// template (.tdata) must lie there, so that loading the program loads it.
TEST_CASE("elf describes a PT_TLS segment whose template is loaded")
{
    ElfBuilder builder;
    builder.headers.push_back({ PT_TLS, PF_R, 0x3008, kUserBase + 0x2008, 0x8, 0x40, 16 });
    auto image = parse(builder.build());
    REQUIRE_FALSE(image.is_error());
    CHECK(image.value().tls.virtual_address == kUserBase + 0x2008);
    CHECK(image.value().tls.file_size == 0x8);
    CHECK(image.value().tls.memory_size == 0x40);
    CHECK(image.value().tls.align == 16);
    CHECK(image.value().segment_count == 3); // PT_TLS maps nothing of its own

    SECTION("only .tbss: no template to load")
    {
        builder.headers.back() = { PT_TLS, PF_R, 0, kUserBase + 0x2ff0, 0, 0x20, 0 };
        auto tbss = parse(builder.build());
        REQUIRE_FALSE(tbss.is_error());
        CHECK(tbss.value().tls.memory_size == 0x20);
        CHECK(tbss.value().tls.align == 1);
    }
}

TEST_CASE("elf refuses a bad PT_TLS segment")
{
    ElfBuilder builder;
    SECTION("two of them")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x2000, 0x8, 0x10, 8 });
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x2000, 0x8, 0x10, 8 });
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("two of them, the first empty")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0, kUserBase + 0x2000, 0, 0, 8 });
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x2000, 0x8, 0x10, 8 });
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
    SECTION("a template past the segment's file bytes (in its .bss: never loaded)")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0x3008, kUserBase + 0x2808, 0x8, 0x10, 8 });
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("a template in no segment")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x8000, 0x8, 0x10, 8 });
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("file bytes past p_memsz")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x2000, 0x10, 0x8, 8 });
        CHECK(parse_error(builder.build()) == Error::BadLength);
    }
    SECTION("outside user memory")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0, kUserEnd - 0x10, 0, 0x20, 8 });
        CHECK(parse_error(builder.build()) == Error::OutOfRange);
    }
    SECTION("an alignment that is no power of two, or above a page")
    {
        builder.headers.push_back({ PT_TLS, PF_R, 0x3000, kUserBase + 0x2000, 0x8, 0x10, 24 });
        CHECK(parse_error(builder.build()) == Error::BadAlignment);
        builder.headers.back() = { PT_TLS, PF_R, 0x4000, kUserBase + 0x2000, 0, 0x10, 2 * kPage };
        CHECK(parse_error(builder.build()) == Error::Unsupported);
    }
}

TEST_CASE("elf names the error for each corruption")
{
    CHECK(error_string(parse_error({})) == "truncated");
    ElfBuilder builder;
    builder.headers.push_back({ PT_INTERP, PF_R, 0x1100, kUserBase + 0x100, 0x1c, 0x1c, 1 });
    CHECK(error_string(parse_error(builder.build())) == "unsupported");
}

TEST_CASE("elf survives every truncation and byte flip")
{
    ElfBuilder builder;
    builder.headers.push_back({ PT_NOTE, PF_R, 0x1100, kUserBase + 0x100, 0x20, 0x20, 4 });
    const auto valid = builder.build();
    REQUIRE_FALSE(parse(valid).is_error());

    // The last segment's file bytes end at the end of the file, so every
    // shorter file is missing something.
    for (usize length = 0; length < valid.size(); ++length) {
        auto result = parse(std::vector<u8>(valid.begin(), valid.begin() + length));
        CHECK(result.is_error());
    }

    usize accepted = 0;
    usize rejected = 0;
    for (usize offset = 0; offset < valid.size(); ++offset) {
        for (u8 mask : { 0x01, 0x10, 0x80, 0xff }) {
            auto bytes = valid;
            bytes[offset] ^= mask;
            auto result = parse(bytes);
            if (result.is_error()) {
                ++rejected;
                continue;
            }
            ++accepted;
            if (!invariants_hold(result.value(), bytes.size(), kUserBase, kUserEnd))
                FAIL("flipping byte " << offset << " with " << int(mask) << " broke an invariant");
        }
    }
    CHECK(accepted > 0); // flips in segment contents do not matter
    CHECK(rejected > 0);
}

TEST_CASE("elf survives random corruption of its headers")
{
    ElfBuilder builder;
    const auto valid = builder.build();
    const usize header_bytes = 64 + 56 * builder.headers.size();
    u64 state = 0x9e3779b97f4a7c15;
    auto next = [&state] { // xorshift64: the same sequence on every run
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    for (int round = 0; round < 20000; ++round) {
        auto bytes = valid;
        int changes = 1 + static_cast<int>(next() % 6);
        for (int i = 0; i < changes; ++i)
            bytes[next() % header_bytes] = static_cast<u8>(next());
        u64 user_base = (round % 4 == 0) ? 0 : kUserBase;
        u64 user_end = (round % 8 == 0) ? ~0ull : kUserEnd;
        auto result = parse(bytes, user_base, user_end);
        if (!result.is_error() && !invariants_hold(result.value(), bytes.size(), user_base, user_end))
            FAIL("round " << round << " broke an invariant");
    }
}

#ifdef HERALD_USER_PROGRAM_DIR
// The programs the build links for ring 3 (user/), as ld.lld made them.
TEST_CASE("elf accepts every user program the build links")
{
    namespace fs = std::filesystem;
    usize programs = 0;
    bool saw_hello = false;
    for (const auto& entry : fs::directory_iterator(HERALD_USER_PROGRAM_DIR)) {
        if (entry.path().extension() != ".elf")
            continue;
        INFO("program " << entry.path().string());
        ++programs;
        saw_hello |= entry.path().filename() == "hello.elf";
        auto bytes = read_file(entry.path());
        auto result = parse(bytes);
        if (result.is_error())
            FAIL("rejected: " << error_name(result.error()));
        const ElfImage& image = result.value();
        CHECK(invariants_hold(image, bytes.size(), kUserBase, kUserEnd));

        // user/runtime/user.ld: text first at kUserCodeBase, then read-only
        // data and writable data, each page-aligned, never writable and
        // executable at once.
        CHECK(image.entry >= kUserBase);
        REQUIRE(image.segment_count >= 1);
        CHECK(image.segments[0].virtual_address == kUserBase);
        CHECK(image.segments[0].executable);
        CHECK_FALSE(image.segments[0].writable);
        for (usize i = 0; i < image.segment_count; ++i) {
            const ElfSegment& segment = image.segments[i];
            CHECK(segment.virtual_address % kPage == 0);
            CHECK(segment.readable);
            CHECK_FALSE((segment.writable && segment.executable));
            if (i > 0)
                CHECK_FALSE(segment.executable);
        }
    }
    CHECK(saw_hello);
    CHECK(programs >= 9);
}

TEST_CASE("elf survives every truncation and byte flip of a linked program")
{
    auto valid = read_file(std::filesystem::path(HERALD_USER_PROGRAM_DIR) / "hello.elf");
    REQUIRE(valid.size() > 64);
    REQUIRE_FALSE(parse(valid).is_error());
    // Every prefix, each copied to the end of one heap block so that the
    // byte after it is the block's end (AddressSanitizer reports a read
    // past it, as parse()'s exact-size block would): a block and a vector
    // per length made this test take minutes under ASan (132 KiB x 132 Ki).
    std::unique_ptr<u8[]> block(new u8[valid.size()]);
    for (usize length = 0; length < valid.size(); ++length) {
        u8* start = block.get() + valid.size() - length;
        if (length)
            std::memcpy(start, valid.data(), length);
        (void)parse_elf(ByteReader(start, length), kUserBase, kUserEnd);
    }
    // The headers, and the first bytes of code: all the parser reads.
    usize flipped = std::min<usize>(valid.size(), 0x1100);
    for (usize offset = 0; offset < flipped; ++offset) {
        auto bytes = valid;
        bytes[offset] ^= 0x41;
        auto result = parse(bytes);
        if (!result.is_error() && !invariants_hold(result.value(), bytes.size(), kUserBase, kUserEnd))
            FAIL("flipping byte " << offset << " broke an invariant");
    }
}
#endif
