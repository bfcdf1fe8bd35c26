// Host tests of the FAT library (servers/fat, docs/storage.md), against
// images that the host's own tools make and check: mkfs.fat (dosfstools)
// formats, mtools (mcopy, mmd) fills, and after the library has written,
// fsck.fat -n must find nothing wrong and mtype/mdir must read back what
// it wrote. The tools are dependencies of ./herald (PACKAGES): a missing
// one fails these tests rather than skipping them.
#include "fat_volume.hpp"
#include "file_service.hpp"
#include "libipc/testing/fake_transports.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace herald::fat;

namespace {

// Runs a shell command with the tools' folders on the path; its exit status.
int run(const std::string& command)
{
    std::string line = "PATH=\"$PATH:/usr/sbin:/sbin\" MTOOLS_SKIP_CHECK=1 " + command + " >/dev/null 2>&1";
    int status = std::system(line.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A command's standard output.
std::string output_of(const std::string& command)
{
    std::string line = "PATH=\"$PATH:/usr/sbin:/sbin\" MTOOLS_SKIP_CHECK=1 " + command + " 2>/dev/null";
    std::string text;
    FILE* pipe = ::popen(line.c_str(), "r");
    REQUIRE(pipe);
    char buffer[4096];
    size_t count;
    while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        text.append(buffer, count);
    ::pclose(pipe);
    return text;
}

// A folder for one test's images and files, removed afterwards.
struct TempFolder {
    std::string path;
    TempFolder()
    {
        char pattern[] = "/tmp/herald-fat-XXXXXX";
        REQUIRE(::mkdtemp(pattern));
        path = pattern;
    }
    ~TempFolder() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

void write_host_file(const std::string& path, const std::string& bytes)
{
    FILE* file = std::fopen(path.c_str(), "wb");
    REQUIRE(file);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size());
    std::fclose(file);
}

std::string pattern_bytes(size_t size, uint32_t seed)
{
    std::mt19937 random(seed);
    std::string bytes(size, '\0');
    for (char& c : bytes)
        c = static_cast<char>(random());
    return bytes;
}

// The image file as a block device: pread/pwrite of whole sectors.
class FileDevice final : public BlockDevice {
public:
    explicit FileDevice(const std::string& path, uint32_t sector_size = 512) : m_sector_size(sector_size)
    {
        m_fd = ::open(path.c_str(), O_RDWR);
        REQUIRE(m_fd >= 0);
        struct stat info {};
        REQUIRE(::fstat(m_fd, &info) == 0);
        m_sectors = static_cast<uint64_t>(info.st_size) / m_sector_size;
    }
    ~FileDevice() { ::close(m_fd); }
    uint32_t sector_size() const override { return m_sector_size; }
    uint64_t sector_count() const override { return m_sectors; }
    Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer) override
    {
        if (first + count > m_sectors)
            return Error::OutOfRange;
        size_t bytes = static_cast<size_t>(count) * m_sector_size;
        ssize_t done = ::pread(m_fd, buffer, bytes, static_cast<off_t>(first * m_sector_size));
        return done == static_cast<ssize_t>(bytes) ? Result<void> {} : Error::IoError;
    }
    Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer) override
    {
        if (first + count > m_sectors)
            return Error::OutOfRange;
        size_t bytes = static_cast<size_t>(count) * m_sector_size;
        ssize_t done = ::pwrite(m_fd, buffer, bytes, static_cast<off_t>(first * m_sector_size));
        return done == static_cast<ssize_t>(bytes) ? Result<void> {} : Error::IoError;
    }

private:
    uint32_t m_sector_size;
    int m_fd { -1 };
    uint64_t m_sectors { 0 };
};

// An image in memory (for corrupting), as a block device.
class MemoryDevice final : public BlockDevice {
public:
    explicit MemoryDevice(std::vector<uint8_t> bytes) : image(std::move(bytes)) { }
    uint32_t sector_size() const override { return 512; }
    uint64_t sector_count() const override { return image.size() / 512; }
    Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer) override
    {
        if (first + count > sector_count())
            return Error::OutOfRange;
        std::memcpy(buffer, image.data() + first * 512, count * 512ul);
        return {};
    }
    Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer) override
    {
        if (first + count > sector_count())
            return Error::OutOfRange;
        std::memcpy(image.data() + first * 512, buffer, count * 512ul);
        return {};
    }
    std::vector<uint8_t> image;
};

std::vector<uint8_t> read_host_file(const std::string& path)
{
    FILE* file = std::fopen(path.c_str(), "rb");
    REQUIRE(file);
    std::vector<uint8_t> bytes;
    uint8_t buffer[65536];
    size_t count;
    while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        bytes.insert(bytes.end(), buffer, buffer + count);
    std::fclose(file);
    return bytes;
}

struct Format {
    const char* name;
    const char* mkfs; // mkfs.fat options and size in KiB
    FatType type;
};
// FAT32 needs 65525 clusters: 40 MiB of one-sector clusters; FAT16 gets
// 4 KiB clusters here, to test clusters larger than a sector.
const Format kFat32 { "FAT32", "-F 32 -s 1 -C IMAGE 40960", FatType::Fat32 };
const Format kFat16 { "FAT16", "-F 16 -s 8 -C IMAGE 20480", FatType::Fat16 };

std::string make_image(const TempFolder& folder, const Format& format)
{
    std::string image = folder / "disk.img";
    std::string options = format.mkfs;
    options.replace(options.find("IMAGE"), 5, "'" + image + "'");
    REQUIRE(run("mkfs.fat " + options) == 0);
    return image;
}

Result<FileId> open_path(Volume& volume, const std::string& path) { return volume.open(path.data(), path.size()); }

std::string read_all(Volume& volume, const std::string& path, uint32_t chunk)
{
    auto file = open_path(volume, path);
    REQUIRE_FALSE(file.is_error());
    std::string bytes;
    std::vector<uint8_t> buffer(chunk);
    for (uint32_t offset = 0;;) {
        auto count = volume.read(file.value(), offset, buffer.data(), chunk);
        REQUIRE_FALSE(count.is_error());
        if (count.value() == 0)
            break;
        bytes.append(reinterpret_cast<const char*>(buffer.data()), count.value());
        offset += count.value();
    }
    REQUIRE_FALSE(volume.close(file.value()).is_error());
    return bytes;
}

