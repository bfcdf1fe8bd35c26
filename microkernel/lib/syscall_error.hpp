// The kernel's errors as a program sees them: every Error encodes as one
// abi::SyscallError, in the result register (RAX), at one place, the
// system-call dispatch (and the wake-up of a thread blocked in IPC, whose
// result its partner writes). The ABI's numbers keep their meanings: where
// the kernel tells two cases apart that the ABI does not (WrongType next to
// BadHandle), both encode as the ABI's one code. Portable (host-tested).
#pragma once

#include "../abi/syscalls.hpp"
#include "error.hpp"
#include "types.hpp"

namespace herald {

constexpr abi::SyscallError to_syscall_error(Error error)
{
    using abi::SyscallError;
    switch (error) {
    case Error::BadNumber: return SyscallError::BadNumber;
    case Error::BadAddress: return SyscallError::BadAddress;
    case Error::BadLength: return SyscallError::BadLength;
    case Error::BadHandle:
    case Error::WrongType: return SyscallError::BadHandle; // "not a handle of the caller, or of the wrong kind"
    case Error::NoRights: return SyscallError::NoRights;
    case Error::PeerGone: return SyscallError::PeerGone;
    case Error::TimedOut: return SyscallError::TimedOut;
    case Error::OutOfMemory: return SyscallError::NoMemory;
    case Error::NoReply: return SyscallError::NoReply;
    case Error::QuotaExceeded: return SyscallError::QuotaExceeded;
    // Everything else is an argument the kernel could not use (a taken
    // handle index, a malformed program name...): the handler picks a more
    // precise code where the ABI has one.
    default: return SyscallError::BadArgument;
    }
}

// The one Error each ABI code decodes to (the first of those that encode
// as it), for a result a woken thread finds in its frame.
constexpr Error from_syscall_error(abi::SyscallError error)
{
    using abi::SyscallError;
    switch (error) {
    case SyscallError::BadNumber: return Error::BadNumber;
    case SyscallError::BadAddress: return Error::BadAddress;
    case SyscallError::BadLength: return Error::BadLength;
    case SyscallError::BadArgument: return Error::BadArgument;
    case SyscallError::BadHandle: return Error::BadHandle;
    case SyscallError::NoRights: return Error::NoRights;
    case SyscallError::PeerGone: return Error::PeerGone;
    case SyscallError::TimedOut: return Error::TimedOut;
    case SyscallError::NoMemory: return Error::OutOfMemory;
    case SyscallError::NoReply: return Error::NoReply;
    case SyscallError::QuotaExceeded: return Error::QuotaExceeded;
    }
    return Error::BadArgument;
}

// What RAX gets: the value (at most 2^63 - 1), or the negative ABI code.
inline u64 encode_result(const ErrorOr<u64>& result)
{
    if (result.is_error())
        return static_cast<u64>(static_cast<i64>(to_syscall_error(result.error())));
    return result.value();
}

// A result already encoded in RAX (by whoever woke a blocked thread).
inline ErrorOr<u64> decode_result(u64 rax)
{
    if (static_cast<i64>(rax) < 0)
        return from_syscall_error(static_cast<abi::SyscallError>(static_cast<i64>(rax)));
    return rax;
}

} // namespace herald
