// Typed results for libipc: Result<T> holds either a T or an ipc::Error.
//
// Mirrors herald::ErrorOr (microkernel/lib/error.hpp) but stands alone:
// libipc is used by ring-3 programs and by host tests, so it includes only
// freestanding C headers and the ABI, never the kernel's library.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "libipc/basic_result.hpp"
#include "microkernel/abi/syscalls.hpp"

namespace ipc {

// The first values are the kernel's (abi::SyscallError), so a failed
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
    NotGranted = -12, // beyond what a device handle covers (docs/drivers.md)
    Busy = -13,       // an interrupt line bound already
    NotDeviceMemory = -14, // RAM or the kernel's own registers given as device memory

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
    case Error::NotGranted: return "not granted";
    case Error::Busy: return "busy";
    case Error::NotDeviceMemory: return "not device memory";
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
LIBIPC_SAME_AS_KERNEL(NotGranted);
LIBIPC_SAME_AS_KERNEL(Busy);
LIBIPC_SAME_AS_KERNEL(NotDeviceMemory);
#undef LIBIPC_SAME_AS_KERNEL

// A value or an Error (the one template is libipc/basic_result.hpp, shared
// with the FAT library).
template<typename T>
using Result = herald::BasicResult<T, Error>;

} // namespace ipc

// Propagates an error to the caller: evaluates to the value on success.
#define IPC_TRY(expr) RESULT_TRY(expr)