std::vector<std::string> list_names(Volume& volume, const std::string& path)
{
    std::vector<std::string> names;
    uint32_t cookie = 0;
    Entry entry {};
    for (;;) {
        auto more = volume.list(path.data(), path.size(), cookie, entry);
        REQUIRE_FALSE(more.is_error());
        if (!more.value())
            break;
        names.push_back(entry.name);
        REQUIRE(names.size() < 10000);
    }
    return names;
}

bool contains(const std::vector<std::string>& names, const std::string& name)
{
    for (const auto& n : names) {
        if (n == name)
            return true;
    }
    return false;
}

void write_all(Volume& volume, const std::string& path, const std::string& bytes, uint32_t chunk)
{
    REQUIRE_FALSE(volume.create(path.data(), path.size(), false).is_error());
    auto file = open_path(volume, path);
    REQUIRE_FALSE(file.is_error());
    for (uint32_t offset = 0; offset < bytes.size(); offset += chunk) {
        uint32_t length = std::min<uint32_t>(chunk, static_cast<uint32_t>(bytes.size() - offset));
        auto written = volume.write(file.value(), offset, reinterpret_cast<const uint8_t*>(bytes.data()) + offset, length);
        REQUIRE_FALSE(written.is_error());
        REQUIRE(written.value() == length);
    }
    REQUIRE_FALSE(volume.close(file.value()).is_error());
}

// fsck.fat -n: reads only, exit status 0 when it found nothing wrong.
void require_clean(const std::string& image)
{
    INFO(output_of("fsck.fat -n '" + image + "'"));
    REQUIRE(run("fsck.fat -n '" + image + "'") == 0);
}

} // namespace

TEST_CASE("fat: short names, their checksum and case flags", "[fat]")
{
    auto name = make_short_name("notes.txt", 9);
    REQUIRE_FALSE(name.is_error());
    CHECK(std::memcmp(name.value().bytes, "NOTES   TXT", 11) == 0);
    CHECK(name.value().case_flags == (kCaseLowerBase | kCaseLowerExtension));
    auto upper = make_short_name("README", 6);
    REQUIRE_FALSE(upper.is_error());
    CHECK(std::memcmp(upper.value().bytes, "README     ", 11) == 0);
    CHECK(upper.value().case_flags == 0);
    CHECK(make_short_name("MiXed.Txt", 9).value().case_flags == 0); // stored upper case
    for (const char* bad : { "", ".", "..", "toolongname.txt", "a.long", "a.b.c", "sp ace", "name.", ".hidden", "a/b", "x*y" })
        CHECK(make_short_name(bad, std::strlen(bad)).error() == Error::BadName);
    // The specification's algorithm, by hand for "A          ": the sum rotates right and adds.
    uint8_t one[11] = { 'A', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ' };
    uint8_t sum = 0;
    for (uint8_t byte : one)
        sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + byte);
    CHECK(short_name_checksum(one) == sum);
    CHECK(names_equal("Notes.TXT", "notes.txt", 9));
    CHECK_FALSE(names_equal("notes.txt", "notes.tx", 8));
}

TEST_CASE("fat: reads what mkfs.fat and mcopy made", "[fat]")
{
    for (const Format& format : { kFat32, kFat16 }) {
        INFO(format.name);
        TempFolder folder;
        std::string image = make_image(folder, format);
        std::string small = "hello from the host\n";
        std::string big = pattern_bytes(300 * 1024 + 17, 1); // many clusters, a partial last one
        write_host_file(folder / "small", small);
        write_host_file(folder / "big", big);
        write_host_file(folder / "empty", "");
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "small" + "' ::SMALL.TXT") == 0);
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "big" + "' ::big.bin") == 0);
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "empty" + "' ::EMPTY") == 0);
        REQUIRE(run("mmd -i '" + image + "' ::docs") == 0);
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "small" + "' '::docs/A Long File Name.text'") == 0);

        FileDevice device(image);
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        CHECK(volume->info().type == format.type);

        auto root = list_names(*volume, "/");
        CHECK(root.size() == 4);
        CHECK(contains(root, "SMALL.TXT"));
        CHECK(contains(root, "big.bin"));
        CHECK(contains(root, "EMPTY"));
        CHECK(contains(root, "docs"));
        CHECK(list_names(*volume, "/docs") == std::vector<std::string> { "A Long File Name.text" });

        for (uint32_t chunk : { 1u, 511u, 512u, 4096u, 100000u }) {
            INFO("chunk " << chunk);
            CHECK(read_all(*volume, "/SMALL.TXT", chunk) == small);
            CHECK(read_all(*volume, "big.bin", chunk) == big);
        }
        CHECK(read_all(*volume, "/empty", 512).empty());                         // any case
        CHECK(read_all(*volume, "/DOCS/a long file name.TEXT", 7) == small); // a long name
        CHECK(read_all(*volume, "/docs/ALONGF~1.TEX", 7) == small);              // its 8.3 alias

        auto stat = volume->stat("/big.bin", 8);
        REQUIRE_FALSE(stat.is_error());
        CHECK(stat.value().size == big.size());
        CHECK(stat.value().is_directory == 0);
        CHECK(volume->stat("/docs", 5).value().is_directory == 1);
        CHECK(volume->stat("/", 1).value().is_directory == 1);

        // Reads from the middle, and at and past the end.
        auto file = open_path(*volume, "/big.bin");
        REQUIRE_FALSE(file.is_error());
        std::vector<uint8_t> part(1000);
        CHECK(volume->read(file.value(), 123457, part.data(), 1000).value() == 1000);
        CHECK(std::memcmp(part.data(), big.data() + 123457, 1000) == 0);
        CHECK(volume->read(file.value(), static_cast<uint32_t>(big.size()) - 10, part.data(), 1000).value() == 10);
        CHECK(volume->read(file.value(), static_cast<uint32_t>(big.size()), part.data(), 1000).value() == 0);
        CHECK(volume->read(file.value(), 0xFFFFFFFF, part.data(), 1000).value() == 0);

        // Refusals.
        CHECK(open_path(*volume, "/nothing").error() == Error::NotFound);
        CHECK(open_path(*volume, "/docs").error() == Error::IsADirectory);
        CHECK(open_path(*volume, "/SMALL.TXT/x").error() == Error::NotADirectory);
        CHECK(volume->read(file.value() + 1, 0, part.data(), 1).error() == Error::BadFileHandle);
        REQUIRE_FALSE(volume->close(file.value()).is_error());
        CHECK(volume->read(file.value(), 0, part.data(), 1).error() == Error::BadFileHandle); // closed
    }
}

