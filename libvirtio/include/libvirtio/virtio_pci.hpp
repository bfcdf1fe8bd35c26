// virtio over PCI, the "modern" interface (Virtual I/O Device (VIRTIO) 1.1,
// §4.1): where the device's registers are (vendor-specific capabilities in
// its configuration space, each naming a BAR, an offset and a length), and
// the driver's side of initialization (§3.1.1): reset, ACKNOWLEDGE, DRIVER,
// feature negotiation, FEATURES_OK, queues, DRIVER_OK; notifications and
// the ISR status byte (§4.1.4.5) that acknowledges a legacy interrupt, and
// the MSI-X vector each queue's interrupts use (§4.1.5.1.2).
//
// Portable: the configuration space is read through a callback (the PCI
// server's ReadConfig in the system, a fake in the host tests), and the
// registers are plain memory the caller maps (the BARs, as device memory).
// MSI-X: the PCI server enables it and writes the table entry (the driver
// never chooses its interrupt); the driver names that entry as the queue's
// vector in setup_queue. Without one (NO_VECTOR) and MSI-X off, the device
// raises its INTx line and the ISR byte says why. Configuration-change
// interrupts (msix_config) are not used: NO_VECTOR. The modern interface
// keeps the device configuration where its capability says whether MSI-X
// is on or not (only the legacy interface moves it).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "virtqueue.hpp"

