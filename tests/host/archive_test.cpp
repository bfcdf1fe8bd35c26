#include "microkernel/abi/syscalls.hpp"
#include "microkernel/boot/archive.hpp"
#include "microkernel/boot/elf.hpp"
#include "tools/archive_writer.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace herald;
using namespace herald::archive_layout;
using herald::tools::ArchiveWriter;

namespace {

using Blob = std::vector<u8>;

ErrorOr<Archive> parse(const Blob& blob) { return Archive::parse(ByteReader(blob.data(), blob.size())); }

Error parse_error(const Blob& blob)
{
    auto result = parse(blob);
    return result.is_error() ? result.error() : Error::None;
}

std::string as_string(StringView view) { return std::string(view.chars(), view.length()); }
std::string as_string(ByteReader bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

Blob bytes_of(const std::string& text) { return Blob(text.begin(), text.end()); }

template<typename T>
T get(const Blob& blob, usize offset)
{
    T value;
    std::memcpy(&value, blob.data() + offset, sizeof(T));
    return value;
}

template<typename T>
void put(Blob& blob, usize offset, T value) { std::memcpy(blob.data() + offset, &value, sizeof(T)); }

usize entry_at(usize index) { return Archive::kHeaderSize + index * Archive::kEntrySize; }

// Recomputes the table checksum after a test edits the table.
void reseal(Blob& blob)
{
    usize count = get<u32>(blob, kHeaderEntryCountAt);
    put<u32>(blob, kHeaderTableChecksumAt, fnv1a32(blob.data() + Archive::kHeaderSize, count * Archive::kEntrySize));
}

void set_name(Blob& blob, usize index, const char* bytes, usize length)
{
    std::memset(blob.data() + entry_at(index) + kEntryNameAt, 0, Archive::kNameSize);
    std::memcpy(blob.data() + entry_at(index) + kEntryNameAt, bytes, length);
    reseal(blob);
}

// Something that starts like an ELF file, `size` bytes of a pattern.
Blob fake_program(usize size, u8 seed)
{
    Blob bytes(size);
    for (usize i = 0; i < size; ++i)
        bytes[i] = static_cast<u8>(seed + i * 7);
    const u8 magic[4] = { 0x7f, 'E', 'L', 'F' };
    std::memcpy(bytes.data(), magic, std::min<usize>(size, 4));
    return bytes;
}

const std::string kManifest = "memory\nhello\n";

// Two programs (the first longer than a page), a text file and an empty file.
Blob sample_archive()
{
    ArchiveWriter writer;
    REQUIRE(writer.add("memory", ArchiveKind::Program, fake_program(5000, 1)).empty());
    REQUIRE(writer.add("hello", ArchiveKind::Program, fake_program(300, 2)).empty());
    REQUIRE(writer.add("init.manifest", ArchiveKind::File, bytes_of(kManifest)).empty());
    REQUIRE(writer.add("empty", ArchiveKind::File, {}).empty());
    return writer.encode();
}

// The smallest valid archive: one file of a few bytes.
Blob small_archive()
{
    ArchiveWriter writer;
    REQUIRE(writer.add("a", ArchiveKind::File, bytes_of("xyz")).empty());
    return writer.encode();
}

void require_entries_readable(const Archive& archive)
{
    for (usize i = 0; i < archive.count(); ++i) {
        INFO("entry " << i << " " << as_string(archive.name(i)));
        REQUIRE_FALSE(archive.entry(i).is_error());
    }
}

// Reads everything a valid archive offers: must not crash, whatever it says.
void read_everything(const Blob& blob)
{
    auto archive = parse(blob);
    if (archive.is_error())
        return;
    for (usize i = 0; i <= archive.value().count(); ++i) {
        StringView name = archive.value().name(i);
        auto entry = archive.value().entry(i);
        if (!entry.is_error()) {
            const u8* data = entry.value().bytes.data();
            usize size = entry.value().bytes.size();
            CHECK(data >= blob.data());
            CHECK(size <= blob.size());
            CHECK(usize(data - blob.data()) <= blob.size() - size);
        }
        (void)archive.value().find(name);
    }
}

} // namespace

TEST_CASE("archive fnv1a32 matches the published test vectors", "[archive]")
{
    // Fowler/Noll/Vo reference values for FNV-1a 32.
    CHECK(fnv1a32(nullptr, 0) == 0x811c9dc5u);
    CHECK(fnv1a32(reinterpret_cast<const u8*>("a"), 1) == 0xe40c292cu);
    CHECK(fnv1a32(reinterpret_cast<const u8*>("foobar"), 6) == 0xbf9cf968u);
}

TEST_CASE("archive reads programs and files in table order", "[archive]")
{
    Blob blob = sample_archive();
    CHECK(blob.size() % Archive::kDataAlignment == 0);
    CHECK(get<u64>(blob, kHeaderArchiveSizeAt) == blob.size());

    auto parsed = parse(blob);
    REQUIRE_FALSE(parsed.is_error());
    const Archive& archive = parsed.value();
    REQUIRE(archive.count() == 4);
    CHECK(as_string(archive.name(0)) == "memory");
    CHECK(as_string(archive.name(1)) == "hello");
    CHECK(as_string(archive.name(2)) == "init.manifest");
    CHECK(as_string(archive.name(3)) == "empty");
    CHECK(archive.name(4).is_empty());

    auto memory = archive.entry(0);
    REQUIRE_FALSE(memory.is_error());
    CHECK(as_string(memory.value().name) == "memory");
    CHECK(memory.value().kind == ArchiveKind::Program);
    Blob expected = fake_program(5000, 1);
    REQUIRE(memory.value().bytes.size() == expected.size());
    CHECK(std::memcmp(memory.value().bytes.data(), expected.data(), expected.size()) == 0);

    for (usize i = 0; i < archive.count(); ++i) {
        auto entry = archive.entry(i);
        REQUIRE_FALSE(entry.is_error());
        // The data lies inside the buffer, page-aligned from its start.
        usize offset = usize(entry.value().bytes.data() - blob.data());
        CHECK(offset % Archive::kDataAlignment == 0);
        CHECK(offset >= Archive::kHeaderSize + archive.count() * Archive::kEntrySize);
        CHECK(offset + entry.value().bytes.size() <= blob.size());
    }

    auto manifest = archive.entry(2);
    REQUIRE_FALSE(manifest.is_error());
    CHECK(manifest.value().kind == ArchiveKind::File);
    CHECK(as_string(manifest.value().bytes) == kManifest);

    CHECK(archive.entry(4).error() == Error::OutOfRange);
    CHECK(archive.entry(~usize(0)).error() == Error::OutOfRange);
}

TEST_CASE("archive finds entries by exact name", "[archive]")
{
    Blob blob = sample_archive();
    auto archive = parse(blob).value();

    auto hello = archive.find("hello");
    REQUIRE_FALSE(hello.is_error());
    CHECK(as_string(hello.value().name) == "hello");
    CHECK(hello.value().kind == ArchiveKind::Program);
    CHECK(hello.value().bytes.size() == 300);

    auto manifest = archive.find("init.manifest");
    REQUIRE_FALSE(manifest.is_error());
    CHECK(as_string(manifest.value().bytes) == kManifest);

    CHECK(archive.find("hell").error() == Error::NotFound);
    CHECK(archive.find("hello2").error() == Error::NotFound);
    CHECK(archive.find("HELLO").error() == Error::NotFound);
    CHECK(archive.find("").error() == Error::NotFound);
    CHECK(archive.find(StringView("hello\0", 6)).error() == Error::NotFound);
}

TEST_CASE("archive entries may be empty", "[archive]")
{
    Blob blob = sample_archive();
    auto archive = parse(blob).value();
    auto empty = archive.find("empty");
    REQUIRE_FALSE(empty.is_error());
    CHECK(empty.value().kind == ArchiveKind::File);
    CHECK(empty.value().bytes.size() == 0);

    // Only empty entries: they may share one offset.
    ArchiveWriter writer;
    REQUIRE(writer.add("x", ArchiveKind::File, {}).empty());
    REQUIRE(writer.add("y", ArchiveKind::Program, {}).empty());
    Blob only_empty = writer.encode();
    auto parsed = parse(only_empty);
    REQUIRE_FALSE(parsed.is_error());
    require_entries_readable(parsed.value());
    CHECK(get<u64>(only_empty, entry_at(0) + kEntryOffsetAt) == get<u64>(only_empty, entry_at(1) + kEntryOffsetAt));
}

TEST_CASE("archive ignores bytes after archive_size", "[archive]")
{
    // Boot loaders hand modules over in whole pages.
    Blob blob = sample_archive();
    usize size = blob.size();
    blob.resize(size + 123, 0xcc);
    auto archive = parse(blob);
    REQUIRE_FALSE(archive.is_error());
    require_entries_readable(archive.value());
}

TEST_CASE("archive holds kMaxEntries entries and no more", "[archive]")
{
    ArchiveWriter writer;
    for (usize i = 0; i < Archive::kMaxEntries; ++i)
        REQUIRE(writer.add("e" + std::to_string(i), ArchiveKind::File, bytes_of(std::to_string(i))).empty());
    CHECK_FALSE(writer.add("one-more", ArchiveKind::File, {}).empty());
    Blob blob = writer.encode();
    auto archive = parse(blob);
    REQUIRE_FALSE(archive.is_error());
    REQUIRE(archive.value().count() == Archive::kMaxEntries);
    require_entries_readable(archive.value());
    auto last = archive.value().find("e255");
    REQUIRE_FALSE(last.is_error());
    CHECK(as_string(last.value().bytes) == "255");

    put<u32>(blob, kHeaderEntryCountAt, Archive::kMaxEntries + 1);
    CHECK(parse_error(blob) == Error::TooMany);
    put<u32>(blob, kHeaderEntryCountAt, 0xffffffffu);
    CHECK(parse_error(blob) == Error::TooMany);
}

TEST_CASE("archive rejects a bad header", "[archive]")
{
    const Blob valid = sample_archive();

    SECTION("magic")
    {
        for (usize i = 0; i < sizeof(kMagic); ++i) {
            Blob blob = valid;
            blob[kHeaderMagicAt + i] ^= 0x20;
            CHECK(parse_error(blob) == Error::BadMagic);
        }
        Blob elf = fake_program(8192, 0);
        CHECK(parse_error(elf) == Error::BadMagic);
    }
    SECTION("version")
    {
        Blob blob = valid;
        for (u32 version : { 0u, 2u, 0x01000000u }) {
            put<u32>(blob, kHeaderVersionAt, version);
            CHECK(parse_error(blob) == Error::Unsupported);
        }
    }
    SECTION("reserved")
    {
        Blob blob = valid;
        put<u32>(blob, kHeaderReservedAt, 1);
        CHECK(parse_error(blob) == Error::Unsupported);
    }
    SECTION("zero entries")
    {
        Blob blob = valid;
        put<u32>(blob, kHeaderEntryCountAt, 0);
        CHECK(parse_error(blob) == Error::BadLength);
        ArchiveWriter empty;
        CHECK(parse_error(empty.encode()) == Error::BadLength);
    }
    SECTION("table checksum")
    {
        Blob blob = valid;
        put<u32>(blob, kHeaderTableChecksumAt, get<u32>(blob, kHeaderTableChecksumAt) ^ 1);
        CHECK(parse_error(blob) == Error::BadChecksum);

        // Any change to the table without a new checksum: here a size.
        blob = valid;
        put<u64>(blob, entry_at(1) + kEntrySizeAt, 299);
        CHECK(parse_error(blob) == Error::BadChecksum);
        reseal(blob);
        CHECK_FALSE(parse(blob).is_error());
    }
    SECTION("fewer entries than the table holds, with the checksum for those")
    {
        // Dropping the last entry from the count is a valid archive of three.
        Blob blob = valid;
        put<u32>(blob, kHeaderEntryCountAt, 3);
        CHECK(parse_error(blob) == Error::BadChecksum);
        reseal(blob);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        CHECK(archive.value().count() == 3);
        CHECK(archive.value().find("empty").error() == Error::NotFound);
    }
}

TEST_CASE("archive checks archive_size against the buffer and the table", "[archive]")
{
    const Blob valid = sample_archive();
    usize table_end = entry_at(4);

    SECTION("larger than the buffer: truncated")
    {
        Blob blob = valid;
        put<u64>(blob, kHeaderArchiveSizeAt, blob.size() + 1);
        CHECK(parse_error(blob) == Error::Truncated);
        put<u64>(blob, kHeaderArchiveSizeAt, ~u64(0));
        CHECK(parse_error(blob) == Error::Truncated);
    }
    SECTION("smaller than the header and the table")
    {
        Blob blob = valid;
        for (u64 size : { u64(0), u64(Archive::kHeaderSize), u64(table_end - 1) }) {
            put<u64>(blob, kHeaderArchiveSizeAt, size);
            CHECK(parse_error(blob) == Error::BadLength);
        }
    }
    SECTION("smaller than the data")
    {
        // Only the header and the table: every entry's data lies outside.
        Blob blob = valid;
        put<u64>(blob, kHeaderArchiveSizeAt, table_end);
        CHECK(parse_error(blob) == Error::OutOfRange);
        // One byte short of the last non-empty entry's end.
        u64 manifest_end = get<u64>(blob, entry_at(2) + kEntryOffsetAt) + kManifest.size();
        put<u64>(blob, kHeaderArchiveSizeAt, manifest_end - 1);
        CHECK(parse_error(blob) == Error::OutOfRange);
    }
    SECTION("exactly up to the end of the data")
    {
        // The empty last entry sits at the aligned offset after the manifest.
        Blob blob = valid;
        u64 last_offset = get<u64>(blob, entry_at(3) + kEntryOffsetAt);
        put<u64>(blob, kHeaderArchiveSizeAt, last_offset);
        blob.resize(last_offset);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        require_entries_readable(archive.value());
    }
}

TEST_CASE("archive checks where each entry's data lies", "[archive]")
{
    const Blob valid = sample_archive();
    auto offset_of = [&](usize index) { return get<u64>(valid, entry_at(index) + kEntryOffsetAt); };

    SECTION("misaligned")
    {
        for (u64 delta : { u64(1), u64(8), u64(2048) }) {
            Blob blob = valid;
            put<u64>(blob, entry_at(1) + kEntryOffsetAt, offset_of(1) + delta);
            reseal(blob);
            CHECK(parse_error(blob) == Error::BadAlignment);
        }
        Blob blob = valid;
        put<u64>(blob, entry_at(3) + kEntryOffsetAt, offset_of(3) - 1); // even an empty entry
        reseal(blob);
        CHECK(parse_error(blob) == Error::BadAlignment);
    }
    SECTION("over the header and the table")
    {
        Blob blob = valid;
        put<u64>(blob, entry_at(0) + kEntryOffsetAt, 0);
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);

        // A table longer than a page: the first page still holds the table.
        ArchiveWriter writer;
        for (usize i = 0; i < 100; ++i)
            REQUIRE(writer.add("f" + std::to_string(i), ArchiveKind::File, bytes_of("data")).empty());
        Blob big = writer.encode();
        REQUIRE(entry_at(100) > Archive::kDataAlignment);
        REQUIRE_FALSE(parse(big).is_error());
        put<u64>(big, entry_at(0) + kEntryOffsetAt, Archive::kDataAlignment);
        reseal(big);
        CHECK(parse_error(big) == Error::OutOfRange);
    }
    SECTION("past archive_size")
    {
        Blob blob = valid;
        put<u64>(blob, entry_at(3) + kEntryOffsetAt, blob.size() + Archive::kDataAlignment);
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);

