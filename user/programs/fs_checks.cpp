// fs_checks: a client of the FAT server (docs/storage.md, "Tests"), run from
// the shell by tests/system/disk-session.sh on a copy of the disk image.
// Its argument: the mode in bits 0-7, a count in bits 8 and up (0: the default).
//   1 sums    every file under the root (three levels down): one line
//             "fs_checks: sum PATH SIZE CRC32" (CRC-32 of IEEE 802.3, as
//             Python's zlib.crc32), for the host to compare with its own
//   2 write   COUNT files (default 1000) under /MANY/Dnn/Fnnn.TXT, 100 to a
//             directory, each of its own length and bytes, then Sync
//   3 read    reads them back and compares every byte
//   4 fill    writes /FILL.BIN 4 KiB at a time until the server says
//             kNoSpace (any other error fails); checks that readme.txt still
//             reads, deletes FILL.BIN and syncs, and that the free space is
//             back to what it was
//   5 limits  opens readme.txt until the server refuses: kClientLimit after
//             FileService::kMaxOpenPerClient (6) files, then closes them
//   6 leave   opens 6 files of the root (different ones, as far as there
//             are) and exits without closing them: run more times than the
//             server's tables hold (32 open files, 16 different ones), each
//             run must still open its 6, the server closing what the ended
//             runs left open (docs/storage.md, "The FAT server")
// Exits 0 when every check passed, else the number that failed (each in a line).
#include <stdint.h>

#include "libipc/protocols/file.hpp"
#include "user/runtime/herald.hpp"

