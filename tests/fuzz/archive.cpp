// Fuzzes the boot archive parser (microkernel/boot/archive.cpp) and what the
// kernel and the loader do with an archive: look entries up by name, check
// each one's data, parse programs as ELF and init's manifest as text.
//
// Input: an archive. Parsed as given, then again with the table checksum
// and every entry's data checksum made right (where the entry's range lies
// inside the input), so that the fuzzer gets past FNV-1a to the entries.
#include "fuzz.hpp"
#include "microkernel/abi/memory.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/boot/archive.hpp"
#include "microkernel/boot/elf.hpp"
#include "user/init/manifest.hpp"

#include <memory>

using namespace herald;
using namespace herald::archive_layout;

namespace {

void use_entry(const ArchiveEntry& entry)
{
    if (entry.kind == ArchiveKind::Program) {
        (void)parse_elf(entry.bytes, abi::kUserCodeBase, abi::kUserHeapBase);
    } else if (entry.name == StringView("init.manifest")) {
        auto manifest = std::make_unique<init::Manifest>();
        init::ManifestError errors[4];
        (void)init::parse_manifest(reinterpret_cast<const char*>(entry.bytes.data()), entry.bytes.size(), *manifest,
            errors, 4);
    }
}

void check_archive(const Archive& archive, const u8* data, size_t size)
{
    u64 archive_size = fuzz::load<u64>(data, size, kHeaderArchiveSizeAt);
    FUZZ_CHECK(archive_size <= size);
    FUZZ_CHECK(archive.count() >= 1 && archive.count() <= Archive::kMaxEntries);
    u64 table_end = Archive::kHeaderSize + archive.count() * Archive::kEntrySize;
    const u8* previous_end = data + table_end;
    for (usize i = 0; i < archive.count(); ++i) {
        StringView name = archive.name(i);
        FUZZ_CHECK(Archive::is_valid_name(name));
        for (usize j = 0; j < i; ++j)
            FUZZ_CHECK(!(archive.name(j) == name));
        auto entry = archive.entry(i);
        if (entry.is_error())
            continue;
        const ArchiveEntry& e = entry.value();
        FUZZ_CHECK(e.name == name);
        FUZZ_CHECK(e.kind == ArchiveKind::Program || e.kind == ArchiveKind::File || e.kind == ArchiveKind::Symbols);
        // Inside the archive, after the table and the entry before, aligned.
        FUZZ_CHECK(e.bytes.data() >= previous_end && e.bytes.data() <= data + archive_size);
        FUZZ_CHECK(e.bytes.size() <= static_cast<size_t>(data + archive_size - e.bytes.data()));
        FUZZ_CHECK(static_cast<size_t>(e.bytes.data() - data) % Archive::kDataAlignment == 0);
        FUZZ_CHECK(fnv1a32(e.bytes.data(), e.bytes.size()) == fuzz::load<u32>(data, size,
            Archive::kHeaderSize + i * Archive::kEntrySize + kEntryChecksumAt));
        previous_end = e.bytes.data() + e.bytes.size();
        auto found = archive.find(name);
        FUZZ_CHECK(!found.is_error() && found.value().bytes.data() == e.bytes.data());
        use_entry(e);
    }
    FUZZ_CHECK(archive.name(archive.count()).is_empty());
    FUZZ_CHECK(archive.entry(archive.count()).is_error());
}

void parse(const u8* data, size_t size)
{
    auto archive = Archive::parse(ByteReader(data, size));
    if (!archive.is_error())
        check_archive(archive.value(), data, size);
}

// The checksums the writer (tools/mkarchive) computes, computed here.
void fix_checksums(u8* data, size_t size)
{
    u32 count = fuzz::load<u32>(data, size, kHeaderEntryCountAt);
    if (count == 0 || count > Archive::kMaxEntries)
        return;
    size_t table_size = count * Archive::kEntrySize;
    if (Archive::kHeaderSize + table_size > size)
        return;
    u8* table = data + Archive::kHeaderSize;
    for (size_t i = 0; i < count; ++i) {
        u8* entry = table + i * Archive::kEntrySize;
        u64 offset = fuzz::load<u64>(entry, Archive::kEntrySize, kEntryOffsetAt);
        u64 length = fuzz::load<u64>(entry, Archive::kEntrySize, kEntrySizeAt);
        if (offset <= size && length <= size - offset)
            fuzz::store<u32>(entry, Archive::kEntrySize, kEntryChecksumAt, fnv1a32(data + offset, length));
    }
    fuzz::store<u32>(data, size, kHeaderTableChecksumAt, fnv1a32(table, table_size));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    parse(data, size);
    std::unique_ptr<u8[]> fixed(new u8[size ? size : 1]);
    if (size)
        std::memcpy(fixed.get(), data, size);
    fix_checksums(fixed.get(), size);
    if (size && std::memcmp(fixed.get(), data, size) != 0)
        parse(fixed.get(), size);
    return 0;
}
