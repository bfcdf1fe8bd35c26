// ipc_errors: every IPC system call with bad handles, rights, lengths,
// pointers and flags, checking that each answer is the right error. Creates
// its own endpoint and notification. Exits with the number of wrong answers.
#include <stdint.h>

#include "libipc/syscalls.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "user/runtime/syscall.hpp"

using herald::abi::SyscallError;
using herald::abi::SyscallNumber;

namespace {

alignas(4096) uint8_t g_buffer[4096];
const uint8_t g_read_only[4096] = { 1 };
int64_t g_wrong;

int64_t code(SyscallError e) { return static_cast<int64_t>(e); }

void expect(const char* what, int64_t actual, int64_t expected)
{
    if (actual == expected)
        return;
    ++g_wrong;
    herald::user::debug_write("ipc_errors: WRONG ANSWER:");
    herald::user::debug_write(what);
}

int64_t raw(SyscallNumber number, uint64_t handle, uint64_t info)
{
    ipc::sys::Registers registers {};
    registers.rdi = handle;
    registers.rsi = info;
    return ipc::sys::message_syscall(number, registers);
}

uint64_t info(uint32_t label, uint32_t payload, bool transfer)
{
    return herald::abi::MessageInfo { label, payload, transfer }.encode();
}

} // namespace

