// BlockDevice: what the FAT library needs of a disk (servers/fat,
// docs/storage.md). A disk is a row of equal sectors, numbered from 0; the
// library reads and writes whole sectors and asks for a flush at sync.
//
// Implementations: the host tests' file and memory devices; the FAT
// server's client of the block protocol (block_client.hpp, virtio-blk). Reads and writes of
// sectors at or past sector_count() are the caller's bug, but an
// implementation still refuses them (Error::OutOfRange) rather than trust
// it. Not pure virtual (ring-3 programs have no __cxa_pure_virtual): the
// defaults refuse.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fat_error.hpp"

namespace herald::fat {

class BlockDevice {
public:
    // Bytes per sector: 512, 1024, 2048 or 4096.
    virtual uint32_t sector_size() const { return 512; }
    virtual uint64_t sector_count() const { return 0; }
    // Reads `count` sectors from `first` into `buffer` (count * sector_size() bytes).
    virtual Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer)
    {
        (void)first, (void)count, (void)buffer;
        return Error::IoError;
    }
    // Writes `count` sectors at `first` from `buffer`.
    virtual Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer)
    {
        (void)first, (void)count, (void)buffer;
        return Error::IoError;
    }
    // Makes every write so far durable.
    virtual Result<void> flush() { return {}; }

protected:
    ~BlockDevice() = default;
};

} // namespace herald::fat
