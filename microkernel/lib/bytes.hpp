// ByteReader: bounds-checked little-endian reads from a buffer of untrusted
// bytes (firmware tables, boot loader structures, program files). Every read
// returns Optional, so a parser cannot read past the end by accident.
#pragma once

#include "optional.hpp"
#include "types.hpp"

namespace herald {

class ByteReader {
public:
    constexpr ByteReader(const u8* data, usize size) : m_data(data), m_size(size) { }

    constexpr const u8* data() const { return m_data; }
    constexpr usize size() const { return m_size; }

    template<typename T>
    Optional<T> read(usize offset) const
    {
        if (offset > m_size || sizeof(T) > m_size - offset)
            return nullopt;
        T value {};
        __builtin_memcpy(&value, m_data + offset, sizeof(T));
        return value;
    }

    // A sub-range [offset, offset+length); nullopt when it does not fit.
    Optional<ByteReader> slice(usize offset, usize length) const
    {
        if (offset > m_size || length > m_size - offset)
            return nullopt;
        return ByteReader(m_data + offset, length);
    }

    // Sum of all bytes modulo 256, as ACPI and the MP specification use it.
    u8 checksum() const
    {
        u8 sum = 0;
        for (usize i = 0; i < m_size; ++i)
            sum = static_cast<u8>(sum + m_data[i]);
        return sum;
    }

    bool starts_with(const char* signature, usize length) const
    {
        if (length > m_size)
            return false;
        for (usize i = 0; i < length; ++i) {
            if (m_data[i] != static_cast<u8>(signature[i]))
                return false;
        }
        return true;
    }

private:
    const u8* m_data;
    usize m_size;
};

} // namespace herald
