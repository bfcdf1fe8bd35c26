// The IPC system calls (ABI: abi/ipc.hpp; docs/ipc.md).
#pragma once

#include "../lib/types.hpp"

namespace herald {

namespace x86 {
struct InterruptFrame;
}
struct Task;
struct Thread;
class KernelObject;
class Endpoint;
class Notification;
struct IpcMessage;

// Handles one IPC system call; the result and any message go into `frame`.
// Returns false for a number that is not an IPC call.
bool handle_ipc_syscall(u64 number, x86::InterruptFrame& frame);

// A thread on its way out: a caller waiting for its reply gets PeerGone.
void ipc_thread_exiting(Thread& thread);

// Takes a thread out of the endpoint or notification queue it waits in, or
// takes its server's reply right back if it waits for a reply, and wakes it
// with PeerGone: a task being killed must not stay blocked. Call with the
// task table lock held (kill_task), which keeps the server's Thread alive.
void ipc_cancel_wait(Thread& thread);

// A Call made by the kernel in `self`'s name (a page fault for the pager):
// blocks `self` until the reply, which lands in `reply`. Returns 0, or the
// negative SyscallError a system call would have got (PeerGone: the server
// died, or the thread's task is being killed).
i64 ipc_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message, IpcMessage& reply);

// ORs `bits` into `notification` and wakes one waiter; any context, also
// an interrupt handler (a device's interrupt delivered to its server).
void notification_signal(Notification& notification, u64 bits);
// Blocks `self` (in a system call) until some bit is set; returns the bits,
// or a negative SyscallError (PeerGone: the task is being killed, or the
// notification went away). Takes over one reference the caller holds.
i64 notification_wait(Thread& self, Notification& notification);

// For the kernel (bootstrap, tests): put `object` in `task`'s handle table.
// Returns the handle, or 0 when the table is full.
u64 grant_handle(Task& task, KernelObject& object, u32 rights, u64 badge, u64 index = 0);

} // namespace herald