        blob = valid;
        put<u64>(blob, entry_at(2) + kEntrySizeAt, blob.size() - offset_of(2) + 1);
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);

        // offset + size would wrap past 2^64.
        blob = valid;
        put<u64>(blob, entry_at(2) + kEntrySizeAt, ~u64(0) - offset_of(2) + 1);
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);
        put<u64>(blob, entry_at(2) + kEntrySizeAt, ~u64(0));
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);
        put<u64>(blob, entry_at(2) + kEntryOffsetAt, ~u64(0) & ~u64(Archive::kDataAlignment - 1));
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);
    }
    SECTION("up to archive_size exactly")
    {
        // The manifest grown to the end, the empty entry right there.
        Blob blob = valid;
        REQUIRE(offset_of(3) == blob.size());
        put<u64>(blob, entry_at(2) + kEntrySizeAt, blob.size() - offset_of(2));
        reseal(blob);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        CHECK(archive.value().entry(2).error() == Error::BadChecksum);
        CHECK_FALSE(archive.value().entry(3).is_error());
    }
    SECTION("over another entry")
    {
        // Same start.
        Blob blob = valid;
        put<u64>(blob, entry_at(1) + kEntryOffsetAt, offset_of(0));
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);

        // The first entry's data runs into the second's.
        blob = valid;
        put<u64>(blob, entry_at(0) + kEntrySizeAt, offset_of(1) - offset_of(0) + 1);
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);

        // Up to the second's start exactly is fine (the checksum is then
        // wrong, which only entry(0) sees).
        blob = valid;
        put<u64>(blob, entry_at(0) + kEntrySizeAt, offset_of(1) - offset_of(0));
        reseal(blob);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        CHECK(archive.value().entry(0).error() == Error::BadChecksum);
        CHECK_FALSE(archive.value().entry(1).is_error());
    }
    SECTION("out of table order")
    {
        // Swapping two entries' ranges: no overlap, but not in table order.
        Blob blob = valid;
        for (usize field : { kEntryOffsetAt, kEntrySizeAt, kEntryChecksumAt }) {
            Blob copy = blob;
            std::memcpy(blob.data() + entry_at(1) + field, copy.data() + entry_at(2) + field, field == kEntryChecksumAt ? 4 : 8);
            std::memcpy(blob.data() + entry_at(2) + field, copy.data() + entry_at(1) + field, field == kEntryChecksumAt ? 4 : 8);
        }
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);
    }
}

