// blk_checks: a client of the virtio-blk driver (docs/drivers.md, "Testing
// the driver"), run by the self-test alone_virtio_blk_... with the test disk
// attached (servers/virtio-blk/test_disk.hpp: every byte known). Its
// argument is the mode:
//   1 checks   Info; reads of one to eight sectors compared with the disk's
//              pattern, the last sector; reads past the end and of nine
//              sectors refused; eight sectors written, read back, their
//              neighbours unchanged; Flush; then 3 threads, each with its
//              own IPC buffer, read 64 random sectors at once (several
//              requests in flight in the driver). Exits with the number of
//              checks that failed (each in the kernel log).
//   2 hammer   reads sector after sector until a call fails: exits 0 when
//              that failure is PeerGone (the driver was killed mid-I/O) after
//              at least one good read, 1 on a wrong byte, 2 on another error.
#include <stdint.h>

#include "libipc/protocols/block.hpp"
#include "libipc/syscall_transport.hpp"
#include "servers/virtio-blk/test_disk.hpp"
#include "user/runtime/herald.hpp"
#include "user/runtime/syscall.hpp"
#include "user/runtime/thread.hpp"

namespace {

using namespace herald;
namespace block = ipc::block;

constexpr uint64_t kModeChecks = 1;
constexpr uint64_t kModeHammer = 2;
constexpr uint64_t kThreads = 3;
constexpr uint64_t kReadsPerThread = 64;

int64_t g_failures;
ipc::Handle g_server;

void check(bool condition, const char* what)
{
    if (!condition) {
        __atomic_add_fetch(&g_failures, 1, __ATOMIC_RELAXED);
        (void)user::debug_write("blk_checks: FAILED:");
        (void)user::debug_write(what);
    }
}

// Whether `count` sectors from `sector` hold the disk's pattern.
bool pattern_at(const uint8_t* data, uint64_t sector, uint64_t count)
{
    for (uint64_t s = 0; s < count; ++s) {
        for (uint64_t i = 0; i < test_disk::kSectorSize; ++i) {
            if (data[s * test_disk::kSectorSize + i] != test_disk::byte_at(sector + s, i))
                return false;
        }
    }
    return true;
}

bool reads_pattern(ipc::Client<block::Protocol>& disk, uint64_t sector, uint64_t count)
{
    auto data = disk.call<block::Read>({ sector, count });
    return !data.is_error() && data.value().length == count * test_disk::kSectorSize
        && pattern_at(data.value().data, sector, count);
}

template<typename T>
bool is(const ipc::Result<T>& result, ipc::Error error) { return result.is_error() && result.error() == error; }

alignas(4096) uint8_t g_thread_buffers[kThreads][ipc::kMaxPayload];

int64_t reader(uint64_t n)
{
    ipc::SyscallTransport transport(g_thread_buffers[n]);
    if (transport.register_buffer().is_error())
        return 1;
    ipc::Client<block::Protocol> disk(transport, g_server);
    uint64_t state = 0x9E37'79B9 * (n + 1);
    int64_t wrong = 0;
    for (uint64_t i = 0; i < kReadsPerThread; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t count = 1 + (state >> 60) % block::kMaxSectors;
        uint64_t sector = (state >> 20) % (test_disk::kSectors - count);
        wrong += !reads_pattern(disk, sector, count);
    }
    return wrong;
}

void run_checks()
{
    ipc::Client<block::Protocol> disk(user::ipc(), g_server);
    auto info = disk.call<block::Info>({});
    check(!info.is_error() && info.value().sectors == test_disk::kSectors, "Info: the disk's 2048 sectors");
    check(!info.is_error() && info.value().sector_size == 512 && info.value().max_sectors == block::kMaxSectors,
        "Info: 512-byte sectors, 8 per request");
    check(reads_pattern(disk, 0, 1), "sector 0");
    check(reads_pattern(disk, 1, 8), "sectors 1-8");
    check(reads_pattern(disk, 777, 3), "sectors 777-779");
    check(reads_pattern(disk, test_disk::kSectors - 1, 1), "the last sector");
    check(is(disk.call<block::Read>({ test_disk::kSectors - 1, 2 }), ipc::Error::InvalidRequest), "a read past the end");
    check(is(disk.call<block::Read>({ 0, 9 }), ipc::Error::InvalidRequest), "a read of 9 sectors");
    check(is(disk.call<block::Read>({ 0, 0 }), ipc::Error::InvalidRequest), "a read of 0 sectors");

    static uint8_t written[block::kMaxSectors * test_disk::kSectorSize];
    for (uint64_t i = 0; i < sizeof(written); ++i)
        written[i] = static_cast<uint8_t>(0xA0 ^ (i * 13));
    auto wrote = disk.call<block::Write>({ { 100 }, ipc::Bytes { written, sizeof(written) } });
    check(!wrote.is_error(), "8 sectors written at 100");
    auto back = disk.call<block::Read>({ 100, 8 });
    bool same = !back.is_error() && back.value().length == sizeof(written);
    for (uint64_t i = 0; same && i < sizeof(written); ++i)
        same = back.value().data[i] == written[i];
    check(same, "the written sectors read back");
    check(reads_pattern(disk, 99, 1) && reads_pattern(disk, 108, 1), "their neighbours are unchanged");
    check(is(disk.call<block::Write>({ { 0 }, ipc::Bytes { written, 100 } }), ipc::Error::InvalidRequest),
        "a write of part of a sector");
    check(is(disk.call<block::Write>({ { test_disk::kSectors }, ipc::Bytes { written, 512 } }), ipc::Error::InvalidRequest),
        "a write past the end");
    check(!disk.call<block::Flush>({}).is_error(), "Flush");

    user::ThreadControl* threads[kThreads] = {};
    for (uint64_t n = 0; n < kThreads; ++n)
        threads[n] = user::thread_create(reader, n);
    for (uint64_t n = 0; n < kThreads; ++n) {
        int64_t wrong = -1;
        check(threads[n] && user::thread_join(threads[n], &wrong) == 0 && wrong == 0, "a reader thread read its sectors right");
    }
}

int64_t hammer()
{
    ipc::Client<block::Protocol> disk(user::ipc(), g_server);
    uint64_t good = 0;
    // Above the sectors `checks` writes (100-107), which no longer hold the pattern.
    constexpr uint64_t kFirst = 256;
    for (uint64_t sector = kFirst;; sector = sector + 16 > test_disk::kSectors ? kFirst : sector + 8) {
        auto data = disk.call<block::Read>({ sector, 8 });
        if (data.is_error()) {
            user::println("blk_checks: after {} good reads: {}", good, ipc::error_name(data.error()));
            return data.error() == ipc::Error::PeerGone && good > 0 ? 0 : 2;
        }
        if (!pattern_at(data.value().data, sector, 8))
            return 1;
        ++good;
    }
}

} // namespace

extern "C" int64_t herald_main(uint64_t mode)
{
    g_server = user::find_server("virtio-blk");
    if (g_server == abi::HandleNone) {
        user::println("blk_checks: no virtio-blk in the registry");
        return 100;
    }
    if (mode == kModeHammer)
        return hammer();
    if (mode != kModeChecks)
        return 101;
    run_checks();
    return g_failures;
}
