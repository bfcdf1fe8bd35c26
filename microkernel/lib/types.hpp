// Fixed-width integer names used across Herald.
//
// The kernel and servers are freestanding: they may only use the C headers a
// freestanding compiler supplies (<stdint.h>, <stddef.h>). Debian's libstdc++
// headers are configured for a hosted glibc target and cannot be included in a
// bare-metal build, so Herald keeps its own small support library here. Host
// tests compile the same headers against the host's C library.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald {

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i8 = int8_t;
using i16 = int16_t;
using i32 = int32_t;
using i64 = int64_t;
using usize = size_t;
using uptr = uintptr_t;

inline constexpr u64 KiB = 1024;
inline constexpr u64 MiB = 1024 * KiB;
inline constexpr u64 GiB = 1024 * MiB;

constexpr u64 align_down(u64 value, u64 alignment) { return value & ~(alignment - 1); }

// Returns false (and leaves `out` alone) when rounding up would wrap past 2^64.
constexpr bool align_up(u64 value, u64 alignment, u64& out)
{
    u64 rounded = (value + alignment - 1) & ~(alignment - 1);
    if (rounded < value)
        return false;
    out = rounded;
    return true;
}

constexpr bool is_aligned(u64 value, u64 alignment) { return (value & (alignment - 1)) == 0; }

template<typename T>
constexpr T min(T a, T b) { return a < b ? a : b; }
template<typename T>
constexpr T max(T a, T b) { return a < b ? b : a; }

} // namespace herald
