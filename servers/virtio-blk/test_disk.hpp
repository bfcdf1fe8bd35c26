// The test disk (docs/drivers.md, "Testing the driver"): a raw image the
// build makes with tools/mkdisk (build/virtio-test-disk.img) and the
// in-system test attaches as virtio-blk-pci; every byte is a function of its
// sector and offset, so the test (user/programs/blk_checks.cpp) knows what
// each sector must hold without reading a file. Freestanding: the host tool
// and the ring-3 program both include it.
#pragma once

#include <stdint.h>

namespace test_disk {

inline constexpr uint64_t kSectors = 2048; // 1 MiB
inline constexpr uint64_t kSectorSize = 512;

inline uint8_t byte_at(uint64_t sector, uint64_t offset)
{
    return static_cast<uint8_t>(sector * 131 + offset * 7 + (sector >> 8) + 1);
}

} // namespace test_disk
