// Typed results for libipc: Result<T> holds either a T or an ipc::Error.
//
// Mirrors herald::ErrorOr (microkernel/lib/error.hpp) but stands alone:
// libipc is used by ring-3 programs and by host tests, so it includes only
// freestanding C headers and the ABI, never the kernel's library.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "microkernel/abi/syscalls.hpp"

namespace ipc {

// The first ten values are the kernel's (abi::SyscallError), so a failed
// system call turns into an Error by a cast. libipc's own errors start at
// -64, leaving the kernel room to add more; a protocol's own errors live
// below kFirstProtocolError (see protocol_error()).
enum class Error : int64_t {
    // From the kernel.
    BadNumber = -1,   // no such system call (a kernel without IPC)
    BadAddress = -2,  // a pointer or the IPC buffer is not usable
    BadLength = -3,   // a payload longer than kMaxPayload
    BadArgument = -4, // another argument out of range (reserved MessageInfo bits, ...)
    BadHandle = -5,   // not a handle of the caller, or of the wrong kind
    NoRights = -6,    // the handle lacks the right
    PeerGone = -7,    // the other side was closed or died
    TimedOut = -8,    // a wait with a timeout ran out
    NoMemory = -9,    // the kernel could not allocate
    NoReply = -10,    // a reply with nobody waiting for it
    QuotaExceeded = -11, // the task holds as many handles (of that kind) as a task may

    // libipc's own.
    BadMessage = -64,      // a message whose label or shape is not what the protocol says
    UnknownLabel = -65,    // the server's protocol has no operation with the request's label
    Unsupported = -66,     // this transport cannot do that (e.g. it has no payload buffer)
    InvalidRequest = -67,  // the server understood the request and refuses its content
    NotFound = -68,        // the request names something the server does not have
    Denied = -69,          // the server does not allow this client to do that
    Deferred = -70,        // a handler's answer to ipc::serve: "I saved the reply
                           // (Transport::save_reply) and answer later"; never sent
    ServerRestarted = -71, // ReconnectingClient: the server ended during a call that
                           // is not idempotent; it may or may not have done it, and
                           // the call was not sent again (the next call reconnects)
};

// Codes below this one are free for a protocol's own errors.
inline constexpr int64_t kFirstProtocolError = -1024;

// A protocol-specific error: protocol_error(0) is kFirstProtocolError - 0,
// and so on downwards. They travel like any other Error.
constexpr Error protocol_error(uint32_t index)
{
    return static_cast<Error>(kFirstProtocolError - static_cast<int64_t>(index));
}

// The kernel's status in RAX as an Error (only for status < 0).
constexpr Error error_from_status(int64_t status) { return static_cast<Error>(status); }

constexpr const char* error_name(Error error)
{
    switch (error) {
    case Error::BadNumber: return "bad system-call number";
    case Error::BadAddress: return "bad address";
    case Error::BadLength: return "bad length";
    case Error::BadArgument: return "bad argument";
    case Error::BadHandle: return "bad handle";
    case Error::NoRights: return "no rights";
    case Error::PeerGone: return "peer gone";
    case Error::TimedOut: return "timed out";
    case Error::NoMemory: return "no memory";
    case Error::NoReply: return "no reply";
    case Error::QuotaExceeded: return "quota exceeded: too many handles of that kind";
    case Error::BadMessage: return "bad message";
    case Error::UnknownLabel: return "unknown label";
    case Error::Unsupported: return "unsupported";
    case Error::InvalidRequest: return "invalid request";
    case Error::NotFound: return "not found";
    case Error::Denied: return "denied";
    case Error::Deferred: return "deferred";
    case Error::ServerRestarted: return "server restarted during the call";
    }
    return static_cast<int64_t>(error) <= kFirstProtocolError ? "protocol error" : "unknown error";
}

// The kernel's errors are ours, value for value.
#define LIBIPC_SAME_AS_KERNEL(name) \
    static_assert(static_cast<int64_t>(Error::name) == static_cast<int64_t>(herald::abi::SyscallError::name))
LIBIPC_SAME_AS_KERNEL(BadNumber);
LIBIPC_SAME_AS_KERNEL(BadAddress);
LIBIPC_SAME_AS_KERNEL(BadLength);
LIBIPC_SAME_AS_KERNEL(BadArgument);
LIBIPC_SAME_AS_KERNEL(BadHandle);
LIBIPC_SAME_AS_KERNEL(NoRights);
LIBIPC_SAME_AS_KERNEL(PeerGone);
LIBIPC_SAME_AS_KERNEL(TimedOut);
LIBIPC_SAME_AS_KERNEL(NoMemory);
LIBIPC_SAME_AS_KERNEL(NoReply);
LIBIPC_SAME_AS_KERNEL(QuotaExceeded);
#undef LIBIPC_SAME_AS_KERNEL

// A value or an Error. T must be trivially copyable: everything that
// crosses IPC is (messages, words, plain structs, byte views), and it lets
// Result live in a union without placement new, which a freestanding build
// has no header for.
template<typename T>
class [[nodiscard]] Result {
    static_assert(__is_trivially_copyable(T), "ipc::Result<T> needs a trivially copyable T");

public:
    constexpr Result(const T& value) : m_value(value), m_has_value(true) { }
    constexpr Result(Error error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr bool has_value() const { return m_has_value; }
    constexpr Error error() const
    {
        if (m_has_value)
            __builtin_trap(); // asking a success for its error is a bug in the caller
        return m_error;
    }
    constexpr T& value()
    {
        if (!m_has_value)
            __builtin_trap(); // as above: check is_error() first
        return m_value;
    }
    constexpr const T& value() const
    {
        if (!m_has_value)
            __builtin_trap();
        return m_value;
    }
    constexpr T release_value() { return value(); }

private:
    union {
        T m_value;
        Error m_error;
    };
    bool m_has_value;
};

template<>
class [[nodiscard]] Result<void> {
public:
    constexpr Result() = default;
    constexpr Result(Error error) : m_error(error), m_has_value(false) { }

    constexpr bool is_error() const { return !m_has_value; }
    constexpr bool has_value() const { return m_has_value; }
    constexpr Error error() const
    {
        if (m_has_value)
            __builtin_trap();
        return m_error;
    }
    constexpr void value() const { }
    constexpr void release_value() const { }

private:
    Error m_error { Error::BadMessage }; // unused while m_has_value
    bool m_has_value { true };
};

} // namespace ipc

// Propagates an error to the caller, like HERALD_TRY: evaluates to the value
// on success (a GNU statement expression, which Clang supports).
#define IPC_TRY(expr)                                    \
    ({                                                   \
        auto _ipc_result = (expr);                       \
        if (_ipc_result.is_error())                      \
            return _ipc_result.error();                  \
        _ipc_result.release_value();                     \
    })
