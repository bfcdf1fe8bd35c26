// bench_disk: reads through the block protocol, from the virtio-blk driver
// (tests/bench/bench_runner.cpp, figures disk_read_sequential and
// disk_read_random_4k; docs/benchmarks.md). The driver serves it only in
// the benchmark image, which starts the driver with kServeTestClients
// (servers/virtio-blk/client_policy.hpp).
//
// Parameter: the mode in bits 0-7, the number of reads in bits 8 and up.
//   1 sequential  reads of kBlockSectors (4 KiB, the protocol's most) one
//                 after another from sector 0, wrapping at the disk's end
//   2 random      reads of 4 KiB at 4 KiB-aligned places drawn from a fixed
//                 sequence (the same on every run), over the whole disk
// One request at a time (queue depth 1). Inside the probe's window; exits
// with the ticks all the reads took, or kNoDriver (the driver never
// published itself: no disk), kNoInfo, kReadFailed, kBadMode (each negative).
#include "bench_common.hpp"
#include "libipc/protocols/block.hpp"
#include "libipc/protocols/registry.hpp"
#include "user/runtime/herald.hpp"

namespace {

namespace abi = herald::abi;
namespace user = herald::user;
namespace block = ipc::block;

constexpr uint64_t kModeSequential = 1;
constexpr uint64_t kModeRandom = 2;
constexpr uint64_t kBlockSectors = block::kMaxSectors; // 8 x 512 bytes: 4 KiB
constexpr uint32_t kPatienceMs = 10'000;               // for the driver to publish itself
constexpr int64_t kNoDriver = -2;
constexpr int64_t kNoInfo = -3;
constexpr int64_t kReadFailed = -4;
constexpr int64_t kBadMode = -5;

// A 64-bit LCG (Knuth's MMIX constants): the same places on every run.
uint64_t next_random(uint64_t& state)
{
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 16;
}

} // namespace

extern "C" int64_t herald_main(uint64_t parameter)
{
    uint64_t mode = parameter & 0xFF;
    uint64_t reads = parameter >> 8;
    if (mode != kModeSequential && mode != kModeRandom)
        return kBadMode;
    auto driver = ipc::registry::lookup_waiting(user::ipc(), abi::HandleRegistry, "virtio-blk", kPatienceMs);
    if (driver.is_error())
        return kNoDriver;
    ipc::Client<block::Protocol> disk(user::ipc(), driver.value());
    auto info = disk.call<block::Info>({});
    if (info.is_error() || info.value().sectors < kBlockSectors)
        return kNoInfo;
    uint64_t blocks = info.value().sectors / kBlockSectors;
    uint64_t state = 0x5EED;
    ::bench::window_begin();
    uint64_t start = ::bench::cycles();
    for (uint64_t i = 0; i < reads; ++i) {
        uint64_t block_index = mode == kModeSequential ? i % blocks : next_random(state) % blocks;
        auto bytes = disk.call<block::Read>({ block_index * kBlockSectors, kBlockSectors });
        if (bytes.is_error() || bytes.value().length != kBlockSectors * block::kSectorSize) {
            ::bench::window_end(i);
            user::println("bench_disk: read {} failed: {}", i, bytes.is_error() ? ipc::error_name(bytes.error()) : "short");
            return kReadFailed;
        }
    }
    uint64_t elapsed = ::bench::cycles() - start;
    ::bench::window_end(reads);
    return static_cast<int64_t>(elapsed);
}