TEST_CASE("archive checks names", "[archive]")
{
    const Blob valid = sample_archive();

    SECTION("empty")
    {
        Blob blob = valid;
        set_name(blob, 1, "", 0);
        CHECK(parse_error(blob) == Error::BadLength);
    }
    SECTION("32 bytes with no NUL")
    {
        Blob blob = valid;
        set_name(blob, 1, "abcdefghijklmnopqrstuvwxyz012345", 32);
        CHECK(parse_error(blob) == Error::BadLength);
    }
    SECTION("31 bytes is the longest")
    {
        Blob blob = valid;
        set_name(blob, 1, "abcdefghijklmnopqrstuvwxyz01234", 31);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        CHECK(as_string(archive.value().name(1)) == "abcdefghijklmnopqrstuvwxyz01234");
        CHECK_FALSE(archive.value().find("abcdefghijklmnopqrstuvwxyz01234").is_error());
    }
    SECTION("characters outside [A-Za-z0-9._-]")
    {
        for (char c : { '/', ' ', '=', ':', '+', '\n', '\x7f', '\xff', '\x01' }) {
            Blob blob = valid;
            char name[] = { 'a', c, 'b' };
            set_name(blob, 2, name, sizeof(name));
            INFO("character " << int(static_cast<unsigned char>(c)));
            CHECK(parse_error(blob) == Error::OutOfRange);
        }
        Blob blob = valid;
        set_name(blob, 0, "A-Z_a.z-0.9", 11);
        CHECK_FALSE(parse(blob).is_error());
    }
    SECTION("garbage after the NUL")
    {
        Blob blob = valid;
        blob[entry_at(1) + kEntryNameAt + 31] = 'x';
        reseal(blob);
        CHECK(parse_error(blob) == Error::OutOfRange);
        blob = valid;
        set_name(blob, 1, "hello\0world", 11);
        CHECK(parse_error(blob) == Error::OutOfRange);
    }
    SECTION("duplicates")
    {
        Blob blob = valid;
        set_name(blob, 3, "memory", 6);
        CHECK(parse_error(blob) == Error::Duplicate);
        blob = valid;
        set_name(blob, 2, "hello", 5);
        CHECK(parse_error(blob) == Error::Duplicate);
        // Names differ by case or by length only: all distinct.
        blob = valid;
        set_name(blob, 1, "Memory", 6);
        set_name(blob, 2, "memor", 5);
        CHECK_FALSE(parse(blob).is_error());
    }
    SECTION("is_valid_name")
    {
        CHECK(Archive::is_valid_name("memory"));
        CHECK(Archive::is_valid_name("init.manifest"));
        CHECK(Archive::is_valid_name("a-b_c.9"));
        CHECK(Archive::is_valid_name("abcdefghijklmnopqrstuvwxyz01234"));
        CHECK_FALSE(Archive::is_valid_name(""));
        CHECK_FALSE(Archive::is_valid_name("abcdefghijklmnopqrstuvwxyz012345"));
        CHECK_FALSE(Archive::is_valid_name("a/b"));
        CHECK_FALSE(Archive::is_valid_name("a b"));
        CHECK_FALSE(Archive::is_valid_name(StringView("a\0b", 3)));
    }
}

