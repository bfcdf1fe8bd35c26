#include "blk_driver.hpp"

namespace virtio_blk {

using namespace ipc::block;

namespace {
// In the slots' last page: kSlots headers of 16 bytes, then kSlots status bytes.
constexpr uint64_t kHeadersOffset = Driver::kSlots * kPage;
constexpr uint64_t kStatusOffset = kHeadersOffset + Driver::kSlots * sizeof(RequestHeader);
static_assert(kStatusOffset + Driver::kSlots <= Driver::kSlotBytes);
} // namespace

void Driver::init(virtio::SplitQueue* queue, uint8_t* slots, uint64_t slots_physical, uint64_t sectors, uint64_t features,
    Notify notify, void* context)
{
    m_queue = queue;
    m_slots = slots;
    m_slots_physical = slots_physical;
    m_sectors = sectors;
    m_features = features;
    m_notify = notify;
    m_context = context;
    for (Slot& slot : m_slot)
        slot = Slot {};
}

Info::Reply Driver::info() const
{
    uint64_t flags = (m_features & kFeatureReadOnly ? kFlagReadOnly : 0) | (m_features & kFeatureFlush ? kFlagCanFlush : 0);
    return Info::Reply { m_sectors, kSectorSize, kMaxSectors, flags };
}

RequestHeader* Driver::header_of(size_t index)
{
    return reinterpret_cast<RequestHeader*>(m_slots + kHeadersOffset + index * sizeof(RequestHeader));
}

volatile uint8_t* Driver::status_of(size_t index) { return m_slots + kStatusOffset + index; }

Driver::Slot* Driver::free_slot()
{
    for (Slot& slot : m_slot) {
        if (!slot.busy)
            return &slot;
    }
    return nullptr;
}

ipc::Result<ipc::Empty> Driver::start_read(const Read::Request& request, uint64_t token)
{
    if (request.count == 0 || request.count > kMaxSectors || request.sector >= m_sectors
        || request.count > m_sectors - request.sector)
        return ipc::Error::InvalidRequest;
    Slot* slot = free_slot();
    if (!slot)
        return kBusy;
    slot->kind = KindRead;
    return submit(*slot, kTypeIn, request.sector, request.count * kSectorSize, token);
}

ipc::Result<ipc::Empty> Driver::start_write(uint64_t sector, const uint8_t* bytes, uint64_t length, uint64_t token)
{
    if (length == 0 || length % kSectorSize != 0 || length > kMaxSectors * kSectorSize || sector >= m_sectors
        || length / kSectorSize > m_sectors - sector)
        return ipc::Error::InvalidRequest;
    if (m_features & kFeatureReadOnly)
        return kReadOnly;
    Slot* slot = free_slot();
    if (!slot)
        return kBusy;
    uint8_t* data = m_slots + static_cast<uint64_t>(slot - m_slot) * kPage;
    for (uint64_t i = 0; i < length; ++i)
        data[i] = bytes[i];
    slot->kind = KindWrite;
    return submit(*slot, kTypeOut, sector, length, token);
}

ipc::Result<ipc::Empty> Driver::start_flush(uint64_t token)
{
    if (!(m_features & kFeatureFlush))
        return ipc::Empty {}; // §5.2.6.2: without FLUSH, writes are done when they complete
    Slot* slot = free_slot();
    if (!slot)
        return kBusy;
    slot->kind = KindFlush;
    return submit(*slot, kTypeFlush, 0, 0, token);
}

ipc::Result<ipc::Empty> Driver::submit(Slot& slot, uint32_t type, uint64_t sector, uint64_t length, uint64_t token)
{
    size_t index = static_cast<size_t>(&slot - m_slot);
    *header_of(index) = RequestHeader { type, 0, sector };
    *status_of(index) = 0xFF; // the device overwrites it
    uint64_t header_physical = m_slots_physical + kHeadersOffset + index * sizeof(RequestHeader);
    uint64_t status_physical = m_slots_physical + kStatusOffset + index;
    virtio::Buffer buffers[3];
    uint16_t count = 0;
    buffers[count++] = virtio::Buffer { header_physical, sizeof(RequestHeader), false };
    if (length != 0)
        buffers[count++] = virtio::Buffer { m_slots_physical + index * kPage, static_cast<uint32_t>(length), type == kTypeIn };
    buffers[count++] = virtio::Buffer { status_physical, 1, true };
    uint16_t head = 0;
    virtio::SplitQueue::Status status = m_queue->submit(buffers, count, head);
    if (status == virtio::SplitQueue::Status::Full)
        return kBusy;
    if (status != virtio::SplitQueue::Status::Ok)
        return ipc::Error::InvalidRequest;
    slot.busy = true;
    slot.head = head;
    slot.token = token;
    slot.length = length;
    if (m_queue->needs_notify())
        m_notify(m_context);
    return ipc::Empty {};
}

Driver::Poll Driver::next_finished(Finished& out)
{
    virtio::Completion done {};
    virtio::SplitQueue::Status status = m_queue->poll(done);
    if (status == virtio::SplitQueue::Status::Empty)
        return Poll::Nothing;
    if (status != virtio::SplitQueue::Status::Ok)
        return Poll::Corrupt;
    for (size_t index = 0; index < kSlots; ++index) {
        Slot& slot = m_slot[index];
        if (!slot.busy || slot.head != done.head)
            continue;
        slot.busy = false;
        uint8_t device_status = *status_of(index);
        uint32_t label = slot.kind == KindRead ? Read::label : slot.kind == KindWrite ? Write::label : Flush::label;
        out = Finished { slot.token, label, device_status == kStatusOk, kIoError, nullptr, 0 };
        if (device_status == kStatusUnsupported)
            out.error = ipc::Error::Unsupported;
        else if (out.ok && slot.kind == KindRead) {
            out.data = m_slots + index * kPage;
            out.length = slot.length;
        }
        return Poll::Finished;
    }
    return Poll::Corrupt; // a chain no slot submitted: the queue would have said so
}

bool Driver::take_any(uint64_t& token)
{
    for (Slot& slot : m_slot) {
        if (slot.busy) {
            slot.busy = false;
            token = slot.token;
            return true;
        }
    }
    return false;
}

size_t Driver::in_flight() const
{
    size_t count = 0;
    for (const Slot& slot : m_slot)
        count += slot.busy;
    return count;
}

} // namespace virtio_blk