TEST_CASE("fat: what the library writes, fsck.fat finds clean and mtools reads back", "[fat]")
{
    for (const Format& format : { kFat32, kFat16 }) {
        INFO(format.name);
        TempFolder folder;
        std::string image = make_image(folder, format);
        std::string kept = "this file was here before\n";
        write_host_file(folder / "kept", kept);
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "kept" + "' ::KEPT.TXT") == 0);

        std::string notes = "notes written by Herald's FAT library\n";
        std::string big = pattern_bytes(200 * 1024 + 3, 2);
        std::string sparse_tail = "after a hole";
        {
            FileDevice device(image);
            auto volume = std::make_unique<Volume>();
            REQUIRE_FALSE(volume->mount(device).is_error());
            uint32_t free_before = volume->info().free_clusters;

            write_all(*volume, "/notes.txt", notes, 7);
            write_all(*volume, "/BIG.BIN", big, 4096);
            REQUIRE_FALSE(volume->create("/sub", 4, true).is_error());
            write_all(*volume, "/sub/inner.txt", notes, 4096);
            REQUIRE_FALSE(volume->create("/sub/deeper", 11, true).is_error());

            // A write past the end leaves zeros in the gap.
            REQUIRE_FALSE(volume->create("/SPARSE", 7, false).is_error());
            auto sparse = open_path(*volume, "/SPARSE");
            REQUIRE_FALSE(sparse.is_error());
            REQUIRE(volume->write(sparse.value(), 10000, reinterpret_cast<const uint8_t*>(sparse_tail.data()),
                        static_cast<uint32_t>(sparse_tail.size())).value() == sparse_tail.size());
            REQUIRE_FALSE(volume->close(sparse.value()).is_error());

            // Truncate: down to part of a cluster, to nothing, and up again with zeros.
            write_all(*volume, "/TRUNC.BIN", big, 65536);
            auto trunc = open_path(*volume, "/TRUNC.BIN");
            REQUIRE_FALSE(trunc.is_error());
            REQUIRE_FALSE(volume->truncate(trunc.value(), 5000).is_error());
            CHECK(volume->stat(trunc.value()).value().size == 5000);
            REQUIRE_FALSE(volume->truncate(trunc.value(), 0).is_error());
            CHECK(volume->stat(trunc.value()).value().first_cluster == 0);
            REQUIRE_FALSE(volume->truncate(trunc.value(), 3000).is_error());
            REQUIRE_FALSE(volume->close(trunc.value()).is_error());

            // Deleting: a file, an empty directory; not a full one, not an open file.
            write_all(*volume, "/GONE.TXT", big, 4096);
            REQUIRE_FALSE(volume->remove("/GONE.TXT", 9).is_error());
            REQUIRE_FALSE(volume->create("/EMPTYDIR", 9, true).is_error());
            REQUIRE_FALSE(volume->remove("/EMPTYDIR", 9).is_error());
            CHECK(volume->remove("/sub", 4).error() == Error::DirectoryNotEmpty);
            auto open_file = open_path(*volume, "/notes.txt");
            CHECK(volume->remove("/notes.txt", 10).error() == Error::Busy);
            REQUIRE_FALSE(volume->close(open_file.value()).is_error());
            CHECK(volume->remove("/", 1).error() == Error::BadName);
            CHECK(volume->create("/NOTES.TXT", 10, false).error() == Error::AlreadyExists); // any case
            CHECK(volume->create("/a long name", 12, false).error() == Error::BadName);
            CHECK(volume->create("/nowhere/X", 10, false).error() == Error::NotFound);
            CHECK(volume->create("/KEPT.TXT/X", 11, false).error() == Error::NotADirectory);

            // Many files: the root directory grows (FAT32) past its first cluster.
            for (int i = 0; i < 40; ++i) {
                std::string name = "/F" + std::to_string(i) + ".TXT";
                write_all(*volume, name, name, 512);
            }
            REQUIRE_FALSE(volume->sync().is_error());
            uint32_t used = free_before - volume->info().free_clusters;
            uint32_t cluster = volume->layout().bytes_per_cluster;
            auto clusters = [&](size_t bytes) { return static_cast<uint32_t>((bytes + cluster - 1) / cluster); };
            // Every cluster the files and directories hold, and none more (directory growth aside).
            uint32_t expected = clusters(notes.size()) * 2 + clusters(big.size()) + 2 /* sub, deeper */
                + clusters(10000 + sparse_tail.size()) + clusters(3000) + 40;
            CHECK(used >= expected);
            CHECK(used <= expected + 2);
        }
        require_clean(image);
        std::string mdir = output_of("mdir -b -i '" + image + "' ::");
        INFO(mdir);
        CHECK(mdir.find("notes.txt") != std::string::npos); // the case flags kept it lower case
        CHECK(mdir.find("GONE") == std::string::npos);
        CHECK(mdir.find("EMPTYDIR") == std::string::npos);
        CHECK(output_of("mtype -i '" + image + "' ::notes.txt") == notes);
        CHECK(output_of("mtype -i '" + image + "' ::KEPT.TXT") == kept);
        CHECK(output_of("mtype -i '" + image + "' ::sub/inner.txt") == notes);
        CHECK(output_of("mtype -i '" + image + "' ::F39.TXT") == "/F39.TXT");
        REQUIRE(run("mcopy -n -i '" + image + "' ::BIG.BIN '" + folder / "big.out" + "'") == 0);
        auto big_back = read_host_file(folder / "big.out");
        CHECK(std::string(big_back.begin(), big_back.end()) == big);
        REQUIRE(run("mcopy -n -i '" + image + "' ::SPARSE '" + folder / "sparse.out" + "'") == 0);
        auto sparse_back = read_host_file(folder / "sparse.out");
        REQUIRE(sparse_back.size() == 10000 + sparse_tail.size());
        CHECK(std::string(sparse_back.begin(), sparse_back.begin() + 10000) == std::string(10000, '\0'));
        REQUIRE(run("mcopy -n -i '" + image + "' ::TRUNC.BIN '" + folder / "trunc.out" + "'") == 0);
        CHECK(read_host_file(folder / "trunc.out") == std::vector<uint8_t>(3000, 0));

        // And the library reads its own writing after a fresh mount.
        FileDevice device(image);
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        CHECK(read_all(*volume, "/BIG.BIN", 3000) == big);
        CHECK(list_names(*volume, "/sub").size() == 2);
    }
}