namespace virtio {

// §4.1.4: cfg_type of a virtio_pci_cap.
enum class CapabilityType : uint8_t { Common = 1, Notify = 2, Isr = 3, Device = 4, PciConfig = 5 };

inline constexpr uint8_t kPciCapabilityVendor = 0x09;     // PCI 3.0 Appendix H: vendor specific
inline constexpr uint16_t kPciStatusCapabilities = 1u << 4; // status register: a capability list
inline constexpr uint16_t kPciCapabilityPointer = 0x34;
inline constexpr uint16_t kVirtioVendor = 0x1AF4;
// §4.1.2.1: modern devices are 0x1040 + device id; transitional ones keep
// their legacy ids (virtio-blk: 0x1001) and have the modern capabilities too.
inline constexpr uint16_t kModernDeviceBase = 0x1040;

struct Region {
    bool present;
    uint8_t bar;
    uint32_t offset;
    uint32_t length;
};

struct Regions {
    Region common;
    Region notify;
    Region isr;
    Region device;
    uint32_t notify_multiplier; // notify_off_multiplier (§4.1.4.4)
};

// Reads 32 bits of the function's configuration space at `offset` (a
// multiple of 4 below 256).
using ConfigRead = uint32_t (*)(void* context, uint16_t offset);

// Walks the capability list for the virtio structures (the first of each
// type, as §4.1.4 recommends). false when the function has no capability
// list, or lacks the common, notify or ISR structure; a list that loops or
// points outside the header's 256 bytes ends the walk (at most 48 entries).
inline bool find_regions(ConfigRead read, void* context, Regions& out)
{
    out = Regions {};
    if (((read(context, 0x04) >> 16) & kPciStatusCapabilities) == 0)
        return false;
    uint8_t pointer = static_cast<uint8_t>(read(context, kPciCapabilityPointer) & 0xFC);
    for (int visited = 0; pointer >= 0x40 && visited < 48; ++visited) {
        uint32_t header = read(context, pointer);
        uint8_t id = static_cast<uint8_t>(header);
        uint8_t next = static_cast<uint8_t>(header >> 8) & 0xFC;
        uint8_t length = static_cast<uint8_t>(header >> 16);
        uint8_t type = static_cast<uint8_t>(header >> 24);
        // virtio_pci_cap is 16 bytes; the notify one 20 (§4.1.4.4), and it
        // must fit in the 256-byte header.
        if (id == kPciCapabilityVendor && length >= 16 && pointer <= 256 - 16) {
            Region region { true, static_cast<uint8_t>(read(context, static_cast<uint16_t>(pointer + 4))),
                read(context, static_cast<uint16_t>(pointer + 8)), read(context, static_cast<uint16_t>(pointer + 12)) };
            if (region.bar > 5)
                region.present = false; // §4.1.4: 0x0-0x5 only
            Region* slot = nullptr;
            switch (static_cast<CapabilityType>(type)) {
            case CapabilityType::Common: slot = &out.common; break;
            case CapabilityType::Notify:
                if (length >= 20 && pointer <= 256 - 20) {
                    slot = &out.notify;
                    if (!out.notify.present)
                        out.notify_multiplier = read(context, static_cast<uint16_t>(pointer + 16));
                }
                break;
            case CapabilityType::Isr: slot = &out.isr; break;
            case CapabilityType::Device: slot = &out.device; break;
            case CapabilityType::PciConfig: break;
            }
            if (slot && !slot->present && region.present)
                *slot = region;
        }
        pointer = next;
    }
    return out.common.present && out.notify.present && out.isr.present;
}

// §4.1.4.3: struct virtio_pci_common_cfg.
namespace common {
inline constexpr size_t kDeviceFeatureSelect = 0x00;
inline constexpr size_t kDeviceFeature = 0x04;
inline constexpr size_t kDriverFeatureSelect = 0x08;
inline constexpr size_t kDriverFeature = 0x0C;
inline constexpr size_t kMsixConfig = 0x10;
inline constexpr size_t kNumQueues = 0x12;
inline constexpr size_t kDeviceStatus = 0x14;
inline constexpr size_t kConfigGeneration = 0x15;
inline constexpr size_t kQueueSelect = 0x16;
inline constexpr size_t kQueueSize = 0x18;
inline constexpr size_t kQueueMsixVector = 0x1A;
inline constexpr size_t kQueueEnable = 0x1C;
inline constexpr size_t kQueueNotifyOff = 0x1E;
inline constexpr size_t kQueueDesc = 0x20;
inline constexpr size_t kQueueDriver = 0x28;
inline constexpr size_t kQueueDevice = 0x30;
inline constexpr size_t kSize = 0x38;
} // namespace common

// §2.1: device status bits.
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 64;
inline constexpr uint8_t kStatusFailed = 128;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32; // VIRTIO_F_VERSION_1 (§6)
inline constexpr uint16_t kNoVector = 0xFFFF;            // VIRTIO_MSI_NO_VECTOR
inline constexpr uint8_t kIsrQueue = 1;                  // §4.1.4.5: a used buffer
inline constexpr uint8_t kIsrConfig = 2;                 // the device configuration changed

// §2.4 and §4.1.4.3.1: writing 0 to device_status resets the device (it
// forgets its queues and features and stops using their memory), and the
// reset is done once device_status reads 0. False if it did not within
// `spins` reads. Used by every driver as it starts (Transport::negotiate),
// and by the PCI server before it hands a function to a new driver.
inline bool reset_device(volatile uint8_t* common_cfg, uint32_t spins = 1'000'000)
{
    common_cfg[common::kDeviceStatus] = 0;
    for (uint32_t waited = 0; common_cfg[common::kDeviceStatus] != 0;) {
        if (++waited == spins)
            return false;
    }
    return true;
}

// The same reset for a caller that must not spin (the PCI server answers
// everyone from one thread): `pause()` between reads (the server sleeps
// 1 ms), at most `polls` reads after the write. QEMU resets at the write;
// a device may take longer (§4.1.4.3.1 lets it).
template<typename Pause>
inline bool reset_device_paced(volatile uint8_t* common_cfg, uint32_t polls, Pause pause)
{
    common_cfg[common::kDeviceStatus] = 0;
    for (uint32_t read = 0; read < polls; ++read) {
        if (common_cfg[common::kDeviceStatus] == 0)
            return true;
        pause();
    }
    return false;
}

// The driver's view of one device: its registers, mapped by the caller.
class Transport {
public:
    enum class Status { Ok, ResetTimeout, FeaturesRefused, NoQueue, QueueTooSmall, BadQueue };

    // `common`, `notify`, `isr` and `device` point at the structures (BAR
    // mapping + the region's offset).
    void attach(volatile uint8_t* common_cfg, volatile uint8_t* notify_base, uint32_t notify_multiplier,
        volatile uint8_t* isr, volatile uint8_t* device_cfg)
    {
        m_common = common_cfg;
        m_notify = notify_base;
        m_multiplier = notify_multiplier;
        m_isr = isr;
        m_device = device_cfg;
    }

