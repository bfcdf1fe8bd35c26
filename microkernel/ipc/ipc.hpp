// The IPC system calls (ABI: abi/ipc.hpp; docs/ipc.md).
#pragma once

#include "../abi/syscalls.hpp"
#include "../lib/error.hpp"
#include "../lib/types.hpp"
#include "../object/ref.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}
struct Task;
struct Thread;
class AddressSpace;
class PageView;
class KernelObject;
class Endpoint;
class Notification;
struct IpcMessage;

// The fast paths (fastpath.cpp): true when they did the whole call, false
// when one of their guards sends it to the full path instead.
bool fastpath_call(Thread& self, x86::InterruptFrame& frame);
bool fastpath_reply_receive(Thread& self, x86::InterruptFrame& frame);

// The IPC fast paths for `self`'s system call `number`, before the
// dispatcher's table: true when one of them did the whole call, its result
// and message already in `frame`. Inline: every system call passes here.
inline bool ipc_fastpath(Thread& self, u64 number, x86::InterruptFrame& frame)
{
    if (number == static_cast<u64>(abi::SyscallNumber::IpcCall))
        return fastpath_call(self, frame);
    if (number == static_cast<u64>(abi::SyscallNumber::IpcReplyReceive))
        return fastpath_reply_receive(self, frame);
    return false;
}

// For a server's call that does work on its caller's behalf before it
// answers (MemoryMapReply, syscall/memory_control.cpp), in three steps:
//
// The caller `self`'s reply right names, claimed: nobody else (a kill of
// the caller's task: ipc_cancel_wait) can end its wait now, so the caller,
// its task and its address space stay until it is answered. nullptr: no
// call to answer (none received, answered already, or its task was killed
// meanwhile and the kill took the right).
Thread* ipc_claim_caller(Thread& self);
// Gives a claimed right back unanswered (the work failed: the server
// answers later, as after any call). A kill that looked meanwhile found the
// right taken and left the caller waiting: the right is then taken back at
// once and the caller ends (PeerGone), so the server's later answer finds
// nobody (ReplyReceive just receives; a reply alone: NoReply).
void ipc_unclaim_caller(Thread& self, Thread& caller);
// Answers a claimed caller with a reply of MessageInfo `info` and one word,
// `word0` (the other words and the badge zero; no payload, no handle: all
// a fault's answer is) and receives the next message on `handle`, as
// ReplyReceive does (on the fast path when it can, fastpath.cpp): the
// message lands in `self`'s frame; the result is the receive's. The reply
// is passed as two words, not as an IpcMessage, so that it is not built in
// memory only to be copied into the caller's registers.
ErrorOr<u64> ipc_answer_and_receive(Thread& self, Thread& caller, u64 info, u64 word0, u64 handle);

// A thread on its way out: a caller waiting for its reply gets PeerGone.
void ipc_thread_exiting(Thread& thread);

// Takes a thread out of the endpoint or notification queue it waits in, or
// takes its server's reply right back if it waits for a reply, and wakes it
// with PeerGone: a task being killed must not stay blocked. Call with the
// task table lock held (kill_task), which keeps the server's Thread alive.
void ipc_cancel_wait(Thread& thread);

// A Call made by the kernel in `self`'s name (a page fault for the pager):
// blocks `self` until the reply, which lands in `reply`. The error a system
// call would have got (PeerGone: the server died, or the thread's task is
// being killed). The caller keeps `endpoint` alive throughout (the pager's
// endpoint is the kernel's for good). A server thread waiting on this CPU
// gets the message on a fast path (fastpath.cpp; docs/ipc.md, "The
// kernel's Call"), with interrupts off; anything else takes the full path.
ErrorOr<void> ipc_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message, IpcMessage& reply);

// The same for a message of three words and the kernel's badge (abi::
// kKernelBadge), of which only the reply's MessageInfo and first word are
// wanted: a page fault's Call to the pager (services/memory_server.cpp).
// Nothing is built or copied in memory on the way (no IpcMessage for the
// request, none for the reply): the words go from registers into the
// server's frame, and the answer comes back in two.
struct KernelCallAnswer {
    u64 info;
    u64 word0;
};
ErrorOr<KernelCallAnswer> ipc_short_call_from_kernel(Thread& self, Endpoint& endpoint, u64 info, u64 word0, u64 word1,
    u64 word2);

// Test images only (tests/insystem/ipc_copy_tests.cpp): when set, every IPC
// payload copy calls it with the receiver's space and its buffer's page (as
// the kernel reaches it through the physmap), its views taken, before the
// bytes go: a test widens the window there between the look-up and the
// copy, which a MemoryUnmap must not get into (docs/memory.md, "Views").
// Null in every other image: one test of a global per payload.
using PayloadCopyHook = void (*)(const AddressSpace& destination, u8* destination_page);
extern PayloadCopyHook g_payload_copy_hook;

// The caller's IPC buffer as the kernel sees it (through the physmap), for a
// service answering in its thread (object/kernel_service.hpp): a view
// (PageView, mm/address_space.hpp), since the service reads and writes it
// for its whole answer while another thread of the caller's task may have
// the page released. None if it has no buffer, or its page is no longer
// mapped user-writable (heap pages can be released).
PageView view_ipc_buffer(Thread& self);

// For the kernel (bootstrap, tests): put `object` in `task`'s handle table.
// Returns the handle, or 0 when the table is full.
u64 grant_handle(Task& task, KernelObject& object, u32 rights, u64 badge, u64 index = 0);
// The same, saying why not: QuotaExceeded when the task holds as many
// handles (of that kind) as it may (handle_table.hpp), SlotTaken, ...
ErrorOr<u64> install_handle(Task& task, KernelObject& object, u32 rights, u64 badge, u64 index = 0);

} // namespace herald