TEST_CASE("fat: 4 KiB sectors, read and written", "[fat]")
{
    TempFolder folder;
    std::string image = folder / "disk.img";
    REQUIRE(run("mkfs.fat -F 16 -S 4096 -s 1 -C '" + image + "' 20480") == 0);
    std::string host = pattern_bytes(50000, 11);
    write_host_file(folder / "host", host);
    REQUIRE(run("mcopy -i '" + image + "' '" + folder / "host" + "' ::HOST.BIN") == 0);
    std::string mine = pattern_bytes(30000, 12);
    {
        FileDevice device(image, 4096);
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        CHECK(volume->layout().bytes_per_sector == 4096);
        CHECK(read_all(*volume, "/HOST.BIN", 1000) == host);
        write_all(*volume, "/MINE.BIN", mine, 777);
        REQUIRE_FALSE(volume->sync().is_error());
        FileDevice small_sectors(image, 512); // the same image seen as 512-byte sectors: refused
        CHECK(volume->mount(small_sectors).error() == Error::Unsupported);
    }
    require_clean(image);
    REQUIRE(run("mcopy -n -i '" + image + "' ::MINE.BIN '" + folder / "mine.out" + "'") == 0);
    auto back = read_host_file(folder / "mine.out");
    CHECK(std::string(back.begin(), back.end()) == mine);
}

TEST_CASE("fat: a full disk refuses the write that does not fit and keeps what was written", "[fat]")
{
    TempFolder folder;
    const Format small_fat16 { "FAT16", "-F 16 -s 1 -C IMAGE 2400", FatType::Fat16 }; // ~4700 clusters
    std::string image = make_image(folder, small_fat16);
    std::string first = pattern_bytes(100 * 1024, 3);
    std::string chunk = pattern_bytes(64 * 1024, 4);
    uint32_t written = 0;
    {
        FileDevice device(image);
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        write_all(*volume, "/FIRST.BIN", first, 4096);
        REQUIRE_FALSE(volume->sync().is_error());
        REQUIRE_FALSE(volume->create("/FILL.BIN", 9, false).is_error());
        auto fill = open_path(*volume, "/FILL.BIN");
        REQUIRE_FALSE(fill.is_error());
        Error error {};
        for (int i = 0; i < 1000; ++i) {
            auto result = volume->write(fill.value(), written, reinterpret_cast<const uint8_t*>(chunk.data()),
                static_cast<uint32_t>(chunk.size()));
            if (result.is_error()) {
                error = result.error();
                break;
            }
            written += result.value();
        }
        CHECK(error == Error::NoSpace);
        CHECK(written > 0);
        CHECK(volume->stat(fill.value()).value().size == written); // the refused write left nothing behind
        // What is left fits exactly; then nothing more does.
        uint32_t rest = volume->info().free_clusters * volume->layout().bytes_per_cluster;
        REQUIRE(rest < chunk.size());
        REQUIRE(volume->write(fill.value(), written, reinterpret_cast<const uint8_t*>(chunk.data()), rest).value() == rest);
        written += rest;
        CHECK(volume->info().free_clusters == 0);
        CHECK(volume->write(fill.value(), written, reinterpret_cast<const uint8_t*>(chunk.data()), 1).error() == Error::NoSpace);
        CHECK(volume->create("/DIR", 4, true).error() == Error::NoSpace); // a directory needs a cluster
        REQUIRE_FALSE(volume->create("/LAST", 5, false).is_error());    // an empty file does not
        auto last = open_path(*volume, "/LAST");
        CHECK(volume->write(last.value(), 0, reinterpret_cast<const uint8_t*>(chunk.data()), 1).error() == Error::NoSpace);
        REQUIRE_FALSE(volume->close(last.value()).is_error());
        REQUIRE_FALSE(volume->close(fill.value()).is_error());
        REQUIRE_FALSE(volume->sync().is_error());
    }
    require_clean(image);
    CHECK(output_of("mtype -i '" + image + "' ::FIRST.BIN") == first);
    REQUIRE(run("mcopy -n -i '" + image + "' ::FILL.BIN '" + folder / "fill.out" + "'") == 0);
    auto fill_back = read_host_file(folder / "fill.out");
    REQUIRE(fill_back.size() == written);
    for (uint32_t offset = 0; offset < written; offset += static_cast<uint32_t>(chunk.size()))
        CHECK(std::memcmp(fill_back.data() + offset, chunk.data(), std::min<size_t>(chunk.size(), written - offset)) == 0);
    CHECK(output_of("mtype -i '" + image + "' ::LAST").empty());
}

TEST_CASE("fat: corrupt boot sectors give clear errors", "[fat]")
{
    TempFolder folder;
    std::string image32 = make_image(folder, kFat32);
    auto pristine = read_host_file(image32);
    auto mount_with = [&](auto&& corrupt) {
        MemoryDevice device(pristine);
        corrupt(device.image);
        auto volume = std::make_unique<Volume>();
        auto result = volume->mount(device);
        return result.is_error() ? result.error() : Error {};
    };
    CHECK(mount_with([](auto&) { }) == Error {});
    CHECK(mount_with([](auto& b) { b[510] = 0; }) == Error::NotFat);
    CHECK(mount_with([](auto& b) { b[0] = 0; }) == Error::NotFat);
    CHECK(mount_with([](auto& b) { b[11] = 0, b[12] = 0; }) == Error::BadGeometry);  // 0 bytes per sector
    CHECK(mount_with([](auto& b) { b[11] = 0, b[12] = 3; }) == Error::BadGeometry);  // 768: not a power of two
    CHECK(mount_with([](auto& b) { b[11] = 0, b[12] = 8; }) == Error::Unsupported);  // 2048, unlike the device
    CHECK(mount_with([](auto& b) { b[13] = 0; }) == Error::BadGeometry);             // 0 sectors per cluster
    CHECK(mount_with([](auto& b) { b[13] = 3; }) == Error::BadGeometry);
    CHECK(mount_with([](auto& b) { b[14] = 0, b[15] = 0; }) == Error::BadGeometry);  // no reserved sectors
    CHECK(mount_with([](auto& b) { b[16] = 0; }) == Error::BadGeometry);             // no FAT
    CHECK(mount_with([](auto& b) { b[32] = b[33] = b[34] = b[35] = 0; }) == Error::BadGeometry); // 0 sectors
    CHECK(mount_with([](auto& b) { b[35] = 0x7F; }) == Error::BadGeometry);          // beyond the device
    CHECK(mount_with([](auto& b) { b[36] = 1, b[37] = 0, b[38] = 0, b[39] = 0; }) == Error::BadClusterCount); // a FAT of one sector
    CHECK(mount_with([](auto& b) { b[36] = b[37] = b[38] = b[39] = 0; }) == Error::BadGeometry); // no FAT size
    CHECK(mount_with([](auto& b) { b[44] = 0xFF, b[45] = 0xFF, b[46] = 0xFF, b[47] = 0x0F; }) == Error::BadGeometry); // root
    CHECK(mount_with([](auto& b) { b[36] = 0, b[37] = 0, b[38] = 1, b[39] = 0; }) == Error::BadGeometry); // FATs beyond the volume
    CHECK(mount_with([](auto& b) { b[40] = 0x80; }) == Error::Unsupported);          // one active FAT
    // A free root cluster: the FAT says the root directory's chain is not there.
    CHECK(mount_with([](auto& b) {
        uint32_t reserved = b[14] | b[15] << 8;
        uint32_t root = b[44] | b[45] << 8 | b[46] << 16 | b[47] << 24;
        std::memset(&b[reserved * 512 + root * 4], 0, 4);
    }) == Error::CorruptChain);
    // A device too small for the boot sector, and one that fails.
    MemoryDevice empty(std::vector<uint8_t> {});
    auto volume = std::make_unique<Volume>();
    CHECK(volume->mount(empty).error() == Error::OutOfRange);
    struct DefaultDevice final : BlockDevice { };
    DefaultDevice broken_device; // the defaults: no sectors, every read fails
    CHECK(volume->mount(broken_device).error() == Error::OutOfRange);
    CHECK(open_path(*volume, "/x").error() == Error::NotMounted);

    std::string image16 = folder / "fat12.img";
    REQUIRE(run("mkfs.fat -F 12 -C '" + image16 + "' 1024") == 0);
    FileDevice fat12(image16);
    CHECK(volume->mount(fat12).error() == Error::Unsupported);
}

