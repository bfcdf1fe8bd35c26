// LineRing: text lines in a fixed ring of bytes (the kernel log while the
// console server prints it). Scheme: each line is stored with its '\n';
// when a new line does not fit, whole old lines are dropped from the front
// (and counted) until it does; take() hands out only whole lines, as many as
// fit in the caller's buffer. A line longer than the ring is cut to fit.
// Portable (host-tested), no locking: the owner locks.
#pragma once

#include "types.hpp"

namespace herald {

template<usize kCapacity>
class LineRing {
public:
    // Appends `length` bytes and a '\n'.
    void push(const char* text, usize length)
    {
        if (length + 1 > kCapacity)
            length = kCapacity - 1;
        while (kCapacity - m_size < length + 1)
            drop_oldest_line();
        for (usize i = 0; i < length; ++i)
            put(text[i] == '\n' ? ' ' : text[i]); // one line stays one line
        put('\n');
        ++m_lines;
    }

    // Moves whole lines, oldest first, into `out` (up to `max` bytes);
    // returns the bytes moved. 0 when empty or when the oldest line alone is
    // longer than `max` (then take with a bigger buffer).
    usize take(char* out, usize max)
    {
        usize moved = 0;
        while (m_lines > 0) {
            usize line = oldest_line_length();
            if (moved + line > max)
                break;
            for (usize i = 0; i < line; ++i)
                out[moved++] = get();
            --m_lines;
        }
        return moved;
    }

    usize size() const { return m_size; }
    usize lines() const { return m_lines; }
    u64 dropped_lines() const { return m_dropped; }

private:
    void put(char c)
    {
        m_bytes[(m_head + m_size) % kCapacity] = c;
        ++m_size;
    }
    char get()
    {
        char c = m_bytes[m_head];
        m_head = (m_head + 1) % kCapacity;
        --m_size;
        return c;
    }
    usize oldest_line_length() const
    {
        usize length = 0;
        while (m_bytes[(m_head + length) % kCapacity] != '\n')
            ++length;
        return length + 1;
    }
    void drop_oldest_line()
    {
        usize line = oldest_line_length();
        m_head = (m_head + line) % kCapacity;
        m_size -= line;
        --m_lines;
        ++m_dropped;
    }

    char m_bytes[kCapacity] {};
    usize m_head { 0 };
    usize m_size { 0 };
    usize m_lines { 0 };
    u64 m_dropped { 0 };
};

} // namespace herald
