// virtio_blk::Driver: the block protocol (libipc/protocols/block.hpp) on a
// virtio-blk device's request queue (Virtual I/O Device (VIRTIO) 1.1, §5.2),
// portable: the queue is a virtio::SplitQueue over DMA memory the caller
// gives, the device is told through a callback, and requests are
// identified by a token the caller chooses (the server's saved reply).
// Host-tested against a device the test plays (blk_test.cpp); the server
// (main.cpp) adds the PCI, DMA, interrupt and IPC around it.
//
// Each request in flight has a slot: a 16-byte header, a data page and a
// status byte in the DMA memory, and a chain of three descriptors (two for
// a flush): header (device reads), data (device writes for a read, reads
// for a write), status (device writes). kSlots requests may be in flight
// at once, from any clients, and complete in any order.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/protocols/block.hpp"
#include "libvirtio/virtqueue.hpp"

namespace virtio_blk {

// §5.2.6: struct virtio_blk_req's header, and its types and statuses.
struct RequestHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoError = 1;
inline constexpr uint8_t kStatusUnsupported = 2;
// §5.2.3: feature bits.
inline constexpr uint64_t kFeatureReadOnly = 1ull << 5; // VIRTIO_BLK_F_RO
inline constexpr uint64_t kFeatureFlush = 1ull << 9;    // VIRTIO_BLK_F_FLUSH
inline constexpr uint64_t kPage = 4096;

class Driver {
public:
    static constexpr size_t kSlots = 16;
    // DMA memory the slots need after the queue's: one data page each, and
    // one page of headers and status bytes.
    static constexpr size_t kSlotBytes = kSlots * kPage + kPage;

    using Notify = void (*)(void* context);

    // `slots`/`slots_physical`: kSlotBytes of DMA memory (page-aligned);
    // `queue`: initialized and set up on the device; `sectors`: the
    // device's capacity (its configuration's first field).
    void init(virtio::SplitQueue* queue, uint8_t* slots, uint64_t slots_physical, uint64_t sectors, uint64_t features,
        Notify notify, void* context);

    ipc::block::Info::Reply info() const;

    // Validate and submit; the token comes back with the completion.
    // InvalidRequest, kReadOnly, kBusy (no slot or no descriptors free).
    ipc::Result<ipc::Empty> start_read(const ipc::block::Read::Request& request, uint64_t token);
    ipc::Result<ipc::Empty> start_write(uint64_t sector, const uint8_t* bytes, uint64_t length, uint64_t token);
    ipc::Result<ipc::Empty> start_flush(uint64_t token);

    struct Finished {
        uint64_t token;
        uint32_t label;        // the request's: block::Read, Write or Flush
        bool ok;
        ipc::Error error;      // when not ok: kIoError, or Unsupported
        const uint8_t* data;   // a read's bytes (in the slot's page, until the next start)
        uint64_t length;       // 0 but for a read
    };
    enum class Poll { Finished, Nothing, Corrupt };
    // The next request the device completed, if any. Corrupt: the device
    // broke the queue's rules; nothing in flight can be trusted (the server
    // answers every caller kIoError and stops).
    Poll next_finished(Finished& out);

    // Every request in flight, taken back (the server gives up on the device).
    bool take_any(uint64_t& token);

    size_t in_flight() const;

private:
    struct Slot {
        bool busy;
        uint8_t kind; // Read, Write, Flush
        uint16_t head;
        uint64_t token;
        uint64_t length;
    };
    enum : uint8_t { KindRead, KindWrite, KindFlush };

    Slot* free_slot();
    ipc::Result<ipc::Empty> submit(Slot& slot, uint32_t type, uint64_t sector, uint64_t length, uint64_t token);
    RequestHeader* header_of(size_t index);
    volatile uint8_t* status_of(size_t index);

    virtio::SplitQueue* m_queue { nullptr };
    uint8_t* m_slots { nullptr };
    uint64_t m_slots_physical { 0 };
    uint64_t m_sectors { 0 };
    uint64_t m_features { 0 };
    Notify m_notify { nullptr };
    void* m_context { nullptr };
    Slot m_slot[kSlots] {};
};

} // namespace virtio_blk
