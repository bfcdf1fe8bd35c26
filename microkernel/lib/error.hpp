// Typed error returns: ErrorOr<T> holds either a T or an Error code.
// Parsers of untrusted bytes (boot tables, ELF files, syscall arguments)
// report what was wrong through these instead of crashing.
//
// Error is the kernel's one error vocabulary: the parsers' codes and the
// system calls' (a handler returns ErrorOr<u64>, and the dispatcher encodes
// it once into the ABI's abi::SyscallError: syscall_error.hpp). Each code
// means one thing; several may share one ABI number (WrongType and
// BadHandle are both BadHandle to a program), never the other way round.
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
    // The system calls' (abi::SyscallError has the numbers).
    BadNumber,        // no such system call
    BadAddress,       // a pointer is not inside the caller's user memory, or faults
    BadArgument,      // some other argument is out of range
    BadHandle,        // not a handle of the caller
    WrongType,        // a handle of the caller, to an object of another type
    NoRights,         // the handle lacks the right the call needs
    SlotTaken,        // a handle index that is in use already
    PeerGone,         // the other side of the rendezvous was closed, or its task died
    TimedOut,         // a wait with a timeout ran out
    NoReply,          // a reply with no caller waiting for it
    QuotaExceeded,    // the caller holds as many of these as a task may (handle_table.hpp)
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
    case Error::BadNumber: return "no such system call";
    case Error::BadAddress: return "bad address";
    case Error::BadArgument: return "bad argument";
    case Error::BadHandle: return "bad handle";
    case Error::WrongType: return "handle of the wrong type";
    case Error::NoRights: return "no rights";
    case Error::SlotTaken: return "handle slot taken";
    case Error::PeerGone: return "peer gone";
    case Error::TimedOut: return "timed out";
    case Error::NoReply: return "no reply";
    case Error::QuotaExceeded: return "quota exceeded";
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

// Plain values (a number, a pointer, a small struct) are kept as they are,
// not in an Optional: an ErrorOr<u64> is two registers, which is how a
// system-call handler returns its result (syscall/handlers.hpp).
template<typename T>
    requires(__is_trivially_copyable(T) && __is_trivially_constructible(T))
class [[nodiscard]] ErrorOr<T> {
public:
    ErrorOr(const T& value) : m_value(value) { }
    ErrorOr(Error error) : m_error(error) { HERALD_ASSERT(error != Error::None); }

    bool is_error() const { return m_error != Error::None; }
    Error error() const { return m_error; }
    T& value()
    {
        HERALD_ASSERT(!is_error());
        return m_value;
    }
    const T& value() const
    {
        HERALD_ASSERT(!is_error());
        return m_value;
    }
    T release_value() { return value(); }

private:
    T m_value {};
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