TEST_CASE("archive writer refuses what the parser would", "[archive]")
{
    ArchiveWriter writer;
    CHECK(writer.add("ok", ArchiveKind::File, {}).empty());
    CHECK_FALSE(writer.add("ok", ArchiveKind::Program, {}).empty());
    CHECK_FALSE(writer.add("", ArchiveKind::File, {}).empty());
    CHECK_FALSE(writer.add("a/b", ArchiveKind::File, {}).empty());
    CHECK_FALSE(writer.add(std::string(32, 'a'), ArchiveKind::File, {}).empty());
    CHECK_FALSE(writer.add(std::string("a\0b", 3), ArchiveKind::File, {}).empty());
    CHECK(writer.add(std::string(31, 'a'), ArchiveKind::File, {}).empty());
    CHECK(writer.count() == 2);
}

TEST_CASE("archive: an entry's data is checksummed once, a corrupt one every time", "[archive]")
{
    Blob blob = sample_archive();
    auto parsed = parse(blob);
    REQUIRE_FALSE(parsed.is_error());
    const Archive& archive = parsed.value();
    usize hello = get<u64>(blob, entry_at(1) + kEntryOffsetAt);
    blob[hello + 150] ^= 0x01; // corrupt before the first look: seen
    CHECK(archive.entry(1).error() == Error::BadChecksum);
    CHECK(archive.find("hello").error() == Error::BadChecksum); // still refused
    blob[hello + 150] ^= 0x01;
    REQUIRE_FALSE(archive.entry(1).is_error()); // matches now, and is remembered
    // The bytes must not change after that (the loader's are read-only):
    // if they did, the kept answer would not see it. A copy keeps it too.
    blob[hello + 150] ^= 0x01;
    CHECK_FALSE(archive.find("hello").is_error());
    Archive copy = archive;
    CHECK_FALSE(copy.entry(1).is_error());
    // Another entry is checked on its own.
    usize memory = get<u64>(blob, entry_at(0) + kEntryOffsetAt);
    blob[memory + 10] ^= 0x01;
    CHECK(archive.entry(0).error() == Error::BadChecksum);
}

