// Strong address types. A physical address and a virtual address are both
// 64-bit numbers, and mixing them up is the classic kernel bug; keeping them
// apart in the type system makes the compiler catch it.
#pragma once

#include "types.hpp"

namespace herald {

template<typename Tag>
class Address {
public:
    constexpr Address() = default;
    constexpr explicit Address(u64 value) : m_value(value) { }

    constexpr u64 get() const { return m_value; }
    constexpr Address offset(u64 delta) const { return Address(m_value + delta); }
    constexpr Address page_base(u64 page_size) const { return Address(align_down(m_value, page_size)); }
    constexpr bool is_aligned_to(u64 alignment) const { return is_aligned(m_value, alignment); }

    constexpr bool operator==(const Address& other) const { return m_value == other.m_value; }
    constexpr bool operator!=(const Address& other) const { return m_value != other.m_value; }
    constexpr bool operator<(const Address& other) const { return m_value < other.m_value; }
    constexpr bool operator<=(const Address& other) const { return m_value <= other.m_value; }
    constexpr bool operator>(const Address& other) const { return m_value > other.m_value; }
    constexpr bool operator>=(const Address& other) const { return m_value >= other.m_value; }
    constexpr u64 operator-(const Address& other) const { return m_value - other.m_value; }

private:
    u64 m_value { 0 };
};

struct PhysicalTag;
struct VirtualTag;
using PhysicalAddress = Address<PhysicalTag>;
using VirtualAddress = Address<VirtualTag>;

} // namespace herald
