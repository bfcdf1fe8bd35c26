// The FAT library's disk over the block protocol (block_client.hpp).
#include "block_client.hpp"

namespace herald::fat {

namespace block = ipc::block;

namespace {

constexpr uint64_t kSectorSize = block::kSectorSize;

Error to_fat_error(ipc::Error error)
{
    return error == ipc::Error::InvalidRequest ? Error::OutOfRange : Error::IoError;
}

} // namespace

ipc::Result<void> BlockClient::connect()
{
    auto info = IPC_TRY(m_driver.call<block::Info>({}));
    // Requests go out kMaxSectors at a time (read_from_driver): a driver
    // that takes fewer would refuse every one of them.
    if (info.sector_size != kSectorSize || info.max_sectors < block::kMaxSectors)
        return ipc::Error::BadMessage;
    m_sectors = info.sectors;
    m_flags = info.flags;
    return {};
}

Result<void> BlockClient::read_from_driver(uint64_t first, uint32_t count, uint8_t* buffer)
{
    for (uint32_t tries = 0;; ++tries) {
        ++m_requests;
        auto bytes = m_driver.call<block::Read>({ first, count });
        if (!bytes.is_error()) {
            if (bytes.value().length != count * kSectorSize)
                return Error::IoError; // a driver that answers short is broken
            __builtin_memcpy(buffer, bytes.value().data, bytes.value().length);
            return {};
        }
        if (bytes.error() != block::kBusy || tries == kBusyTries)
            return to_fat_error(bytes.error());
        (void)m_transport->yield();
    }
}

Result<void> BlockClient::read(uint64_t first, uint32_t count, uint8_t* buffer)
{
    if (first >= m_sectors || count > m_sectors - first)
        return Error::OutOfRange;
    for (uint32_t done = 0; done < count;) {
        uint64_t sector = first + done;
        if (!kept(sector)) {
            uint64_t left = m_sectors - sector;
            uint32_t fetch = left < kReadAhead ? static_cast<uint32_t>(left) : kReadAhead;
            m_kept_count = 0; // nothing kept while the fetch may fail halfway
            FAT_TRY(read_from_driver(sector, fetch, m_kept));
            m_kept_first = sector;
            m_kept_count = fetch;
        }
        uint64_t index = sector - m_kept_first;
        uint32_t here = static_cast<uint32_t>(m_kept_count - index);
        if (here > count - done)
            here = count - done;
        __builtin_memcpy(buffer + done * kSectorSize, m_kept + index * kSectorSize, here * kSectorSize);
        done += here;
    }
    return {};
}

Result<void> BlockClient::write(uint64_t first, uint32_t count, const uint8_t* buffer)
{
    if (first >= m_sectors || count > m_sectors - first)
        return Error::OutOfRange;
    for (uint32_t done = 0; done < count;) {
        uint32_t piece = count - done < block::kMaxSectors ? count - done : static_cast<uint32_t>(block::kMaxSectors);
        const uint8_t* bytes = buffer + done * kSectorSize;
        for (uint32_t tries = 0;; ++tries) {
            ++m_requests;
            auto written = m_driver.call<block::Write>({ { first + done }, ipc::Bytes { bytes, static_cast<uint32_t>(piece * kSectorSize) } });
            if (!written.is_error())
                break;
            if (written.error() != block::kBusy || tries == kBusyTries) {
                m_kept_count = 0; // the disk may hold part of it: forget the copy
                return to_fat_error(written.error());
            }
            (void)m_transport->yield();
        }
        for (uint32_t i = 0; i < piece; ++i) { // the kept copy follows the disk
            uint64_t sector = first + done + i;
            if (kept(sector))
                __builtin_memcpy(m_kept + (sector - m_kept_first) * kSectorSize, bytes + i * kSectorSize, kSectorSize);
        }
        done += piece;
    }
    return {};
}

Result<void> BlockClient::flush()
{
    ++m_requests;
    auto flushed = m_driver.call<block::Flush>({});
    if (flushed.is_error())
        return to_fat_error(flushed.error());
    return {};
}

} // namespace herald::fat