TEST_CASE("archive: a corrupt entry fails alone", "[archive]")
{
    Blob blob = sample_archive();
    usize hello = get<u64>(blob, entry_at(1) + kEntryOffsetAt);
    blob[hello + 150] ^= 0x01;

    auto parsed = parse(blob);
    REQUIRE_FALSE(parsed.is_error());
    const Archive& archive = parsed.value();
    CHECK(archive.entry(1).error() == Error::BadChecksum);
    CHECK(archive.find("hello").error() == Error::BadChecksum);
    CHECK(as_string(archive.name(1)) == "hello");
    for (usize i : { 0, 2, 3 })
        CHECK_FALSE(archive.entry(i).is_error());
    CHECK_FALSE(archive.find("memory").is_error());

    // A wrong checksum field, and a corrupt last byte of the first program.
    blob = sample_archive();
    put<u32>(blob, entry_at(2) + kEntryChecksumAt, get<u32>(blob, entry_at(2) + kEntryChecksumAt) + 1);
    reseal(blob);
    blob[get<u64>(blob, entry_at(0) + kEntryOffsetAt) + 4999] ^= 0x80;
    auto both = parse(blob);
    REQUIRE_FALSE(both.is_error());
    CHECK(both.value().entry(0).error() == Error::BadChecksum);
    CHECK_FALSE(both.value().entry(1).is_error());
    CHECK(both.value().entry(2).error() == Error::BadChecksum);
    CHECK_FALSE(both.value().entry(3).is_error());

    // Padding between entries is not covered by any checksum.
    blob = sample_archive();
    blob[hello - 1] = 0xff;
    auto padded = parse(blob);
    REQUIRE_FALSE(padded.is_error());
    require_entries_readable(padded.value());
}

