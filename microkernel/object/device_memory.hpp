// DeviceMemory: the right to map physical range [base, base + length) that
// is not RAM into one's own address space, uncached (docs/drivers.md): a
// device's registers or buffers (a PCI BAR, the ECAM area). The root covers
// every physical address; only bootstrap holds it. A holder restricts a
// handle to a sub-range (a new object), which is where the kernel checks the
// range against the memory map: never RAM of any kind, never the local or
// I/O APICs' registers (mm/device_range.hpp). The root itself cannot be
// mapped. DeviceMemoryMap puts the whole range at an address of the
// holder's choosing in its user range, writable, not executable, with PCD
// set (UC- under the PAT's reset values); the mapping stays until the task
// ends and is never freed to anyone (its frames are no one's), and the
// kernel never copies IPC payloads through it.
#pragma once

#include "../lib/address.hpp"
#include "../lib/error.hpp"
#include "../mm/memory_inventory.hpp"
#include "kernel_object.hpp"

namespace herald {

struct Task;

class DeviceMemory final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::DeviceMemory;

    static DeviceMemory& root();

    PhysicalAddress base() const { return m_base; }
    u64 length() const { return m_length; }

    // A new object for [base, base + length): NotGranted if not inside this
    // one; BadAlignment, BadLength, OutOfRange, NotDeviceMemory from the
    // memory-map check; OutOfMemory.
    ErrorOr<Ref<DeviceMemory>> restrict(u64 base, u64 length) const;

    // Maps the range at `address` in task `task_id` (the caller's own).
    // NotDeviceMemory for the root; OutOfRange: `address` is not aligned or
    // the range does not fit in user memory; AlreadyMapped: something is
    // mapped there.
    ErrorOr<void> map_into(u64 task_id, VirtualAddress address) const;

private:
    DeviceMemory(PhysicalAddress base, u64 length) : KernelObject(kType), m_base(base), m_length(length) { }
    void destroy() override;
    static ErrorOr<void> check(PhysicalRange range);

    PhysicalAddress m_base;
    u64 m_length;
    static DeviceMemory s_root;
};

} // namespace herald
