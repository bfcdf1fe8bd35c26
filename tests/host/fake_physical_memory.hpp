// FakePhysicalMemory: a PhysicalReader over a zero-filled image, for the
// host tests of code that follows physical pointers. Anything outside the
// image is unreadable, as an unmapped address is in the kernel.
#pragma once

#include "microkernel/boot/physical_reader.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

namespace herald::test {

class FakePhysicalMemory final : public PhysicalReader {
public:
    explicit FakePhysicalMemory(usize size) : m_bytes(size, 0) { }

    Optional<ByteReader> read(PhysicalAddress address, usize length) const override
    {
        if (address.get() > m_bytes.size() || length > m_bytes.size() - address.get())
            return nullopt;
        return ByteReader(m_bytes.data() + address.get(), length);
    }

    usize size() const { return m_bytes.size(); }

    void put(u64 address, const void* data, usize length)
    {
        REQUIRE(address + length <= m_bytes.size());
        std::memcpy(m_bytes.data() + address, data, length);
    }
    void put(u64 address, const std::vector<u8>& bytes) { put(address, bytes.data(), bytes.size()); }
    void put_u16(u64 address, u16 value) { put(address, &value, sizeof(value)); }
    void put_u32(u64 address, u32 value) { put(address, &value, sizeof(value)); }
    void put_u64(u64 address, u64 value) { put(address, &value, sizeof(value)); }
    void put_bytes(u64 address, const std::string& text) { put(address, text.data(), text.size()); }
    void put_string(u64 address, const std::string& text) { put(address, text.c_str(), text.size() + 1); }

private:
    std::vector<u8> m_bytes;
};

} // namespace herald::test