extern "C" int64_t herald_main(uint64_t)
{
    using namespace herald::user;
    int64_t endpoint = syscall0(number_of(SyscallNumber::EndpointCreate));
    int64_t notification = syscall0(number_of(SyscallNumber::NotificationCreate));
    expect("endpoint create", endpoint > 0, true);
    expect("notification create", notification > 0, true);

    // Bad handles.
    expect("send on handle 0", raw(SyscallNumber::IpcSend, 0, 0), code(SyscallError::BadHandle));
    expect("send on handle 999", raw(SyscallNumber::IpcSend, 999, 0), code(SyscallError::BadHandle));
    expect("call on a notification", raw(SyscallNumber::IpcCall, notification, 0), code(SyscallError::BadHandle));
    expect("receive on handle 2^63", raw(SyscallNumber::IpcReceive, 1ull << 63, 0), code(SyscallError::BadHandle));
    expect("signal an endpoint", syscall2(number_of(SyscallNumber::NotifySignal), endpoint, 1),
        code(SyscallError::BadHandle));

    // Saved replies (there is no call to answer here).
    expect("save a reply with no call received", syscall0(number_of(SyscallNumber::IpcReplySave)),
        code(SyscallError::NoReply));
    expect("reply to handle 999", raw(SyscallNumber::IpcReplyTo, 999, 0), code(SyscallError::BadHandle));
    expect("reply to an endpoint", raw(SyscallNumber::IpcReplyTo, endpoint, 0), code(SyscallError::BadHandle));
    expect("close handle 999", syscall1(number_of(SyscallNumber::HandleClose), 999), code(SyscallError::BadHandle));

    // Rights: a send-only copy cannot receive, a receive-only copy cannot send.
    int64_t send_only = syscall3(number_of(SyscallNumber::HandleMint), endpoint, herald::abi::RightSend, 42);
    int64_t receive_only = syscall3(number_of(SyscallNumber::HandleMint), endpoint, herald::abi::RightReceive, 0);
    expect("mint send-only", send_only > 0, true);
    expect("receive on a send-only handle", raw(SyscallNumber::IpcReceive, send_only, 0), code(SyscallError::NoRights));
    expect("send on a receive-only handle", raw(SyscallNumber::IpcSend, receive_only, 0), code(SyscallError::NoRights));
    expect("mint more rights than held", syscall3(number_of(SyscallNumber::HandleMint), send_only, herald::abi::RightsAll, 0),
        code(SyscallError::NoRights));
    expect("mint unknown rights", syscall3(number_of(SyscallNumber::HandleMint), endpoint, 1u << 7, 0),
        code(SyscallError::NoRights));
    expect("transfer a handle without the grant right", raw(SyscallNumber::IpcSend, send_only, info(1, 0, true)),
        code(SyscallError::NoRights));

    // Messages: reserved bits, payload too long, payload without a buffer.
    expect("reserved info bits", raw(SyscallNumber::IpcSend, endpoint, 1ull << 63), code(SyscallError::BadArgument));
    expect("payload 4097", raw(SyscallNumber::IpcSend, endpoint, info(1, 4097, false)), code(SyscallError::BadLength));
    expect("payload without an IPC buffer", raw(SyscallNumber::IpcSend, endpoint, info(1, 16, false)),
        code(SyscallError::BadAddress));

    // IPC buffers: misaligned, kernel, unmapped, read-only.
    auto set_buffer = [](uint64_t address) { return syscall1(number_of(SyscallNumber::SetIpcBuffer), address); };
    expect("buffer misaligned", set_buffer(reinterpret_cast<uint64_t>(g_buffer) + 8), code(SyscallError::BadAddress));
    expect("buffer in the kernel", set_buffer(0x100000), code(SyscallError::BadAddress));
    expect("buffer unmapped", set_buffer(0x3F'0000'0000), code(SyscallError::BadAddress));
    expect("buffer read-only", set_buffer(reinterpret_cast<uint64_t>(g_read_only) & ~4095ull),
        code(SyscallError::BadAddress));
    expect("buffer good", set_buffer(reinterpret_cast<uint64_t>(g_buffer)), 0);

    // Notifications: poll with nothing set, an unknown mode, signal then poll.
    auto wait = [](int64_t handle, uint64_t mode) { return syscall2(number_of(SyscallNumber::NotifyWait), handle, mode); };
    expect("poll an empty notification", wait(notification, 0), 0);
    expect("wait mode 9", wait(notification, 9), code(SyscallError::BadArgument));
    expect("signal", syscall2(number_of(SyscallNumber::NotifySignal), notification, 0b1010), 0);
    expect("poll after signal", wait(notification, 0), 0b1010);
    expect("poll again: bits were taken", wait(notification, 0), 0);
    expect("signal bit 63", syscall2(number_of(SyscallNumber::NotifySignal), notification, 1ull << 63),
        code(SyscallError::BadArgument));
    expect("signal no bits", syscall2(number_of(SyscallNumber::NotifySignal), notification, 0), 0);
    expect("poll after signalling no bits", wait(notification, 0), 0);
    // Timeouts: nothing set -> TimedOut after the time; set bits come back at once.
    auto wait_for = [](int64_t handle, uint64_t ms) {
        return syscall3(number_of(SyscallNumber::NotifyWait), handle, 2, ms);
    };
    expect("wait 30 ms for nothing", wait_for(notification, 30), code(SyscallError::TimedOut));
    expect("wait with an absurd timeout", wait_for(notification, ~0ull), code(SyscallError::BadArgument));
    syscall2(number_of(SyscallNumber::NotifySignal), notification, 0b100);
    expect("wait with bits already set", wait_for(notification, 1000), 0b100);

    // Closing: a closed handle is gone.
    expect("close", syscall1(number_of(SyscallNumber::HandleClose), send_only), 0);
    expect("use after close", raw(SyscallNumber::IpcSend, send_only, 0), code(SyscallError::BadHandle));
    // With every receive right closed, nobody can answer: PeerGone at once.
    syscall1(number_of(SyscallNumber::HandleClose), receive_only);
    int64_t send_only_again = syscall3(number_of(SyscallNumber::HandleMint), endpoint, herald::abi::RightSend, 0);
    syscall1(number_of(SyscallNumber::HandleClose), endpoint);
    expect("send with no receiver left", raw(SyscallNumber::IpcSend, send_only_again, 0), code(SyscallError::PeerGone));

    return g_wrong;
}