TEST_CASE("fat: a failing device gives IoError, and the volume goes on", "[fat]")
{
    // The image in memory; reads and writes fail once their budget is spent.
    class FailingDevice final : public BlockDevice {
    public:
        explicit FailingDevice(std::vector<uint8_t> bytes) : m_memory(std::move(bytes)) { }
        uint32_t sector_size() const override { return 512; }
        uint64_t sector_count() const override { return m_memory.sector_count(); }
        Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer) override
        {
            if (reads_left == 0)
                return Error::IoError;
            --reads_left;
            return m_memory.read(first, count, buffer);
        }
        Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer) override
        {
            if (writes_left == 0)
                return Error::IoError;
            --writes_left;
            return m_memory.write(first, count, buffer);
        }
        Result<void> flush() override { return flush_fails ? Result<void>(Error::IoError) : Result<void> {}; }
        uint64_t reads_left { ~0ull };
        uint64_t writes_left { ~0ull };
        bool flush_fails { false };

    private:
        MemoryDevice m_memory;
    };

    TempFolder folder;
    const Format small_fat16 { "FAT16", "-F 16 -s 1 -C IMAGE 2400", FatType::Fat16 }; // 2.3 MiB: quick to copy
    std::string image = make_image(folder, small_fat16);
    auto pristine = read_host_file(image);
    auto volume = std::make_unique<Volume>();
    std::string data = pattern_bytes(20000, 13);
    auto bytes = reinterpret_cast<const uint8_t*>(data.data());

    // Reads failing at every point of a mount: an error each time, never a crash.
    for (uint64_t budget = 0; budget < 40; ++budget) {
        FailingDevice device(pristine);
        device.reads_left = budget;
        auto mounted = volume->mount(device);
        if (mounted.is_error())
            CHECK(mounted.error() == Error::IoError);
        else
            CHECK(budget > 10); // the boot sector and the FAT's ten or so sectors were read
        if (budget == 39)
            CHECK_FALSE(mounted.is_error());
    }
    // Writes failing at every point of a write and sync; then the volume still answers.
    for (uint64_t budget = 0; budget < 60; budget += 3) {
        INFO("writes allowed " << budget);
        FailingDevice device(pristine);
        REQUIRE_FALSE(volume->mount(device).is_error());
        device.writes_left = budget;
        Error first_error {};
        REQUIRE_FALSE(volume->create("/A.BIN", 6, false).is_error());
        auto file = volume->open("/A.BIN", 6);
        REQUIRE_FALSE(file.is_error());
        for (uint32_t offset = 0; offset < data.size() && first_error == Error {}; offset += 4096) {
            auto written = volume->write(file.value(), offset, bytes + offset, std::min<uint32_t>(4096, static_cast<uint32_t>(data.size()) - offset));
            if (written.is_error())
                first_error = written.error();
        }
        auto synced = volume->sync();
        if (synced.is_error() && first_error == Error {})
            first_error = synced.error();
        CHECK((first_error == Error {} || first_error == Error::IoError));
        if (budget == 0)
            CHECK(first_error == Error::IoError); // 20000 bytes do not fit in 16 cached sectors
        std::vector<uint8_t> back(100);
        (void)volume->read(file.value(), 0, back.data(), 100);
        CHECK_FALSE(volume->close(file.value()).is_error());
    }
    // A device whose flush fails: sync says so.
    FailingDevice device(pristine);
    REQUIRE_FALSE(volume->mount(device).is_error());
    device.flush_fails = true;
    CHECK(volume->sync().error() == Error::IoError);
}

