// Optional<T>: a value or nothing, instead of sentinel values such as 0 or -1.
#pragma once

#include "assert.hpp"
#include "utility.hpp"

namespace herald {

struct NulloptT { };
inline constexpr NulloptT nullopt {};

template<typename T>
class Optional {
public:
    constexpr Optional() = default;
    constexpr Optional(NulloptT) { }
    constexpr Optional(const T& value) : m_has_value(true) { new (&m_storage) T(value); }
    constexpr Optional(T&& value) : m_has_value(true) { new (&m_storage) T(move(value)); }
    Optional(const Optional& other) : m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_storage) T(other.value());
    }
    Optional(Optional&& other) : m_has_value(other.m_has_value)
    {
        if (m_has_value)
            new (&m_storage) T(move(other.value()));
    }
    Optional& operator=(Optional&& other)
    {
        if (this != &other) {
            clear();
            if (other.m_has_value) {
                new (&m_storage) T(move(other.value()));
                m_has_value = true;
            }
        }
        return *this;
    }
    Optional& operator=(const Optional& other)
    {
        if (this != &other) {
            clear();
            if (other.m_has_value) {
                new (&m_storage) T(other.value());
                m_has_value = true;
            }
        }
        return *this;
    }
    ~Optional() { clear(); }

    constexpr bool has_value() const { return m_has_value; }
    constexpr explicit operator bool() const { return m_has_value; }

    T& value()
    {
        HERALD_ASSERT(m_has_value);
        return *reinterpret_cast<T*>(&m_storage);
    }
    const T& value() const
    {
        HERALD_ASSERT(m_has_value);
        return *reinterpret_cast<const T*>(&m_storage);
    }
    T value_or(const T& fallback) const { return m_has_value ? value() : fallback; }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }

    void clear()
    {
        if (m_has_value) {
            if constexpr (!IsTriviallyDestructible<T>)
                value().~T();
            m_has_value = false;
        }
    }

private:
    alignas(T) unsigned char m_storage[sizeof(T)];
    bool m_has_value { false };
};

} // namespace herald
