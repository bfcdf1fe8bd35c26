// Block: what a block-device driver answers (servers/virtio-blk; docs/drivers.md,
// "The block protocol"). Sectors are 512 bytes; one request moves at most
// kMaxSectors of them (4096 bytes: one IPC payload, microkernel/abi/ipc.hpp
// kMaxPayload).
//
//   Info     {}                 -> sectors, sector size, the most sectors per
//                                  request, flags (kFlagReadOnly, kFlagCanFlush)
//   Read     sector, count      -> the bytes (count x 512) in the payload
//   Write    sector + bytes     -> {}: bytes a multiple of 512, at most 4096
//   Flush    {}                 -> {} once what was written is on the medium
//
// Errors: InvalidRequest (count 0 or above kMaxSectors, bytes not whole
// sectors, a range past the end); kIoError (the device said so); kReadOnly;
// kBusy (every request slot of the driver is in flight: try again).
//
// A driver answers a request when the device completes it: several may be
// in flight, from several clients, and complete in any order. A driver that
// ends with requests in flight leaves their callers with PeerGone.
//
// Every operation is idempotent (ipc::ReconnectingClient sends it again to a
// restarted driver): a read or Info asks, a flush of nothing new is a no-op,
// and a write of the same bytes to the same sectors leaves the disk as one
// write does, whether or not the first reached the medium before its driver
// ended (the one client, servers/fat, waits for each write's answer).
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"

namespace ipc::block {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kMaxSectors = 8; // 4096 bytes

inline constexpr uint64_t kFlagReadOnly = 1u << 0;
inline constexpr uint64_t kFlagCanFlush = 1u << 1;

struct Info {
    static constexpr uint32_t label = 1;
    static constexpr bool idempotent = true;
    using Request = Empty;
    struct Reply {
        uint64_t sectors;
        uint64_t sector_size;
        uint64_t max_sectors;
        uint64_t flags;
    };
};

struct Read {
    static constexpr uint32_t label = 2;
    static constexpr bool idempotent = true;
    struct Request {
        uint64_t sector;
        uint64_t count;
    };
    using Reply = Bytes;
};

struct Write {
    static constexpr uint32_t label = 3;
    static constexpr bool idempotent = true;
    struct Where {
        uint64_t sector;
    };
    using Request = WithBytes<Where>;
    using Reply = Empty;
};

struct Flush {
    static constexpr uint32_t label = 4;
    static constexpr bool idempotent = true;
    using Request = Empty;
    using Reply = Empty;
};

using Protocol = ipc::Protocol<Info, Read, Write, Flush>;
static_assert(Protocol::is_valid);

inline constexpr Error kIoError = protocol_error(0);
inline constexpr Error kReadOnly = protocol_error(1);
inline constexpr Error kBusy = protocol_error(2);

} // namespace ipc::block