TEST_CASE("fat: broken long-name sequences fall back to the 8.3 name", "[fat]")
{
    TempFolder folder;
    std::string image = make_image(folder, kFat16);
    MemoryDevice device(read_host_file(image));
    Layout layout {};
    {
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        layout = volume->layout();
    }
    // The fixed root directory of FAT16: long-name pieces, then a short entry "FILE.TXT".
    uint8_t* root = &device.image[layout.root_directory_sector * 512ul];
    uint8_t short_name[11] = { 'F', 'I', 'L', 'E', ' ', ' ', ' ', ' ', 'T', 'X', 'T' };
    uint8_t checksum = short_name_checksum(short_name);
    auto long_piece = [&](uint8_t* slot, uint8_t order, uint8_t sum) {
        std::memset(slot, 0, 32);
        slot[0] = order;
        slot[11] = kAttributeLongName;
        slot[13] = sum;
        const size_t at[] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
        for (size_t i = 0; i < 13; ++i)
            store16(slot + at[i], static_cast<uint16_t>('a' + i));
    };
    auto short_entry = [&](uint8_t* slot) {
        std::memset(slot, 0, 32);
        std::memcpy(slot, short_name, 11);
        slot[11] = kAttributeArchive;
    };
    auto first_name = [&]() {
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        uint32_t cookie = 0;
        Entry entry {};
        auto listed = volume->list("/", 1, cookie, entry);
        REQUIRE_FALSE(listed.is_error());
        REQUIRE(listed.value());
        return std::string(entry.name);
    };
    // A complete one-piece name: read.
    long_piece(root, 0x41, checksum);
    short_entry(root + 32);
    CHECK(first_name() == "abcdefghijklm");
    // A piece of order 0 after a complete name (0x20: neither free nor the end).
    long_piece(root + 32, 0x20, checksum);
    short_entry(root + 64);
    CHECK(first_name() == "FILE.TXT");
    // The wrong checksum, a piece out of order, a start beyond 20 pieces.
    long_piece(root, 0x41, static_cast<uint8_t>(checksum + 1));
    short_entry(root + 32);
    CHECK(first_name() == "FILE.TXT");
    long_piece(root, 0x42, checksum);
    long_piece(root + 32, 0x03, checksum);
    short_entry(root + 64);
    CHECK(first_name() == "FILE.TXT");
    long_piece(root, 0x40 | 21, checksum);
    short_entry(root + 32);
    CHECK(first_name() == "FILE.TXT");
}

TEST_CASE("fat: looping and broken chains give clear errors, never a hang", "[fat]")
{
    for (const Format& format : { kFat32, kFat16 }) {
        INFO(format.name);
        TempFolder folder;
        std::string image = make_image(folder, format);
        write_host_file(folder / "big", pattern_bytes(50 * 1024, 5));
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "big" + "' ::BIG.BIN") == 0);
        REQUIRE(run("mmd -i '" + image + "' ::DIR") == 0);
        // More entries than one cluster of DIR holds (16 on FAT32 here, 128 on FAT16):
        // no end marker in its first cluster.
        REQUIRE(run("mkdir '" + folder / "many" + "'") == 0);
        for (int i = 0; i < 140; ++i)
            write_host_file(folder / ("many/F" + std::to_string(i)), std::to_string(i));
        REQUIRE(run("mcopy -i '" + image + "' '" + folder / "many" + "'/* ::DIR/") == 0);
        auto pristine = read_host_file(image);

        // Where BIG.BIN and DIR start, as the library sees them.
        uint32_t file_cluster = 0, directory_cluster = 0;
        Layout layout {};
        {
            MemoryDevice device(pristine);
            auto volume = std::make_unique<Volume>();
            REQUIRE_FALSE(volume->mount(device).is_error());
            layout = volume->layout();
            file_cluster = volume->stat("/BIG.BIN", 8).value().first_cluster;
            directory_cluster = volume->stat("/DIR", 4).value().first_cluster;
        }
        auto set_entry = [&](std::vector<uint8_t>& bytes, uint32_t cluster, uint32_t value) {
            for (uint32_t copy = 0; copy < layout.fat_count; ++copy) {
                size_t at = (layout.first_fat_sector + copy * layout.sectors_per_fat) * 512ul;
                if (layout.type == FatType::Fat32)
                    store32(&bytes[at + cluster * 4], value);
                else
                    store16(&bytes[at + cluster * 2], static_cast<uint16_t>(value));
            }
        };
        auto open_error = [&](auto&& corrupt, const char* path) {
            MemoryDevice device(pristine);
            corrupt(device.image);
            auto volume = std::make_unique<Volume>();
            REQUIRE_FALSE(volume->mount(device).is_error());
            auto file = volume->open(path, std::strlen(path));
            return file.is_error() ? file.error() : Error {};
        };
        // The file's second cluster points back at its first.
        uint32_t second = file_cluster + 1;
        CHECK(open_error([&](auto& b) { set_entry(b, second, file_cluster); }, "/BIG.BIN") == Error::ChainLoop);
        CHECK(open_error([&](auto& b) { set_entry(b, file_cluster, file_cluster); }, "/BIG.BIN") == Error::ChainLoop);
        CHECK(open_error([&](auto& b) { set_entry(b, second, layout.cluster_count + 2); }, "/BIG.BIN") == Error::CorruptChain);
        CHECK(open_error([&](auto& b) { set_entry(b, second, 0); }, "/BIG.BIN") == Error::CorruptChain); // a free cluster
        CHECK(open_error([&](auto& b) { set_entry(b, file_cluster, 0x0FFFFFFF); }, "/BIG.BIN") == Error::CorruptChain); // too short

        // A directory whose first (full) cluster points at itself: finding,
        // creating and listing in it end with an error once the walk passes
        // the 65536 entries a directory may have.
        MemoryDevice device(pristine);
        set_entry(device.image, directory_cluster, directory_cluster);
        auto volume = std::make_unique<Volume>();
        REQUIRE_FALSE(volume->mount(device).is_error());
        CHECK(volume->open("/DIR/NEW", 8).error() == Error::ChainLoop);
        CHECK(volume->create("/DIR/NEW", 8, false).error() == Error::ChainLoop);
        uint32_t cookie = 0;
        Entry entry {};
        REQUIRE(volume->list("/DIR", 4, cookie, entry).value()); // the first entries are there
        cookie = kMaxDirectorySlots - 1; // the last slot a directory may have is an entry, then the loop shows
        auto listed = volume->list("/DIR", 4, cookie, entry);
        REQUIRE_FALSE(listed.is_error());
        CHECK(cookie == kMaxDirectorySlots);
        listed = volume->list("/DIR", 4, cookie, entry);
        REQUIRE(listed.is_error());
        CHECK(listed.error() == Error::ChainLoop);
        // And the pristine directory lists all 140.
        MemoryDevice good(pristine);
        REQUIRE_FALSE(volume->mount(good).is_error());
        CHECK(list_names(*volume, "/DIR").size() == 140);
    }
}

