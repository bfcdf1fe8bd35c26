// move/forward and the few type traits Herald needs, built on compiler
// builtins so that they work without a hosted C++ library (see types.hpp).
#pragma once

namespace herald {

template<typename T> struct RemoveReference { using Type = T; };
template<typename T> struct RemoveReference<T&> { using Type = T; };
template<typename T> struct RemoveReference<T&&> { using Type = T; };

template<typename T>
constexpr typename RemoveReference<T>::Type&& move(T&& value)
{
    return static_cast<typename RemoveReference<T>::Type&&>(value);
}

template<typename T>
constexpr T&& forward(typename RemoveReference<T>::Type& value) { return static_cast<T&&>(value); }
template<typename T>
constexpr T&& forward(typename RemoveReference<T>::Type&& value) { return static_cast<T&&>(value); }

template<typename T>
inline constexpr bool IsTriviallyDestructible = __has_trivial_destructor(T);

template<typename A, typename B>
inline constexpr bool IsSame = __is_same(A, B);

template<typename T>
inline constexpr bool IsIntegral = __is_integral(T);

template<typename T>
inline constexpr bool IsSigned = __is_signed(T);

template<typename T>
inline constexpr bool IsEnum = __is_enum(T);

} // namespace herald

// Placement new without <new>: the kernel has no hosted library, and the host
// build gets the same declaration from its standard headers.
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
#include <new>
#else
inline void* operator new(decltype(sizeof(0)), void* where) noexcept { return where; }
#endif
