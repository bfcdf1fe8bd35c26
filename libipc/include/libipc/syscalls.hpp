// The IPC system calls from ring 3, exactly as microkernel/abi/ipc.hpp lays
// out the registers: RAX number in and status out, RDI handle in and badge
// out, RSI MessageInfo in and out, message words 0-7 in RDX, R10, R8, R9,
// R12, R13, R14, R15 in and out. SYSCALL clobbers RCX and R11; "memory"
// because the kernel reads and writes the IPC buffer behind the compiler's
// back.
//
// Only for Herald's ring-3 programs: host tests never include this header
// (they use a fake Transport), which is why it is separate from
// transport.hpp.
#pragma once

#if !defined(__x86_64__)
#error "libipc/syscalls.hpp is for Herald's x86-64 ring-3 programs"
#endif

#include <stddef.h>
#include <stdint.h>

#include "libipc/message.hpp"
#include "libipc/result.hpp"
#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/syscalls.hpp"

namespace ipc::sys {

using herald::abi::SyscallNumber;

constexpr uint64_t number_of(SyscallNumber number) { return static_cast<uint64_t>(number); }

// Every register of a message, in and out.
struct Registers {
    uint64_t rdi; // handle in, badge out
    uint64_t rsi; // MessageInfo
    uint64_t words[kMessageWords];
};

// One IPC system call with the whole message in registers; returns RAX.
// Every message register is an in/out operand: the kernel writes the
// received message over them.
inline int64_t message_syscall(SyscallNumber number, Registers& registers)
{
    uint64_t rax = number_of(number);
    uint64_t rdx = registers.words[0];
    register uint64_t r10 asm("r10") = registers.words[1];
    register uint64_t r8 asm("r8") = registers.words[2];
    register uint64_t r9 asm("r9") = registers.words[3];
    register uint64_t r12 asm("r12") = registers.words[4];
    register uint64_t r13 asm("r13") = registers.words[5];
    register uint64_t r14 asm("r14") = registers.words[6];
    register uint64_t r15 asm("r15") = registers.words[7];
    asm volatile("syscall"
                 : "+a"(rax), "+D"(registers.rdi), "+S"(registers.rsi), "+d"(rdx), "+r"(r10), "+r"(r8), "+r"(r9),
                 "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
                 :
                 : "rcx", "r11", "memory");
    registers.words[0] = rdx;
    registers.words[1] = r10;
    registers.words[2] = r8;
    registers.words[3] = r9;
    registers.words[4] = r12;
    registers.words[5] = r13;
    registers.words[6] = r14;
    registers.words[7] = r15;
    return static_cast<int64_t>(rax);
}

// The calls with at most three plain arguments (RDI, RSI, RDX).
inline int64_t simple_syscall(SyscallNumber number, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0)
{
    int64_t result;
    asm volatile("syscall"
                 : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3)
                 : "a"(number_of(number))
                 : "rcx", "r11", "memory");
    return result;
}

inline Result<uint64_t> value_or_error(int64_t status)
{
    if (status < 0)
        return error_from_status(status);
    return static_cast<uint64_t>(status);
}

inline Result<void> ok_or_error(int64_t status)
{
    if (status < 0)
        return error_from_status(status);
    return {};
}

// ---- scheduling ----

// Lets other threads run first (for a client polling for something).
inline Result<void> yield() { return ok_or_error(simple_syscall(SyscallNumber::Yield)); }
// Blocks for at least `milliseconds` (at most herald::abi::kMaxSleepMs,
// else BadArgument); the kernel wakes sleepers on its 10 ms tick.
inline Result<void> sleep_ms(uint64_t milliseconds)
{
    return ok_or_error(simple_syscall(SyscallNumber::Sleep, milliseconds));
}

// ---- handles and the IPC buffer ----