TEST_CASE("archive: an unknown kind fails alone", "[archive]")
{
    for (u32 kind : { 0u, 4u, 0x80000001u }) {
        Blob blob = sample_archive();
        put<u32>(blob, entry_at(2) + kEntryKindAt, kind);
        reseal(blob);
        auto archive = parse(blob);
        REQUIRE_FALSE(archive.is_error());
        CHECK(archive.value().entry(2).error() == Error::Unsupported);
        CHECK(archive.value().find("init.manifest").error() == Error::Unsupported);
        CHECK(as_string(archive.value().name(2)) == "init.manifest");
        CHECK_FALSE(archive.value().entry(0).is_error());
        CHECK_FALSE(archive.value().entry(3).is_error());
    }
}

TEST_CASE("archive: a program's symbols are an entry of kind Symbols named PROGRAM.sym", "[archive]")
{
    ArchiveWriter writer;
    REQUIRE(writer.add("hello", ArchiveKind::Program, fake_program(300, 2)).empty());
    REQUIRE(writer.add(std::string("hello") + kSymbolsSuffix, ArchiveKind::Symbols, bytes_of("HSYM")).empty());
    Blob blob = writer.encode();
    auto archive = parse(blob);
    REQUIRE_FALSE(archive.is_error());
    auto symbols = archive.value().find("hello.sym");
    REQUIRE_FALSE(symbols.is_error());
    CHECK(symbols.value().kind == ArchiveKind::Symbols);
    CHECK(static_cast<u32>(ArchiveKind::Symbols) == 3); // the format's value (docs/boot-archive.md)
}

