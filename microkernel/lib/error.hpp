// Typed error returns: ErrorOr<T> holds either a T or an Error code.
// Parsers of untrusted bytes (boot tables, ELF files, syscall arguments)
// report what was wrong through these instead of crashing.
#pragma once

#include "assert.hpp"
#include "optional.hpp"
#include "utility.hpp"

namespace herald {

enum class Error : int {
    None = 0,
    Truncated,        // the input ends before a structure it promises
    BadMagic,         // a signature or magic number does not match
    BadChecksum,      // a checksum does not add up
    BadLength,        // a length or size field is impossible
    BadAlignment,     // something that must be aligned is not
    OutOfRange,       // a value or address lies outside what is allowed
    TooMany,          // more entries than the fixed-size table can hold
    NotFound,         // the thing asked for does not exist
    OutOfMemory,      // no free memory left to satisfy the request
    Unsupported,      // valid, but Herald does not handle it
    AlreadyMapped,    // a virtual range overlaps one that is already mapped
    Duplicate,        // an identifier that must be unique appears twice
};

constexpr const char* error_name(Error error)
{
    switch (error) {
    case Error::None: return "no error";
    case Error::Truncated: return "truncated";
    case Error::BadMagic: return "bad magic";
    case Error::BadChecksum: return "bad checksum";
    case Error::BadLength: return "bad length";
    case Error::BadAlignment: return "bad alignment";
    case Error::OutOfRange: return "out of range";
    case Error::TooMany: return "too many entries";
    case Error::NotFound: return "not found";
    case Error::OutOfMemory: return "out of memory";
    case Error::Unsupported: return "unsupported";
    case Error::AlreadyMapped: return "already mapped";
    case Error::Duplicate: return "duplicate";
    }
    return "unknown error";
}

template<typename T>
class [[nodiscard]] ErrorOr {
public:
    ErrorOr(const T& value) : m_value(value) { }
    ErrorOr(T&& value) : m_value(move(value)) { }
    ErrorOr(Error error) : m_error(error) { HERALD_ASSERT(error != Error::None); }

    bool is_error() const { return m_error != Error::None; }
    Error error() const { return m_error; }
    T& value() { return m_value.value(); }
    const T& value() const { return m_value.value(); }
    T release_value() { return move(m_value.value()); }

private:
    Optional<T> m_value;
    Error m_error { Error::None };
};

template<>
class [[nodiscard]] ErrorOr<void> {
public:
    ErrorOr() = default;
    ErrorOr(Error error) : m_error(error) { }
    bool is_error() const { return m_error != Error::None; }
    Error error() const { return m_error; }
    void release_value() { }

private:
    Error m_error { Error::None };
};

} // namespace herald

// Propagate an error to the caller, SerenityOS's TRY() without the GNU
// statement-expression for the void case.
#define HERALD_TRY(expr)                                 \
    ({                                                   \
        auto _result = (expr);                           \
        if (_result.is_error())                          \
            return _result.error();                      \
        _result.release_value();                         \
    })