inline Result<Handle> endpoint_create() { return value_or_error(simple_syscall(SyscallNumber::EndpointCreate)); }
inline Result<Handle> notification_create() { return value_or_error(simple_syscall(SyscallNumber::NotificationCreate)); }
inline Result<void> handle_close(Handle handle) { return ok_or_error(simple_syscall(SyscallNumber::HandleClose, handle)); }

// A new handle to the same object with `rights` (a subset of the
// original's) and `badge` (ignored if the original already has one).
inline Result<Handle> handle_mint(Handle handle, uint32_t rights, Badge badge)
{
    return value_or_error(simple_syscall(SyscallNumber::HandleMint, handle, rights, badge));
}

// `buffer`: a page-aligned, writable kIpcBufferSize bytes of the calling
// thread's, or nullptr to have none (payloads sent to it are then dropped).
inline Result<void> set_ipc_buffer(void* buffer)
{
    return ok_or_error(simple_syscall(SyscallNumber::SetIpcBuffer, reinterpret_cast<uint64_t>(buffer)));
}

// ---- messages ----

namespace detail {

inline Result<Registers> registers_for(Handle handle, const Message& message)
{
    Registers registers { handle, IPC_TRY(encode_info(message)), {} };
    for (size_t i = 0; i < kMessageWords; ++i)
        registers.words[i] = message.words[i];
    return registers;
}

inline Result<Message> message_from(const Registers& registers, bool has_badge)
{
    Message message;
    IPC_TRY(decode_info(registers.rsi, message));
    for (size_t i = 0; i < kMessageWords; ++i)
        message.words[i] = registers.words[i];
    message.badge = has_badge ? registers.rdi : 0;
    return message;
}

} // namespace detail

inline Result<void> send(Handle endpoint, const Message& message)
{
    Registers registers = IPC_TRY(detail::registers_for(endpoint, message));
    return ok_or_error(message_syscall(SyscallNumber::IpcSend, registers));
}

inline Result<Message> receive(Handle endpoint)
{
    Registers registers { endpoint, 0, {} };
    IPC_TRY(ok_or_error(message_syscall(SyscallNumber::IpcReceive, registers)));
    return detail::message_from(registers, true);
}

inline Result<Message> call(Handle endpoint, const Message& message)
{
    Registers registers = IPC_TRY(detail::registers_for(endpoint, message));
    IPC_TRY(ok_or_error(message_syscall(SyscallNumber::IpcCall, registers)));
    return detail::message_from(registers, false); // a reply has no badge
}

inline Result<Message> reply_receive(Handle endpoint, const Message& reply)
{
    Registers registers = IPC_TRY(detail::registers_for(endpoint, reply));
    IPC_TRY(ok_or_error(message_syscall(SyscallNumber::IpcReplyReceive, registers)));
    return detail::message_from(registers, true);
}

// Sets the reply right to the call just received aside: the handle returned
// answers it later (reply_to), after other calls; the caller waits until then.
inline Result<Handle> reply_save() { return value_or_error(simple_syscall(SyscallNumber::IpcReplySave)); }

// Answers a saved reply; the handle is used up, whether the caller was still
// waiting (ok) or not (NoReply).
inline Result<void> reply_to(Handle saved_reply, const Message& reply)
{
    Registers registers = IPC_TRY(detail::registers_for(saved_reply, reply));
    return ok_or_error(message_syscall(SyscallNumber::IpcReplyTo, registers));
}

// ---- notifications ----

inline Result<void> signal(Handle notification, uint64_t bits)
{
    return ok_or_error(simple_syscall(SyscallNumber::NotifySignal, notification, bits));
}

// The bits come back in RAX, so a result >= 0 is the bits: bit 63 cannot be
// waited for (it would read as an error).
inline Result<uint64_t> wait(Handle notification, WaitMode mode, uint64_t timeout_ms = 0)
{
    return value_or_error(
        simple_syscall(SyscallNumber::NotifyWait, notification, static_cast<uint64_t>(mode), timeout_ms));
}

} // namespace ipc::sys