TEST_CASE("fat: FileService serves the file protocol from a volume", "[fat]")
{
    namespace file = ipc::file;
    using ipc::testing::FakeTransport;
    using ipc::testing::dispatching;
    TempFolder folder;
    std::string image = make_image(folder, kFat16);
    std::string text = pattern_bytes(10000, 9);
    write_host_file(folder / "text", text);
    REQUIRE(run("mcopy -i '" + image + "' '" + folder / "text" + "' ::TEXT.BIN") == 0);
    MemoryDevice device(read_host_file(image));
    auto volume = std::make_unique<Volume>();
    REQUIRE_FALSE(volume->mount(device).is_error());
    auto service = std::make_unique<FileService>(*volume);
    FakeTransport alice_side(dispatching<file::Protocol>(*service), 0xA11CE);
    FakeTransport bob_side(dispatching<file::Protocol>(*service), 0xB0B);
    ipc::Client<file::Protocol> alice(alice_side, 5);
    ipc::Client<file::Protocol> bob(bob_side, 5);
    auto path = [](const char* text) { return file::path_bytes(text).value(); };

    // Open and read it in payload-sized pieces.
    auto opened = alice.call<file::Open>(path("/text.bin"));
    REQUIRE_FALSE(opened.is_error());
    CHECK(opened.value().size == text.size());
    std::string back;
    for (uint64_t offset = 0;;) {
        auto bytes = alice.call<file::Read>({ opened.value().file, offset, ipc::kMaxPayload });
        REQUIRE_FALSE(bytes.is_error());
        if (bytes.value().length == 0)
            break;
        back.append(reinterpret_cast<const char*>(bytes.value().data), bytes.value().length);
        offset += bytes.value().length;
    }
    CHECK(back == text);
    CHECK(alice.call<file::Read>({ opened.value().file, 0, ipc::kMaxPayload + 1 }).error() == ipc::Error::InvalidRequest);
    CHECK(alice.call<file::Read>({ opened.value().file, 1ull << 40, 10 }).value().length == 0);
    // Another client's id is no file of its own.
    CHECK(bob.call<file::Read>({ opened.value().file, 0, 10 }).error() == file::kBadFile);
    CHECK(bob.call<file::Close>({ opened.value().file }).error() == file::kBadFile);
    CHECK(alice.call<file::Delete>(path("/TEXT.BIN")).error() == file::kBusy);
    REQUIRE_FALSE(alice.call<file::Close>({ opened.value().file }).is_error());
    CHECK(alice.call<file::Close>({ opened.value().file }).error() == file::kBadFile);
    CHECK(service->open_files() == 0);

    // Create, write, stat, list, delete, sync.
    REQUIRE_FALSE(bob.call<file::Create>({ { file::kDirectory }, path("/logs") }).is_error());
    REQUIRE_FALSE(bob.call<file::Create>({ { file::kFile }, path("/logs/today.txt") }).is_error());
    CHECK(bob.call<file::Create>({ { 7 }, path("/x") }).error() == ipc::Error::InvalidRequest);
    CHECK(bob.call<file::Create>({ { file::kFile }, path("/a long name") }).error() == file::kBadName);
    CHECK(bob.call<file::Create>({ { file::kFile }, path("/logs/TODAY.TXT") }).error() == file::kAlreadyExists);
    auto log = bob.call<file::Open>(path("/logs/today.txt"));
    REQUIRE_FALSE(log.is_error());
    std::string line = "written through the protocol\n";
    auto written = bob.call<file::Write>({ { log.value().file, 0 }, ipc::Bytes { reinterpret_cast<const uint8_t*>(line.data()), static_cast<uint32_t>(line.size()) } });
    REQUIRE_FALSE(written.is_error());
    CHECK(written.value().written == line.size());
    CHECK(bob.call<file::Write>({ { log.value().file, 1ull << 33 }, ipc::Bytes { reinterpret_cast<const uint8_t*>("x"), 1 } }).error() == file::kTooLarge);
    REQUIRE_FALSE(bob.call<file::Truncate>({ log.value().file, 8 }).is_error());
    auto stat = bob.call<file::Stat>(path("/logs/today.txt"));
    REQUIRE_FALSE(stat.is_error());
    CHECK(stat.value().size == 8);
    CHECK(stat.value().is_directory == 0);
    CHECK(bob.call<file::Stat>(path("/logs")).value().is_directory == 1);
    CHECK(bob.call<file::Stat>(path("/none")).error() == ipc::Error::NotFound);
    CHECK(bob.call<file::Open>(path("/logs")).error() == file::kIsADirectory);
    REQUIRE_FALSE(bob.call<file::Close>({ log.value().file }).is_error());

    // List pages: many entries take more than one page; every name comes once.
    for (int i = 0; i < 400; ++i) {
        std::string name = "/logs/F" + std::to_string(i);
        REQUIRE_FALSE(bob.call<file::Create>({ { file::kFile }, path(name.c_str()) }).is_error());
    }
    std::vector<std::string> names;
    uint64_t cookie = 0;
    int pages = 0;
    for (;; ++pages) {
        REQUIRE(pages < 100);
        auto page = alice.call<file::List>({ { cookie }, path("/logs") });
        REQUIRE_FALSE(page.is_error());
        file::ListReader reader(page.value().bytes);
        file::ListEntryHeader header {};
        const char* name = nullptr;
        while (reader.next(header, name))
            names.emplace_back(name, header.name_length);
        CHECK_FALSE(reader.malformed());
        cookie = page.value().fixed.next_cookie;
        if (page.value().fixed.at_end)
            break;
    }
    CHECK(pages >= 1); // 401 entries of 10 to 17 bytes: more than one 4096-byte page
    CHECK(names.size() == 401);
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    CHECK(contains(names, "today.txt"));
    CHECK(contains(names, "F399"));
    CHECK(alice.call<file::List>({ { 0 }, path("/TEXT.BIN") }).error() == file::kNotADirectory);

    REQUIRE_FALSE(alice.call<file::Delete>(path("/TEXT.BIN")).is_error());
    CHECK(alice.call<file::Delete>(path("/logs")).error() == file::kNotEmpty);
    REQUIRE_FALSE(alice.call<file::Sync>({}).is_error());

    // The volume the service wrote is clean for fsck.fat.
    write_host_file(folder / "after.img", std::string(device.image.begin(), device.image.end()));
    require_clean(folder / "after.img");
    CHECK(output_of("mtype -i '" + folder / "after.img" + "' ::logs/today.txt") == line.substr(0, 8));

    // Info: the volume's type and clusters.
    auto info = alice.call<file::Info>({});
    REQUIRE_FALSE(info.is_error());
    CHECK(info.value().fat_bits == 16);
    CHECK(info.value().bytes_per_cluster == volume->info().bytes_per_cluster);
    CHECK(info.value().free_clusters == volume->info().free_clusters);

    // Who asks: a handle nobody badged is refused; each client gets at most
    // kMaxOpenPerClient open files, and another client still gets its own.
    FakeTransport nobody_side(dispatching<file::Protocol>(*service), 0);
    ipc::Client<file::Protocol> nobody(nobody_side, 5);
    CHECK(nobody.call<file::Open>(path("/logs/today.txt")).error() == ipc::Error::Denied);
    CHECK(nobody.call<file::Stat>(path("/logs")).error() == ipc::Error::Denied);
    CHECK(nobody.call<file::Info>({}).error() == ipc::Error::Denied);
    std::vector<uint64_t> held;
    for (size_t i = 0; i < FileService::kMaxOpenPerClient; ++i) {
        auto one = alice.call<file::Open>(path("/logs/today.txt"));
        REQUIRE_FALSE(one.is_error());
        held.push_back(one.value().file);
    }
    CHECK(alice.call<file::Open>(path("/logs/today.txt")).error() == file::kClientLimit);
    auto bobs = bob.call<file::Open>(path("/logs/today.txt"));
    REQUIRE_FALSE(bobs.is_error());
    CHECK(service->open_files_of(0xA11CE) == FileService::kMaxOpenPerClient);
    service->forget_client(0xA11CE); // what a client that ended left open
    CHECK(service->open_files_of(0xA11CE) == 0);
    CHECK(alice.call<file::Read>({ held[0], 0, 1 }).error() == file::kBadFile);
    CHECK_FALSE(alice.call<file::Open>(path("/logs/today.txt")).is_error());
    service->forget_client(0xA11CE);
    REQUIRE_FALSE(bob.call<file::Close>({ bobs.value().file }).is_error());
    CHECK(service->open_files() == 0);

    // Errors map one to one where the protocol has a word for them.
    CHECK(to_ipc_error(Error::ChainLoop) == file::kCorrupt);
    CHECK(to_ipc_error(Error::NoSpace) == file::kNoSpace);
    CHECK(to_ipc_error(Error::DirectoryFull) == file::kNoSpace);
    CHECK(to_ipc_error(Error::IoError) == file::kIoError);
    CHECK(to_ipc_error(Error::NotMounted) == file::kNoVolume);
}

