// StringView: a pointer and a length, never assumed to be NUL-terminated.
#pragma once

#include "types.hpp"

namespace herald {

class StringView {
public:
    constexpr StringView() = default;
    constexpr StringView(const char* chars, usize length) : m_chars(chars), m_length(length) { }
    constexpr StringView(const char* c_string) : m_chars(c_string), m_length(c_length(c_string)) { }

    // Reads at most `limit` bytes looking for the NUL: for strings that come
    // from untrusted memory, which may not be terminated.
    static constexpr StringView from_bounded(const char* chars, usize limit)
    {
        usize length = 0;
        while (length < limit && chars[length] != '\0')
            ++length;
        return StringView(chars, length);
    }

    constexpr const char* chars() const { return m_chars; }
    constexpr usize length() const { return m_length; }
    constexpr bool is_empty() const { return m_length == 0; }
    constexpr char operator[](usize i) const { return m_chars[i]; }

    constexpr bool operator==(StringView other) const
    {
        if (m_length != other.m_length)
            return false;
        for (usize i = 0; i < m_length; ++i) {
            if (m_chars[i] != other.m_chars[i])
                return false;
        }
        return true;
    }

    constexpr bool starts_with(StringView prefix) const
    {
        return prefix.m_length <= m_length && StringView(m_chars, prefix.m_length) == prefix;
    }

    constexpr bool ends_with(StringView suffix) const
    {
        return suffix.m_length <= m_length && StringView(m_chars + m_length - suffix.m_length, suffix.m_length) == suffix;
    }

    constexpr StringView substring(usize start, usize length) const
    {
        if (start > m_length)
            return {};
        if (length > m_length - start)
            length = m_length - start;
        return StringView(m_chars + start, length);
    }
    constexpr StringView substring(usize start) const { return substring(start, m_length); }

    // Index of the first `c`, or m_length when absent.
    constexpr usize find(char c) const
    {
        for (usize i = 0; i < m_length; ++i) {
            if (m_chars[i] == c)
                return i;
        }
        return m_length;
    }

    // The part after the last '/': the file name of a path.
    constexpr StringView basename() const
    {
        usize start = 0;
        for (usize i = 0; i < m_length; ++i) {
            if (m_chars[i] == '/')
                start = i + 1;
        }
        return substring(start);
    }

private:
    static constexpr usize c_length(const char* s)
    {
        usize n = 0;
        while (s && s[n] != '\0')
            ++n;
        return n;
    }

    const char* m_chars { "" };
    usize m_length { 0 };
};

} // namespace herald
