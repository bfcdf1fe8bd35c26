// BlockClient: the FAT library's BlockDevice (block_device.hpp) as a client
// of the block protocol (libipc/protocols/block.hpp), that is of the
// virtio-blk driver (docs/storage.md, "The FAT server").
//
// Requests carry at most kMaxSectors (8) sectors: longer reads and writes
// are cut into pieces. The library asks for one sector at a time (its
// sector cache), and each request to the driver costs a round trip that,
// today, waits for the driver's 5 ms poll (docs/drivers.md): so a read of
// one sector fetches kReadAhead sectors and keeps them, and the next reads
// that fall inside them are answered from here. A write updates the kept
// copy, so that it never goes stale. kBusy (every slot of the driver in
// flight) is tried again a few times.
//
// It reaches the driver by name (ipc::ReconnectingClient): when the driver
// ends (init restarts it: docs/reliability.md, "The disk driver"), the
// request that met PeerGone is sent again to the new one, which the
// registry names within kReconnectPatienceMs; every block operation is
// idempotent (libipc/protocols/block.hpp).
//
// Portable: it talks through an ipc::Transport, so the host tests can put
// a fake driver behind it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "block_device.hpp"
#include "libipc/protocols/block.hpp"
#include "libipc/reconnecting_client.hpp"

namespace herald::fat {

class BlockClient final : public BlockDevice {
public:
    static constexpr uint32_t kReadAhead = ipc::block::kMaxSectors;
    static constexpr uint32_t kBusyTries = 100;

    // `driver`: the handle found under `name` already (the client's from now on).
    BlockClient(ipc::Transport& transport, ipc::Handle registry, const char* name, ipc::Handle driver)
        : m_transport(&transport)
        , m_driver(transport, registry, name)
    {
        m_driver.adopt(driver);
    }

    // Asks the driver for its geometry; false if it does not answer, or
    // its sectors are not the protocol's 512 bytes.
    ipc::Result<void> connect();

    uint32_t sector_size() const override { return static_cast<uint32_t>(ipc::block::kSectorSize); }
    uint64_t sector_count() const override { return m_sectors; }
    bool read_only() const { return m_flags & ipc::block::kFlagReadOnly; }
    Result<void> read(uint64_t first, uint32_t count, uint8_t* buffer) override;
    Result<void> write(uint64_t first, uint32_t count, const uint8_t* buffer) override;
    Result<void> flush() override;

    // Requests sent to the driver so far (the bench and the tests).
    uint64_t requests() const { return m_requests; }
    // How many times the driver was found again after it ended.
    uint32_t reconnects() const { return m_driver.reconnects(); }

private:
    Result<void> read_from_driver(uint64_t first, uint32_t count, uint8_t* buffer);
    bool kept(uint64_t sector) const { return m_kept_count && sector >= m_kept_first && sector - m_kept_first < m_kept_count; }

    ipc::Transport* m_transport;
    ipc::ReconnectingClient<ipc::block::Protocol> m_driver;
    uint64_t m_sectors { 0 };
    uint64_t m_flags { 0 };
    uint64_t m_requests { 0 };
    uint64_t m_kept_first { 0 };
    uint32_t m_kept_count { 0 };
    uint8_t m_kept[kReadAhead * ipc::block::kSectorSize] {};
};

} // namespace herald::fat