TEST_CASE("fat: FileService closes what ended clients left open when a table is full", "[fat]")
{
    namespace file = ipc::file;
    using ipc::testing::FakeTransport;
    using ipc::testing::dispatching;
    struct Clients final : FileService::Clients {
        std::set<ipc::Badge> running_now;
        int asked = 0;
        bool running(ipc::Badge badge) override
        {
            ++asked;
            return running_now.count(badge) != 0;
        }
    } clients;
    TempFolder folder;
    std::string image = make_image(folder, kFat16);
    for (int i = 0; i < 20; ++i)
        REQUIRE(run("echo " + std::to_string(i) + " | mcopy -i '" + image + "' - ::F" + std::to_string(i) + ".TXT") == 0);
    MemoryDevice device(read_host_file(image));
    auto volume = std::make_unique<Volume>();
    REQUIRE_FALSE(volume->mount(device).is_error());
    auto service = std::make_unique<FileService>(*volume, &clients);
    std::vector<std::string> names;
    for (int i = 0; i < 20; ++i)
        names.push_back("/F" + std::to_string(i) + ".TXT");
    auto path = [&names](int i) { return file::path_bytes(names[i].c_str()).value(); }; // the bytes stay in names

    // Clients 1, 2, 3... each open kMaxOpenPerClient files (distinct ones:
    // the volume's 16 fill up too) and end without closing them.
    int opened = 0;
    for (ipc::Badge client = 1; client <= 8; ++client) {
        clients.running_now = { client };
        FakeTransport side(dispatching<file::Protocol>(*service), client);
        ipc::Client<file::Protocol> files(side, 5);
        for (size_t i = 0; i < FileService::kMaxOpenPerClient; ++i) {
            auto one = files.call<file::Open>(path(opened++ % 20));
            INFO("client " << client << " file " << i);
            REQUIRE_FALSE(one.is_error());
        }
        CHECK(service->open_files_of(client) == FileService::kMaxOpenPerClient);
    }
    CHECK(clients.asked > 0); // the tables filled, and the ended clients' files were closed
    CHECK(service->open_files() <= Volume::kMaxOpenFiles);

    // A client that still runs keeps its files; every ended one is forgotten.
    clients.running_now = { 8 };
    (void)service->forget_ended_clients();
    CHECK(service->open_files_of(8) == FileService::kMaxOpenPerClient);
    CHECK(service->open_files() == FileService::kMaxOpenPerClient);
    CHECK(service->forget_ended_clients() == 0);

    // Without one more check: with no task list, the ninth client is
    // refused once the tables are full (what happened before).
    FileService blind_service(*volume);
    int refusals = 0;
    for (ipc::Badge client = 20; client <= 27; ++client) {
        FakeTransport side(dispatching<file::Protocol>(blind_service), client);
        ipc::Client<file::Protocol> files(side, 5);
        for (size_t i = 0; i < FileService::kMaxOpenPerClient; ++i)
            refusals += files.call<file::Open>(path(opened++ % 20)).is_error();
    }
    CHECK(refusals > 0);

    // Without a task list nothing is forgotten.
    FileService blind(*volume);
    CHECK(blind.forget_ended_clients() == 0);
}

#ifdef HERALD_DISK_IMAGE
TEST_CASE("fat: the build's disk image holds its programs and files, byte for byte", "[fat]")
{
    // HERALD_DISK_IMAGE.contents: "name host-path" a line (cmake/HeraldDisk.cmake).
    std::string image = HERALD_DISK_IMAGE;
    FILE* list = std::fopen((image + ".contents").c_str(), "r");
    REQUIRE(list);
    std::vector<std::pair<std::string, std::string>> contents;
    char name[256], path[4096];
    while (std::fscanf(list, "%255s %4095s", name, path) == 2)
        contents.emplace_back(name, path);
    std::fclose(list);
    REQUIRE(contents.size() >= 2);

    require_clean(image);
    MemoryDevice device(read_host_file(image)); // a copy: the build's image stays as it is
    auto volume = std::make_unique<Volume>();
    REQUIRE_FALSE(volume->mount(device).is_error());
    CHECK(volume->info().type == FatType::Fat32);
    auto names = list_names(*volume, "/");
    CHECK(names.size() == contents.size());
    for (const auto& [file_name, host_path] : contents) {
        INFO(file_name);
        CHECK(contains(names, file_name));
        auto expected = read_host_file(host_path);
        CHECK(read_all(*volume, "/" + file_name, 4096) == std::string(expected.begin(), expected.end()));
    }
}
#endif
