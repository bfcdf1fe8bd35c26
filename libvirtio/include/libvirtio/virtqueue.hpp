// virtio::SplitQueue: the driver's side of a split virtqueue (Virtual I/O
// Device (VIRTIO) 1.1, §2.6), portable: no system calls, no device access.
// The driver's server gives it DMA memory (its virtual address and the
// physical address the device sees); host tests give it plain memory and
// play the device themselves (tests/host/virtqueue_test.cpp).
//
// Layout in the memory handed to init (each part aligned as §2.6 asks):
//   descriptor table  16 bytes x size                    (align 16)
//   available ring    flags, idx, ring[size], used_event (align 2)
//   used ring         flags, idx, {id, len}[size], avail_event (align 4;
//                     put on its own page, as legacy devices required)
//
// Descriptors: a free list threaded through their `next` fields. submit()
// takes one descriptor per buffer, chains them (NEXT), and publishes the
// chain's head in the available ring: write barrier, then idx + 1. The idx
// fields run freely over 16 bits and wrap (§2.6.6: "idx ... wraps naturally
// at 65536"); slots are idx % size, which is why size is a power of two.
// poll() takes the next used element, if the device published one, and puts
// its chain back on the free list; several requests may be in flight and
// complete in any order. What the device writes into the used ring is
// checked (an id that is no chain in flight is Corrupt, never followed).
//
// Not done: indirect descriptors, VIRTIO_F_EVENT_IDX (notification
// suppression beyond the used ring's NO_NOTIFY flag), packed queues.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace virtio {

// §2.6.5: struct virtq_desc.
struct Descriptor {
    uint64_t address; // physical
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

inline constexpr uint16_t kDescNext = 1;  // VIRTQ_DESC_F_NEXT
inline constexpr uint16_t kDescWrite = 2; // VIRTQ_DESC_F_WRITE: the device writes this buffer
inline constexpr uint16_t kUsedNoNotify = 1; // VIRTQ_USED_F_NO_NOTIFY (§2.6.10)
inline constexpr uint16_t kMaxQueueSize = 32768; // §2.6: "Queue Size ... maximum 32768"

// §2.6.8: struct virtq_used_elem.
struct UsedElement {
    uint32_t id;
    uint32_t length;
};

// One buffer of a request: physical address and length; `device_writes`
// for what the device fills in (a read's data, a status byte).
struct Buffer {
    uint64_t physical;
    uint32_t length;
    bool device_writes;
};

struct Completion {
    uint16_t head;   // what submit() returned
    uint32_t length; // bytes the device wrote into the chain
};

class SplitQueue {
public:
    enum class Status { Ok, Empty, Full, BadArgument, Corrupt };

    static constexpr size_t kPage = 4096;

    // Bytes init() needs for `size` entries: the descriptors and the
    // available ring, rounded to a page, then the used ring.
    static constexpr size_t bytes_for(uint16_t size)
    {
        return round_up(descriptors_bytes(size) + available_bytes(size), kPage) + used_bytes(size);
    }

    // `memory` (zeroed by the caller or not: init clears it) is bytes_for(size)
    // bytes at physical address `physical` (page-aligned). false: size is 0,
    // not a power of two or above 256 (the chains this object tracks;
    // devices accept a smaller size than they offer), or the memory is
    // misaligned.
    bool init(void* memory, uint64_t physical, uint16_t size)
    {
        *this = SplitQueue {};
        if (size == 0 || (size & (size - 1)) != 0 || size > kMaxQueueSize || size > kTrackedChains || physical % kPage != 0
            || reinterpret_cast<uintptr_t>(memory) % 16 != 0)
            return false;
        auto* bytes = static_cast<uint8_t*>(memory);
        for (size_t i = 0; i < bytes_for(size); ++i)
            bytes[i] = 0;
        m_size = size;
        m_descriptors = reinterpret_cast<Descriptor*>(bytes);
        m_available = reinterpret_cast<uint16_t*>(bytes + descriptors_bytes(size));
        size_t used_offset = round_up(descriptors_bytes(size) + available_bytes(size), kPage);
        m_used = reinterpret_cast<uint16_t*>(bytes + used_offset);
        m_descriptors_physical = physical;
        m_available_physical = physical + descriptors_bytes(size);
        m_used_physical = physical + used_offset;
        for (uint16_t i = 0; i < size; ++i)
            m_descriptors[i].next = static_cast<uint16_t>(i + 1 < size ? i + 1 : 0);
        m_free_head = 0;
        m_free_count = size;
        for (uint16_t i = 0; i < size && i < kTrackedChains; ++i)
            m_chain_length[i] = 0;
        return true;
    }

