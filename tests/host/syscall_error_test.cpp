#include "microkernel/lib/syscall_error.hpp"

#include <catch2/catch.hpp>

using namespace herald;

namespace {

constexpr abi::SyscallError kAbiErrors[] = {
    abi::SyscallError::BadNumber, abi::SyscallError::BadAddress, abi::SyscallError::BadLength,
    abi::SyscallError::BadArgument, abi::SyscallError::BadHandle, abi::SyscallError::NoRights,
    abi::SyscallError::PeerGone, abi::SyscallError::TimedOut, abi::SyscallError::NoMemory,
    abi::SyscallError::NoReply, abi::SyscallError::QuotaExceeded,
};

} // namespace

TEST_CASE("syscall errors: every ABI code decodes and encodes back to itself", "[syscall]")
{
    for (abi::SyscallError code : kAbiErrors) {
        u64 rax = static_cast<u64>(static_cast<i64>(code));
        ErrorOr<u64> decoded = decode_result(rax);
        REQUIRE(decoded.is_error());
        CHECK(to_syscall_error(decoded.error()) == code);
        CHECK(encode_result(decoded) == rax);
    }
}

TEST_CASE("syscall errors: the ABI's numbers keep their meanings", "[syscall]")
{
    // docs/syscalls.md, "Errors": programs and libipc test for these numbers.
    CHECK(encode_result(Error::BadNumber) == static_cast<u64>(-1));
    CHECK(encode_result(Error::BadAddress) == static_cast<u64>(-2));
    CHECK(encode_result(Error::BadLength) == static_cast<u64>(-3));
    CHECK(encode_result(Error::BadArgument) == static_cast<u64>(-4));
    CHECK(encode_result(Error::BadHandle) == static_cast<u64>(-5));
    CHECK(encode_result(Error::WrongType) == static_cast<u64>(-5)); // a handle of the wrong kind is BadHandle to a program
    CHECK(encode_result(Error::NoRights) == static_cast<u64>(-6));
    CHECK(encode_result(Error::PeerGone) == static_cast<u64>(-7));
    CHECK(encode_result(Error::TimedOut) == static_cast<u64>(-8));
    CHECK(encode_result(Error::OutOfMemory) == static_cast<u64>(-9));
    CHECK(encode_result(Error::NoReply) == static_cast<u64>(-10));
    CHECK(encode_result(Error::QuotaExceeded) == static_cast<u64>(-11));
    CHECK(encode_result(Error::SlotTaken) == static_cast<u64>(-4));
}

TEST_CASE("syscall errors: values pass through untouched", "[syscall]")
{
    CHECK(encode_result(ErrorOr<u64>(0u)) == 0);
    CHECK(encode_result(ErrorOr<u64>(0x7FFF'FFFF'FFFF'FFFFull)) == 0x7FFF'FFFF'FFFF'FFFFull);
    ErrorOr<u64> bits = decode_result(0x7FFF'FFFF'FFFF'FFFFull); // a notification's bits (bit 63 is never set)
    REQUIRE(!bits.is_error());
    CHECK(bits.value() == 0x7FFF'FFFF'FFFF'FFFFull);
}
