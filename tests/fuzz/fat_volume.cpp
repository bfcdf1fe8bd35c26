// Fuzzes the FAT library (servers/fat): mounting an arbitrary image, then
// listing every directory (a few levels down), opening, stating and reading
// every file, and writing, truncating and deleting a file of its own, as the
// FAT server will do with a disk it is given. Whatever the image, every
// call returns a value or an Error; reads return no more than asked and the
// file holds; what a successful write wrote reads back.
//
// Input: a sparse image, so that a seed of a 40 MiB FAT32 volume is a few
// KiB: a u32 device size in sectors (kept within kMaxSectors), then records
// of a u32 sector number (modulo the size) and that sector's 512 bytes (the
// last record may be short). Sectors no record names read as zeros.
// tests/fuzz/make-fat-seeds.py writes seeds in this form from images made
// by mkfs.fat and mcopy.
#include "fuzz.hpp"
#include "servers/fat/fat_volume.hpp"

#include <array>
#include <map>
#include <memory>
#include <string>

using namespace herald::fat;
namespace fuzz = herald::fuzz;

namespace {

constexpr uint32_t kSectorSize = 512;
constexpr uint64_t kMaxSectors = 1 << 17; // 64 MiB: room for a FAT32 volume
constexpr int kMaxDepth = 3;
constexpr int kMaxEntriesPerDirectory = 40;
constexpr uint32_t kMaxBytesPerFile = 64 * 1024;

class SparseDevice final : public BlockDevice {
public:
    explicit SparseDevice(uint64_t sectors) : m_sectors(sectors) { }
    uint32_t sector_size() const override { return kSectorSize; }
    uint64_t sector_count() const override { return m_sectors; }
    Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer) override
    {
        FUZZ_CHECK(first + count <= m_sectors); // the cache checks before asking
        for (uint32_t i = 0; i < count; ++i) {
            auto found = m_data.find(first + i);
            if (found == m_data.end())
                std::memset(buffer + i * kSectorSize, 0, kSectorSize);
            else
                std::memcpy(buffer + i * kSectorSize, found->second.data(), kSectorSize);
        }
        return {};
    }
    Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer) override
    {
        FUZZ_CHECK(first + count <= m_sectors);
        for (uint32_t i = 0; i < count; ++i)
            std::memcpy(m_data[first + i].data(), buffer + i * kSectorSize, kSectorSize);
        return {};
    }
    std::array<uint8_t, kSectorSize>& sector(uint64_t number) { return m_data[number]; }

private:
    uint64_t m_sectors;
    std::map<uint64_t, std::array<uint8_t, kSectorSize>> m_data;
};

void read_file(Volume& volume, const std::string& path)
{
    auto stat = volume.stat(path.data(), path.size());
    auto file = volume.open(path.data(), path.size());
    if (file.is_error())
        return;
    FUZZ_CHECK(!stat.is_error());
    uint8_t buffer[4096];
    uint32_t offset = 0;
    while (offset < kMaxBytesPerFile) {
        auto count = volume.read(file.value(), offset, buffer, sizeof buffer);
        if (count.is_error() || count.value() == 0)
            break;
        FUZZ_CHECK(count.value() <= sizeof buffer);
        FUZZ_CHECK(offset + count.value() <= stat.value().size);
        offset += count.value();
    }
    FUZZ_CHECK(!volume.close(file.value()).is_error());
}

void walk(Volume& volume, const std::string& directory, int depth)
{
    uint32_t cookie = 0;
    for (int i = 0; i < kMaxEntriesPerDirectory; ++i) {
        Entry entry {};
        uint32_t before = cookie;
        auto more = volume.list(directory.data(), directory.size(), cookie, entry);
        if (more.is_error() || !more.value())
            return;
        FUZZ_CHECK(cookie > before);
        FUZZ_CHECK(fuzz::terminated(entry.name, sizeof entry.name));
        std::string path = directory + "/" + entry.name;
        if (path.size() > Volume::kMaxPathLength)
            continue;
        if (entry.is_directory()) {
            if (depth < kMaxDepth)
                walk(volume, path, depth + 1);
        } else {
            read_file(volume, path);
        }
    }
}

// A file of the fuzzer's own: what a successful write wrote must read back.
void write_file(Volume& volume)
{
    const char path[] = "/FUZZ.TXT";
    if (volume.create(path, sizeof path - 1, false).is_error())
        return;
    auto file = volume.open(path, sizeof path - 1);
    if (file.is_error())
        return;
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; ++i)
        data[i] = static_cast<uint8_t>(i * 7);
    auto written = volume.write(file.value(), 100, data, sizeof data);
    if (!written.is_error()) {
        FUZZ_CHECK(written.value() == sizeof data);
        uint8_t back[sizeof data];
        auto count = volume.read(file.value(), 100, back, sizeof back);
        if (!count.is_error()) {
            FUZZ_CHECK(count.value() == sizeof back);
            FUZZ_CHECK(std::memcmp(back, data, sizeof back) == 0);
        }
        (void)volume.truncate(file.value(), 50);
    }
    (void)volume.close(file.value());
    (void)volume.remove(path, sizeof path - 1);
    (void)volume.sync();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    uint64_t sectors = fuzz::load<uint32_t>(data, size, 0) % kMaxSectors;
    if (sectors == 0)
        sectors = 1;
    SparseDevice device(sectors);
    for (size_t at = 4; at + 4 < size; at += 4 + kSectorSize) {
        uint64_t number = fuzz::load<uint32_t>(data, size, at) % sectors;
        size_t length = std::min<size_t>(kSectorSize, size - at - 4);
        auto& sector = device.sector(number);
        std::memset(sector.data(), 0, kSectorSize);
        std::memcpy(sector.data(), data + at + 4, length);
    }
    auto volume = std::make_unique<Volume>();
    if (volume->mount(device).is_error())
        return 0;
    walk(*volume, "", 0);
    write_file(*volume);
    return 0;
}