    // Publishes a chain of `count` buffers (device-readable ones first, as
    // §2.6.4.2 requires: BadArgument otherwise). Full: fewer than `count`
    // descriptors free; nothing changes. `head` identifies the request in
    // poll()'s Completion.
    Status submit(const Buffer* buffers, uint16_t count, uint16_t& head)
    {
        if (count == 0 || !m_descriptors)
            return Status::BadArgument;
        for (uint16_t i = 1; i < count; ++i) {
            if (buffers[i - 1].device_writes && !buffers[i].device_writes)
                return Status::BadArgument;
        }
        if (count > m_free_count)
            return Status::Full;
        head = m_free_head;
        uint16_t index = head;
        for (uint16_t i = 0; i < count; ++i) {
            Descriptor& d = m_descriptors[index];
            uint16_t next_free = d.next;
            d.address = buffers[i].physical;
            d.length = buffers[i].length;
            d.flags = static_cast<uint16_t>((buffers[i].device_writes ? kDescWrite : 0) | (i + 1 < count ? kDescNext : 0));
            if (i + 1 < count)
                d.next = next_free; // the next free descriptor is the chain's next
            else
                m_free_head = next_free;
            index = next_free;
        }
        m_free_count = static_cast<uint16_t>(m_free_count - count);
        m_chain_length[head] = count;
        uint16_t slot = static_cast<uint16_t>(m_available_idx & (m_size - 1));
        m_available[kRingStart + slot] = head;
        // The device must see the ring entry (and the descriptors) before
        // the new idx (§2.7.13.3.1: a write barrier before idx).
        __atomic_thread_fence(__ATOMIC_RELEASE);
        ++m_available_idx;
        volatile_store(m_available[kIdx], m_available_idx);
        ++m_in_flight;
        return Status::Ok;
    }

    // Whether the device wants a notification after submit() (§2.7.10:
    // the used ring's flags say NO_NOTIFY when it polls anyway).
    bool needs_notify() const
    {
        __atomic_thread_fence(__ATOMIC_SEQ_CST); // idx written before flags read (§2.7.13.4)
        return (volatile_load(m_used[kFlags]) & kUsedNoNotify) == 0;
    }

    // The next completed request: Ok with `done` filled in, Empty when the
    // device has published nothing new, Corrupt when the used ring names a
    // descriptor that heads no chain in flight, or claims more completions
    // than requests (the queue is then unusable: reset the device).
    Status poll(Completion& done)
    {
        if (!m_descriptors)
            return Status::BadArgument;
        uint16_t used_idx = volatile_load(m_used[kIdx]);
        if (used_idx == m_last_used)
            return Status::Empty;
        if (static_cast<uint16_t>(used_idx - m_last_used) > m_in_flight)
            return Status::Corrupt;
        __atomic_thread_fence(__ATOMIC_ACQUIRE); // the element after the idx that published it
        const auto* elements = reinterpret_cast<const volatile UsedElement*>(m_used + kRingStart);
        uint16_t slot = static_cast<uint16_t>(m_last_used & (m_size - 1));
        uint32_t id = elements[slot].id;
        uint32_t length = elements[slot].length;
        if (id >= m_size || m_chain_length[id] == 0)
            return Status::Corrupt;
        free_chain(static_cast<uint16_t>(id));
        ++m_last_used;
        --m_in_flight;
        done = Completion { static_cast<uint16_t>(id), length };
        return Status::Ok;
    }

    uint16_t size() const { return m_size; }
    uint16_t free_descriptors() const { return m_free_count; }
    uint16_t in_flight() const { return m_in_flight; }
    // What the device is told (common configuration: queue_desc,
    // queue_driver, queue_device).
    uint64_t descriptors_physical() const { return m_descriptors_physical; }
    uint64_t available_physical() const { return m_available_physical; }
    uint64_t used_physical() const { return m_used_physical; }
    // For tests playing the device.
    Descriptor* descriptors() { return m_descriptors; }
    uint16_t* available_ring() { return m_available; }
    uint16_t* used_ring() { return m_used; }

private:
    // Word offsets in the two rings: flags, idx, then the ring.
    static constexpr size_t kFlags = 0, kIdx = 1, kRingStart = 2;
    // Chains are tracked by head index; queues larger than this are refused
    // by init (the table lives in the object).
    static constexpr uint16_t kTrackedChains = 256;

    static constexpr size_t round_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }
    static constexpr size_t descriptors_bytes(uint16_t size) { return size_t(16) * size; }
    static constexpr size_t available_bytes(uint16_t size) { return 2 * (3 + size_t(size)); }
    static constexpr size_t used_bytes(uint16_t size) { return 2 * 3 + 8 * size_t(size); }

    static uint16_t volatile_load(const uint16_t& word) { return *reinterpret_cast<const volatile uint16_t*>(&word); }
    static void volatile_store(uint16_t& word, uint16_t value) { *reinterpret_cast<volatile uint16_t*>(&word) = value; }

    void free_chain(uint16_t head)
    {
        uint16_t count = m_chain_length[head];
        m_chain_length[head] = 0;
        uint16_t last = head;
        for (uint16_t i = 1; i < count; ++i)
            last = m_descriptors[last].next;
        m_descriptors[last].next = m_free_head; // the chain goes back as a whole
        m_free_head = head;
        m_free_count = static_cast<uint16_t>(m_free_count + count);
    }

    Descriptor* m_descriptors { nullptr };
    uint16_t* m_available { nullptr };
    uint16_t* m_used { nullptr };
    uint64_t m_descriptors_physical { 0 };
    uint64_t m_available_physical { 0 };
    uint64_t m_used_physical { 0 };
    uint16_t m_size { 0 };
    uint16_t m_free_head { 0 };
    uint16_t m_free_count { 0 };
    uint16_t m_available_idx { 0 };
    uint16_t m_last_used { 0 };
    uint16_t m_in_flight { 0 };
    uint16_t m_chain_length[kTrackedChains] {}; // per head: descriptors in its chain, 0: none
};

} // namespace virtio