    // §3.1.1 steps 1-6: reset (waiting up to `spins` reads for the device to
    // read back 0), ACKNOWLEDGE | DRIVER, accept what the device offers of
    // `wanted` (VERSION_1 always: a modern driver needs it), FEATURES_OK,
    // and check the device kept it. The accepted features in `accepted`.
    Status negotiate(uint64_t wanted, uint64_t& accepted, uint32_t spins = 1'000'000)
    {
        if (!reset_device(m_common, spins))
            return Status::ResetTimeout;
        write8(common::kDeviceStatus, kStatusAcknowledge);
        write8(common::kDeviceStatus, kStatusAcknowledge | kStatusDriver);
        uint64_t offered = device_features();
        accepted = offered & (wanted | kFeatureVersion1);
        if (!(accepted & kFeatureVersion1)) {
            write8(common::kDeviceStatus, kStatusFailed);
            return Status::FeaturesRefused;
        }
        for (uint32_t half = 0; half < 2; ++half) {
            write32(common::kDriverFeatureSelect, half);
            write32(common::kDriverFeature, static_cast<uint32_t>(accepted >> (32 * half)));
        }
        write8(common::kDeviceStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
        if (!(read8(common::kDeviceStatus) & kStatusFeaturesOk)) {
            write8(common::kDeviceStatus, kStatusFailed);
            return Status::FeaturesRefused;
        }
        write16(common::kMsixConfig, kNoVector);
        return Status::Ok;
    }

    uint64_t device_features()
    {
        uint64_t features = 0;
        for (uint32_t half = 0; half < 2; ++half) {
            write32(common::kDeviceFeatureSelect, half);
            features |= static_cast<uint64_t>(read32(common::kDeviceFeature)) << (32 * half);
        }
        return features;
    }

    // The largest size the device allows for queue `index` (0: no such
    // queue).
    uint16_t queue_max_size(uint16_t index)
    {
        if (index >= read16(common::kNumQueues))
            return 0;
        write16(common::kQueueSelect, index);
        return read16(common::kQueueSize);
    }

    // §4.1.5.1.3: tells the device where queue `index`'s parts are (its size
    // is the queue's), which MSI-X table entry its interrupts use
    // (`msix_vector`; kNoVector: none), and enables it. Whether the device
    // took the vector: queue_vector() (§4.1.5.1.2: it reads back NO_VECTOR
    // when it could not).
    Status setup_queue(uint16_t index, const SplitQueue& queue, uint16_t msix_vector = kNoVector)
    {
        uint16_t max = queue_max_size(index);
        if (max == 0)
            return Status::NoQueue;
        if (queue.size() == 0 || queue.size() > max)
            return Status::BadQueue;
        write16(common::kQueueSelect, index);
        write16(common::kQueueSize, queue.size());
        write16(common::kQueueMsixVector, msix_vector);
        write64(common::kQueueDesc, queue.descriptors_physical());
        write64(common::kQueueDriver, queue.available_physical());
        write64(common::kQueueDevice, queue.used_physical());
        m_notify_offset[index < kMaxQueues ? index : 0] = read16(common::kQueueNotifyOff);
        write16(common::kQueueEnable, 1);
        return Status::Ok;
    }

    // The MSI-X vector queue `index` uses, as the device reads it back.
    uint16_t queue_vector(uint16_t index)
    {
        write16(common::kQueueSelect, index);
        return read16(common::kQueueMsixVector);
    }

    void driver_ok() { write8(common::kDeviceStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk); }
    uint8_t status() { return read8(common::kDeviceStatus); }
    void reset() { write8(common::kDeviceStatus, 0); }

    // §4.1.4.4: the queue's notify address is notify base +
    // queue_notify_off x notify_off_multiplier; the driver writes the
    // queue's index there.
    void notify(uint16_t index)
    {
        uint32_t offset = m_notify_offset[index < kMaxQueues ? index : 0] * m_multiplier;
        *reinterpret_cast<volatile uint16_t*>(m_notify + offset) = index;
    }

    // Reading the ISR status clears it and deasserts the INTx line (§4.1.4.5).
    uint8_t read_isr() { return *m_isr; }

    volatile uint8_t* device_config() { return m_device; }

private:
    static constexpr uint16_t kMaxQueues = 8;

    uint8_t read8(size_t offset) { return m_common[offset]; }
    uint16_t read16(size_t offset) { return *reinterpret_cast<volatile uint16_t*>(m_common + offset); }
    uint32_t read32(size_t offset) { return *reinterpret_cast<volatile uint32_t*>(m_common + offset); }
    void write8(size_t offset, uint8_t value) { m_common[offset] = value; }
    void write16(size_t offset, uint16_t value) { *reinterpret_cast<volatile uint16_t*>(m_common + offset) = value; }
    void write32(size_t offset, uint32_t value) { *reinterpret_cast<volatile uint32_t*>(m_common + offset) = value; }
    // §4.1.3.1: 64-bit fields as two 32-bit writes, low half first.
    void write64(size_t offset, uint64_t value)
    {
        write32(offset, static_cast<uint32_t>(value));
        write32(offset + 4, static_cast<uint32_t>(value >> 32));
    }

    volatile uint8_t* m_common { nullptr };
    volatile uint8_t* m_notify { nullptr };
    uint32_t m_multiplier { 0 };
    volatile uint8_t* m_isr { nullptr };
    volatile uint8_t* m_device { nullptr };
    uint16_t m_notify_offset[kMaxQueues] {};
};

} // namespace virtio