namespace {

using namespace herald;
namespace file = ipc::file;
using user::println;

constexpr uint64_t kModeSums = 1;
constexpr uint64_t kModeWrite = 2;
constexpr uint64_t kModeRead = 3;
constexpr uint64_t kModeFill = 4;
constexpr uint64_t kModeLimits = 5;
constexpr uint64_t kModeLeave = 6;
constexpr uint64_t kDefaultFiles = 1000;
constexpr uint64_t kFilesPerDirectory = 100;
constexpr uint64_t kMaxDepth = 3;
constexpr uint64_t kExpectedClientLimit = 6; // FileService::kMaxOpenPerClient

int64_t g_failures;
ipc::Client<file::Protocol>* g_files;
uint8_t g_data[ipc::kMaxPayload];

void fail(const char* what, ipc::Error error)
{
    ++g_failures;
    println("fs_checks: FAILED: {}: {}", what, file::error_text(error));
}

ipc::Bytes bytes_of(const char* text)
{
    size_t length = 0;
    while (text[length])
        ++length;
    return ipc::Bytes { reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(length) };
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit: small files.
uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t length)
{
    crc = ~crc;
    for (size_t i = 0; i < length; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

// ---- 1: sums ----

void sum_file(const char* path)
{
    auto opened = g_files->call<file::Open>(bytes_of(path));
    if (opened.is_error())
        return fail(path, opened.error());
    uint32_t crc = 0;
    uint64_t offset = 0;
    for (;;) {
        auto piece = g_files->call<file::Read>({ opened.value().file, offset, ipc::kMaxPayload });
        if (piece.is_error()) {
            fail(path, piece.error());
            break;
        }
        if (piece.value().length == 0)
            break;
        crc = crc32_update(crc, piece.value().data, piece.value().length);
        offset += piece.value().length;
    }
    (void)g_files->call<file::Close>({ opened.value().file });
    if (offset != opened.value().size)
        println("fs_checks: FAILED: {}: read {} bytes of {}", path, offset, opened.value().size), ++g_failures;
    println("fs_checks: sum {} {} {:08x}", path, offset, crc);
}

void sum_directory(const char* path, uint64_t depth)
{
    // Names first (a page at a time), then the files: the reply's page is in the IPC buffer.
    constexpr size_t kMaxEntries = 64;
    static char names[kMaxDepth + 1][kMaxEntries][file::kMaxPathLength + 1];
    static bool directories[kMaxDepth + 1][kMaxEntries];
    size_t count = 0;
    uint64_t cookie = 0;
    for (;;) {
        auto page = g_files->call<file::List>({ { cookie }, bytes_of(path) });
        if (page.is_error())
            return fail(path, page.error());
        file::ListReader reader(page.value().bytes);
        file::ListEntryHeader header {};
        const char* name = nullptr;
        size_t base = 0;
        while (path[base])
            ++base;
        while (reader.next(header, name) && count < kMaxEntries) {
            char* out = names[depth][count];
            size_t at = 0;
            for (size_t i = 0; i < base && at < file::kMaxPathLength; ++i)
                out[at++] = path[i];
            if ((at == 0 || out[at - 1] != '/') && at < file::kMaxPathLength)
                out[at++] = '/';
            for (size_t i = 0; i < header.name_length && at < file::kMaxPathLength; ++i)
                out[at++] = name[i];
            out[at] = '\0';
            directories[depth][count++] = header.is_directory;
        }
        if (page.value().fixed.at_end || page.value().fixed.next_cookie == cookie)
            break;
        cookie = page.value().fixed.next_cookie;
    }
    for (size_t i = 0; i < count; ++i) {
        if (!directories[depth][i])
            sum_file(names[depth][i]);
        else if (depth < kMaxDepth)
            sum_directory(names[depth][i], depth + 1);
    }
}

// ---- 2, 3: many files ----

// "/MANY/D03/F042.TXT" for file 342.
void many_path(char (&out)[32], uint64_t index, bool directory_only)
{
    uint64_t directory = index / kFilesPerDirectory, number = index % kFilesPerDirectory;
    BufferSink sink(out, sizeof(out) - 1);
    if (directory_only)
        format(sink, "/MANY/D{:02}", directory);
    else
        format(sink, "/MANY/D{:02}/F{:03}.TXT", directory, number);
    out[sink.view().length()] = '\0';
}

// File `index`'s bytes: 1 to 2,000 of them, each a function of the index and the offset.
uint32_t many_content(uint64_t index, uint8_t* out)
{
    uint32_t length = 1 + static_cast<uint32_t>((index * 7919) % 2000);
    for (uint32_t i = 0; i < length; ++i)
        out[i] = static_cast<uint8_t>('A' + (index * 31 + i * 7) % 26);
    return length;
}

void create(const char* path, uint64_t kind)
{
    auto created = g_files->call<file::Create>({ { kind }, bytes_of(path) });
    if (created.is_error() && created.error() != file::kAlreadyExists)
        fail(path, created.error());
}

void write_many(uint64_t count)
{
    create("/MANY", file::kDirectory);
    char path[32];
    for (uint64_t index = 0; index < count && g_failures < 10; ++index) {
        if (index % kFilesPerDirectory == 0) {
            many_path(path, index, true);
            create(path, file::kDirectory);
        }
        many_path(path, index, false);
        create(path, file::kFile);
        auto opened = g_files->call<file::Open>(bytes_of(path));
        if (opened.is_error()) {
            fail(path, opened.error());
            continue;
        }
        uint32_t length = many_content(index, g_data);
        auto written = g_files->call<file::Write>({ { opened.value().file, 0 }, ipc::Bytes { g_data, length } });
        if (written.is_error())
            fail(path, written.error());
        (void)g_files->call<file::Close>({ opened.value().file });
    }
    if (auto synced = g_files->call<file::Sync>({}); synced.is_error())
        fail("sync", synced.error());
    println("fs_checks: wrote {} files under /MANY, synced; {} failed", count, g_failures);
}

void read_many(uint64_t count)
{
    static uint8_t expected[ipc::kMaxPayload];
    char path[32];
    uint64_t wrong = 0;
    for (uint64_t index = 0; index < count && g_failures < 10; ++index) {
        many_path(path, index, false);
        auto opened = g_files->call<file::Open>(bytes_of(path));
        if (opened.is_error()) {
            fail(path, opened.error());
            continue;
        }
        uint32_t length = many_content(index, expected);
        auto back = g_files->call<file::Read>({ opened.value().file, 0, ipc::kMaxPayload });
        bool same = !back.is_error() && opened.value().size == length && back.value().length == length
            && __builtin_memcmp(back.value().data, expected, length) == 0;
        (void)g_files->call<file::Close>({ opened.value().file });
        if (!same) {
            ++wrong, ++g_failures;
            println("fs_checks: FAILED: {} does not hold what was written", path);
        }
    }
    println("fs_checks: read back {} files under /MANY: {} wrong", count, wrong);
}

// ---- 4: a full disk ----

uint64_t free_clusters()
{
    auto info = g_files->call<file::Info>({});
    if (info.is_error()) {
        fail("info", info.error());
        return 0;
    }
    return info.value().free_clusters;
}

void fill()
{
    uint64_t free_before = free_clusters();
    create("/FILL.BIN", file::kFile);
    auto opened = g_files->call<file::Open>(bytes_of("/FILL.BIN"));
    if (opened.is_error())
        return fail("/FILL.BIN", opened.error());
    for (size_t i = 0; i < sizeof g_data; ++i)
        g_data[i] = static_cast<uint8_t>(i * 13);
    uint64_t offset = 0;
    ipc::Error last = ipc::Error::InvalidRequest;
    for (;;) {
        auto written = g_files->call<file::Write>({ { opened.value().file, offset }, ipc::Bytes { g_data, sizeof g_data } });
        if (written.is_error()) {
            last = written.error();
            break;
        }
        offset += written.value().written;
    }
    println("fs_checks: disk full after {} bytes: {}", offset, file::error_text(last));
    if (last != file::kNoSpace)
        fail("a full disk's error", last);
    auto stat = g_files->call<file::Stat>(bytes_of("/FILL.BIN"));
    if (stat.is_error() || stat.value().size != offset)
        println("fs_checks: FAILED: FILL.BIN is not the {} bytes written", offset), ++g_failures;
    (void)g_files->call<file::Close>({ opened.value().file });
    if (auto synced = g_files->call<file::Sync>({}); synced.is_error())
        fail("sync of a full disk", synced.error());
    sum_file("/readme.txt"); // what was there before is intact (the host compares the sum)
    if (auto deleted = g_files->call<file::Delete>(bytes_of("/FILL.BIN")); deleted.is_error())
        fail("delete /FILL.BIN", deleted.error());
    if (auto synced = g_files->call<file::Sync>({}); synced.is_error())
        fail("sync", synced.error());
    uint64_t free_after = free_clusters();
    println("fs_checks: free clusters before {}, after deleting FILL.BIN {}", free_before, free_after);
    if (free_after != free_before)
        ++g_failures;
}

// ---- 5: the per-client limit ----

void limits()
{
    uint64_t ids[16];
    uint64_t opened = 0;
    ipc::Error refusal = ipc::Error::InvalidRequest;
    while (opened < 16) {
        auto file = g_files->call<file::Open>(bytes_of("/readme.txt"));
        if (file.is_error()) {
            refusal = file.error();
            break;
        }
        ids[opened++] = file.value().file;
    }
    println("fs_checks: opened {} files, then: {}", opened, file::error_text(refusal));
    if (opened != kExpectedClientLimit || refusal != file::kClientLimit)
        ++g_failures;
    for (uint64_t i = 0; i < opened; ++i)
        (void)g_files->call<file::Close>({ ids[i] });
    if (g_files->call<file::Open>(bytes_of("/readme.txt")).is_error())
        println("fs_checks: FAILED: no file opens after closing"), ++g_failures;
}

// ---- 6: files left open by a client that ends ----

void leave_open()
{
    constexpr size_t kMaxNames = 16;
    static char names[kMaxNames][file::kMaxPathLength + 1];
    size_t count = 0;
    auto page = g_files->call<file::List>({ { 0 }, bytes_of("/") });
    if (page.is_error())
        return fail("List /", page.error());
    file::ListReader reader(page.value().bytes);
    file::ListEntryHeader header {};
    const char* name = nullptr;
    while (reader.next(header, name) && count < kMaxNames) {
        if (header.is_directory || header.name_length >= file::kMaxPathLength)
            continue;
        names[count][0] = '/';
        for (size_t i = 0; i < header.name_length; ++i)
            names[count][1 + i] = name[i];
        names[count][1 + header.name_length] = '\0';
        ++count;
    }
    if (count == 0)
        return fail("no file in /", ipc::Error::NotFound);
    for (uint64_t i = 0; i < kExpectedClientLimit; ++i) {
        auto opened = g_files->call<file::Open>(bytes_of(names[i % count]));
        if (opened.is_error()) {
            println("fs_checks: FAILED: open {} of {} ({}): {}", i + 1, kExpectedClientLimit, names[i % count],
                file::error_text(opened.error()));
            ++g_failures;
            return;
        }
    }
    println("fs_checks: left {} files open", kExpectedClientLimit);
}

} // namespace

extern "C" int64_t herald_main(uint64_t argument)
{
    ipc::Handle server = user::find_server("fat");
    if (server == abi::HandleNone) {
        println("fs_checks: no file server (\"fat\")");
        return 100;
    }
    ipc::Client<file::Protocol> files(user::ipc(), server);
    g_files = &files;
    uint64_t mode = argument & 0xFF;
    uint64_t count = argument >> 8 ? argument >> 8 : kDefaultFiles;
    switch (mode) {
    case kModeSums: sum_directory("/", 0); break;
    case kModeWrite: write_many(count); break;
    case kModeRead: read_many(count); break;
    case kModeFill: fill(); break;
    case kModeLimits: limits(); break;
    case kModeLeave: leave_open(); break;
    default: println("fs_checks: no mode {}", mode); return 100;
    }
    return g_failures;
}
