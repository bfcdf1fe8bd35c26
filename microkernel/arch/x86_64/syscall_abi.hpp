// The system-call ABI in x86-64 registers (abi/syscalls.hpp, abi/ipc.hpp,
// docs/syscalls.md): the one place that names which register carries what.
// The rest of the kernel sees SyscallArgs, a result, and messages.
//
//   RAX                       number in, result out
//   RDI RSI RDX R10 R8 R9     arguments 1-6 (R10: SYSCALL takes RCX)
//   RDI                       IPC: the handle in, the badge out
//   RSI                       IPC: MessageInfo in and out
//   RDX R10 R8 R9 R12-R15     IPC: message words 0-7 in and out
#pragma once

#include "../../lib/ipc_message.hpp"
#include "interrupt_frame.hpp"

namespace herald {

// A system call's number and arguments, read where they are (nothing is
// copied: a handler reads the ones it takes).
class SyscallArgs {
public:
    explicit SyscallArgs(const x86::InterruptFrame& frame) : m_frame(frame) { }

    u64 number() const { return m_frame.rax; }
    // Argument `index` (0-5); always a constant at the call.
    u64 arg(usize index) const
    {
        switch (index) {
        case 0: return m_frame.rdi;
        case 1: return m_frame.rsi;
        case 2: return m_frame.rdx;
        case 3: return m_frame.r10;
        case 4: return m_frame.r8;
        default: return m_frame.r9;
        }
    }

private:
    const x86::InterruptFrame& m_frame;
};

inline SyscallArgs syscall_args(const x86::InterruptFrame& frame) { return SyscallArgs(frame); }

inline u64 syscall_number(const x86::InterruptFrame& frame) { return frame.rax; }
inline u64 syscall_result(const x86::InterruptFrame& frame) { return frame.rax; }
inline void set_syscall_result(x86::InterruptFrame& frame, u64 result) { frame.rax = result; }
// The handle an IPC call names (argument 1).
inline u64 ipc_handle(const x86::InterruptFrame& frame) { return frame.rdi; }
// Its MessageInfo, unchecked (the fast paths look at it before anything else).
inline u64 ipc_message_info(const x86::InterruptFrame& frame) { return frame.rsi; }

// The message a thread passes in its system-call registers (abi/ipc.hpp);
// the badge is 0 (the kernel adds the handle's).
inline IpcMessage read_message(const x86::InterruptFrame& frame)
{
    return IpcMessage { frame.rsi, { frame.rdx, frame.r10, frame.r8, frame.r9, frame.r12, frame.r13, frame.r14, frame.r15 }, 0 };
}

// A message delivered to a frame, with the badge it came with.
inline IpcMessage read_delivered_message(const x86::InterruptFrame& frame)
{
    IpcMessage message = read_message(frame);
    message.badge = frame.rdi;
    return message;
}

// Puts `message` (and result 0) into a thread's system-call registers.
inline void write_message(x86::InterruptFrame& frame, const IpcMessage& message)
{
    frame.rax = 0;
    frame.rdi = message.badge;
    frame.rsi = message.info;
    frame.rdx = message.words[0];
    frame.r10 = message.words[1];
    frame.r8 = message.words[2];
    frame.r9 = message.words[3];
    frame.r12 = message.words[4];
    frame.r13 = message.words[5];
    frame.r14 = message.words[6];
    frame.r15 = message.words[7];
}

} // namespace herald
