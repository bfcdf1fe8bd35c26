// Message-signalled interrupts on x86 (Intel SDM Vol. 3A §11.11, "Message
// Signalled Interrupts"): a device raises an interrupt by writing `data` to
// `address`; the write reaches the local APIC named in the address, which
// takes `data`'s vector. What the kernel hands the holder of an MSI vector
// (docs/drivers.md, "MSI-X"), to write into its device's MSI-X table.
//
// Herald's messages: physical destination mode, no redirection hint, fixed
// delivery, edge-triggered. Without interrupt remapping the destination is
// 8 bits wide: a CPU whose APIC id is above 255 (x2APIC) cannot be named.
// Portable (constexpr, no hardware access): host-tested in
// tests/host/msi_test.cpp.
#pragma once

#include "../../lib/types.hpp"

namespace herald::x86::msi {

// §11.11.1: bits 31-20 are 0xFEE, bits 19-12 the destination APIC id; RH
// (bit 3) and DM (bit 2) clear: physical mode, exactly that CPU.
inline constexpr u64 kAddressBase = 0xFEE0'0000;
inline constexpr u32 kDestinationShift = 12;
inline constexpr u32 kMaxDestination = 0xFF;
// §11.11.2: bits 7-0 the vector; delivery mode (10-8) 000 fixed; trigger
// mode (bit 15) 0 edge, so the level bit (14) is ignored.
inline constexpr u32 kVectorMask = 0xFF;
inline constexpr u8 kFirstUsableVector = 32; // 0-31 are exceptions (§6.2)

struct Message {
    u64 address;
    u32 data;
};

// The message that sends `vector` to the local APIC `apic_id`; false if
// the APIC id does not fit an MSI address or the vector is an exception's.
constexpr bool encode(u32 apic_id, u8 vector, Message& out)
{
    if (apic_id > kMaxDestination || vector < kFirstUsableVector)
        return false;
    out = Message { kAddressBase | (static_cast<u64>(apic_id) << kDestinationShift), vector };
    return true;
}

// The inverse, for tests and for a reader of a device's table: the
// destination and vector of an edge, fixed, physical message; false for
// any other message.
constexpr bool decode(const Message& message, u32& apic_id, u8& vector)
{
    constexpr u64 kFixedBits = 0xFFF0'0000;
    constexpr u64 kModeBits = 0xC; // RH, DM
    constexpr u32 kNonFixedData = 0xFFFF'FF00; // delivery mode, level, trigger, reserved
    if ((message.address & ~0xFFFF'FFFFull) || (message.address & kFixedBits) != kAddressBase
        || (message.address & kModeBits) || (message.data & kNonFixedData))
        return false;
    apic_id = static_cast<u32>(message.address >> kDestinationShift) & kMaxDestination;
    vector = static_cast<u8>(message.data & kVectorMask);
    return vector >= kFirstUsableVector;
}

} // namespace herald::x86::msi
