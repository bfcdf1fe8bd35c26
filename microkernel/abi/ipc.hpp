// The IPC ABI, shared by the kernel and user space (docs/ipc.md).
//
// Objects (kernel): endpoints (synchronous rendezvous), notifications (a
// word of bits), and the implicit reply right a server gets when it
// receives a Call. Tasks name objects through handles: small indices into
// their own handle table, each with rights.
//
// Registers for the IPC system calls (numbers in SyscallNumber):
//   RAX  system-call number in, status out (0 or a negative SyscallError)
//   RDI  handle in; on receive, out: the badge of the handle the message came through
//   RSI  MessageInfo (label, payload length, flags), in and out
//   RDX, R10, R8, R9, R12, R13, R14, R15   message words 0-7, in and out
// So a message is a label plus kMessageWords machine words in registers, and
// optionally up to kMaxPayload bytes copied by the kernel from the sender's
// IPC buffer to the receiver's (a page each thread registers first).
#pragma once

#include <stdint.h>

namespace herald::abi {

inline constexpr uint64_t kMessageWords = 8;
inline constexpr uint64_t kMaxPayload = 4096;
inline constexpr uint64_t kIpcBufferSize = 4096; // one page, page-aligned

// Rights on a handle.
enum Rights : uint32_t {
    RightSend = 1u << 0,    // send, call, signal
    RightReceive = 1u << 1, // receive, wait
    RightGrant = 1u << 2,   // may pass handles along with a message
    // May mint copies with a badge of its choosing (HandleMint) from an
    // unbadged handle. Without it a holder can copy a handle but not choose
    // whom the copy claims to be, so a badge says who the server (or the
    // registry, or the kernel) gave the handle to (docs/ipc.md, "Badges").
    RightMint = 1u << 3,
    RightsAll = RightSend | RightReceive | RightGrant | RightMint,
};

// RSI, in and out. label: whatever the protocol says (bits 0-31);
// payload_length: bytes in the IPC buffer (bits 32-44);
// transfer_handle: word 7 carries a handle to transfer (bit 48).
struct MessageInfo {
    uint32_t label;
    uint32_t payload_length;
    bool transfer_handle;

    static constexpr uint64_t kPayloadShift = 32;
    static constexpr uint64_t kPayloadMask = 0x1FFF;
    static constexpr uint64_t kTransferBit = 1ull << 48;

    constexpr uint64_t encode() const
    {
        return static_cast<uint64_t>(label) | (static_cast<uint64_t>(payload_length & kPayloadMask) << kPayloadShift)
            | (transfer_handle ? kTransferBit : 0);
    }
    static constexpr MessageInfo decode(uint64_t raw)
    {
        return MessageInfo { static_cast<uint32_t>(raw), static_cast<uint32_t>((raw >> kPayloadShift) & kPayloadMask),
            (raw & kTransferBit) != 0 };
    }
    // Bits no version of the ABI uses: a message that sets them is refused.
    static constexpr uint64_t kReservedBits = ~(0xFFFF'FFFFull | (kPayloadMask << kPayloadShift) | kTransferBit);
};

// NotifyWait modes (RSI).
enum class WaitMode : uint64_t {
    Poll = 0,    // return at once, with whatever bits are set (maybe none)
    Forever = 1, // block until some bit is set
    Timeout = 2, // block at most RDX milliseconds; SyscallError::TimedOut after
};

// Messages the kernel itself sends (a page fault for the pager, a bound
// notification's bits) carry badges with this bit; HandleMint refuses it,
// so no task can forge one.
inline constexpr uint64_t kKernelBadge = 1ull << 63;

// A notification bound to an endpoint (a server's device interrupt, say)
// arrives at a thread receiving on the endpoint as a message of its own:
// label kNotificationLabel, word 0 the bits (now clear), badge
// kNotificationBadge. No sender can forge it (HandleMint refuses bit 63).
inline constexpr uint32_t kNotificationLabel = 0x4E4F'5449; // "NOTI"
inline constexpr uint64_t kNotificationBadge = kKernelBadge | 1;

// Fault isolation, side by side (docs/placement.md): a request that makes a
// server (memory, loader, console) fault on purpose, with a store through a
// null pointer. Every server honours it, in ring 3 and in ring 0, but only
// with abi::kKernelBadge: no task can send it, and only the kernel of the
// test and benchmark images does (microkernel/services/fault_injection.cpp).
inline constexpr uint32_t kFaultInjectionLabel = 0x4641'554C; // "FAUL"

// Handles every task holds when it starts (docs/ipc.md). Others it gets in
// messages or creates.
enum WellKnownHandle : uint64_t {
    HandleNone = 0,       // never a valid handle
    HandleRegistry = 1,   // send: the name registry endpoint (if one exists yet), badged with the task's id
    HandleMemory = 2,     // send: the memory service (libipc/protocols/memory.hpp), badged with the task's id
    HandleFirstFree = 3,
};

inline constexpr uint64_t kMaxHandles = 256; // per task (index 0 is never one: 255 usable)
// Of those, at most this many to endpoints and notifications together, and
// this many saved replies; one more is SyscallError::QuotaExceeded
// (microkernel/object/handle_table.hpp says why these figures).
inline constexpr uint64_t kMaxIpcObjectHandles = 128;
inline constexpr uint64_t kMaxSavedReplyHandles = 64;

} // namespace herald::abi
