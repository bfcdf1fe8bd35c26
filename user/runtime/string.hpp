// NUL-terminated strings for ring-3 programs, with no C library: lengths,
// comparisons, a copy that always terminates, and what a small command
// parser needs (whitespace tokens, unsigned numbers).
//
// Header-only, constexpr, freestanding (<stddef.h>, <stdint.h>). Comparisons
// order characters as unsigned char, as the C library does. No function
// accepts a null `const char*` unless it says so.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace herald::user {

constexpr size_t strlen(const char* text)
{
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    return length;
}

// The length, but looking at no more than `max` characters.
constexpr size_t strnlen(const char* text, size_t max)
{
    size_t length = 0;
    while (length < max && text[length] != '\0')
        ++length;
    return length;
}

// < 0, 0, > 0 as a orders before, equal to, or after b.
constexpr int strcmp(const char* a, const char* b)
{
    size_t i = 0;
    while (a[i] != '\0' && a[i] == b[i])
        ++i;
    return static_cast<int>(static_cast<unsigned char>(a[i])) - static_cast<int>(static_cast<unsigned char>(b[i]));
}

// The same over at most `count` characters (0 when count is 0).
constexpr int strncmp(const char* a, const char* b, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        if (a[i] != b[i] || a[i] == '\0')
            return static_cast<int>(static_cast<unsigned char>(a[i])) - static_cast<int>(static_cast<unsigned char>(b[i]));
    }
    return 0;
}

constexpr bool strings_equal(const char* a, const char* b) { return strcmp(a, b) == 0; }

// Copies as much of `source` as fits into destination[0, capacity) and
// terminates it (nothing is written when capacity is 0; destination may then
// be null). Returns strlen(source), as strlcpy does: the copy was truncated
// when the result is >= capacity.
constexpr size_t copy_string(char* destination, size_t capacity, const char* source)
{
    size_t length = strlen(source);
    if (capacity == 0)
        return length;
    size_t copied = length < capacity - 1 ? length : capacity - 1;
    for (size_t i = 0; i < copied; ++i)
        destination[i] = source[i];
    destination[copied] = '\0';
    return length;
}

// Every string starts with "".
constexpr bool starts_with(const char* text, const char* prefix)
{
    for (size_t i = 0; prefix[i] != '\0'; ++i) {
        if (text[i] != prefix[i])
            return false;
    }
    return true;
}

// ---- tokens ----

// Space, tab, newline, carriage return, vertical tab, form feed.
constexpr bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// A piece of a string: `length` characters at `text`, not terminated.
struct Token {
    const char* text { nullptr };
    size_t length { 0 };

    constexpr bool empty() const { return length == 0; }
    // The whole token is `word` (a NUL-terminated string).
    constexpr bool equals(const char* word) const
    {
        for (size_t i = 0; i < length; ++i) {
            if (word[i] != text[i]) // also stops at word's terminator: text[i] is never NUL
                return false;
        }
        return word[length] == '\0';
    }
};

// Skips whitespace at `cursor`, returns the run of non-whitespace that
// follows, and leaves `cursor` just after it. At the end of the string the
// token is empty (its text is the terminator) and `cursor` stays there, so
// calling again keeps returning empty tokens.
//
//   const char* cursor = "  map 0x1000  4";
//   next_token(cursor) -> "map", then "0x1000", then "4", then empty
constexpr Token next_token(const char*& cursor)
{
    while (is_space(*cursor))
        ++cursor;
    Token token { cursor, 0 };
    while (cursor[token.length] != '\0' && !is_space(cursor[token.length]))
        ++token.length;
    cursor += token.length;
    return token;
}

// What follows the tokens already taken, without its leading whitespace
// ("the rest of the line").
constexpr const char* skip_spaces(const char* cursor)
{
    while (is_space(*cursor))
        ++cursor;
    return cursor;
}

// ---- numbers ----

// `length` characters at `text` as an unsigned 64-bit number: decimal
// digits, or "0x" / "0X" and hexadecimal digits (either case). Refuses
// (false, value unchanged) an empty text, a bare "0x", any other character
// (signs, spaces, a suffix), and numbers above UINT64_MAX.
constexpr bool parse_u64(const char* text, size_t length, uint64_t& value)
{
    if (length == 0)
        return false;
    uint64_t result = 0;
    if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        for (size_t i = 2; i < length; ++i) {
            char c = text[i];
            uint64_t digit = 0;
            if (c >= '0' && c <= '9')
                digit = static_cast<uint64_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                digit = static_cast<uint64_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                digit = static_cast<uint64_t>(c - 'A' + 10);
            else
                return false;
            if (result >> 60 != 0)
                return false;
            result = result << 4 | digit;
        }
    } else {
        for (size_t i = 0; i < length; ++i) {
            char c = text[i];
            if (c < '0' || c > '9')
                return false;
            auto digit = static_cast<uint64_t>(c - '0');
            if (result > (UINT64_MAX - digit) / 10)
                return false;
            result = result * 10 + digit;
        }
    }
    value = result;
    return true;
}

// A whole NUL-terminated string.
constexpr bool parse_u64(const char* text, uint64_t& value) { return parse_u64(text, strlen(text), value); }

constexpr bool parse_u64(Token token, uint64_t& value) { return parse_u64(token.text, token.length, value); }

} // namespace herald::user