TEST_CASE("archive: every prefix of an archive is truncated", "[archive]")
{
    for (const Blob& valid : { small_archive(), sample_archive() }) {
        REQUIRE_FALSE(parse(valid).is_error());
        for (usize length = 0; length < valid.size(); ++length) {
            // An exact-size copy, so ASan sees any read past its end.
            Blob prefix(valid.begin(), valid.begin() + length);
            INFO("length " << length);
            CHECK(parse_error(prefix) == Error::Truncated);
        }
    }
}

TEST_CASE("archive survives changed bytes in the header and the table", "[archive]")
{
    const Blob valid = sample_archive();
    usize table_end = entry_at(4);
    for (usize offset = 0; offset < table_end; ++offset) {
        for (u8 bits : { u8(0x01), u8(0x10), u8(0x80), u8(0xff) }) {
            Blob blob = valid;
            blob[offset] ^= bits;
            if (offset >= Archive::kHeaderSize)
                reseal(blob);
            INFO("offset " << offset << " xor " << int(bits));
            read_everything(blob);
        }
    }
}

#ifdef HERALD_USER_PROGRAM_DIR
// What herald_boot_archive(... CORRUPT name=program) makes: a program's first
// 100 bytes, which reads from the archive fine and then fails to load.
TEST_CASE("archive: a real program and its truncated copy", "[archive]")
{
    auto path = std::filesystem::path(HERALD_USER_PROGRAM_DIR) / "hello.elf";
    std::ifstream file(path, std::ios::binary);
    REQUIRE(file);
    Blob elf((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    REQUIRE(elf.size() > 100);

    ArchiveWriter writer;
    REQUIRE(writer.add("hello", ArchiveKind::Program, elf).empty());
    REQUIRE(writer.add("broken", ArchiveKind::Program, Blob(elf.begin(), elf.begin() + 100)).empty());
    Blob blob = writer.encode();
    auto archive = parse(blob);
    REQUIRE_FALSE(archive.is_error());

    auto hello = archive.value().find("hello");
    REQUIRE_FALSE(hello.is_error());
    CHECK_FALSE(parse_elf(hello.value().bytes, abi::kUserCodeBase, abi::kUserSpaceEnd).is_error());

    auto broken = archive.value().find("broken");
    REQUIRE_FALSE(broken.is_error());
    CHECK(broken.value().bytes.size() == 100);
    CHECK(parse_elf(broken.value().bytes, abi::kUserCodeBase, abi::kUserSpaceEnd).error() == Error::Truncated);
}
#endif
