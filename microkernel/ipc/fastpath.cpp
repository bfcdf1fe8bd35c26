// The IPC fast paths, after seL4's fastpath.c: the common case of Call and
// ReplyReceive (and of MemoryMapReply's answer, ipc_answer_and_receive) when
// the partner is already waiting on this CPU and the message is registers
// only, and of the Call the kernel makes in a thread's name (a page fault
// for the memory server, ipc_short_call_from_kernel). Each path is a
// straight run of guards, each of which hands the call to the full path
// (ipc.cpp) with its reason, then a marked point of no return, then the commit: hand the
// message over and switch straight to the partner, with no run queue in
// between. The one
// branch after that point is for a kill of our own task that looked for our
// wait a moment before we made it findable (docs/ipc.md): then we wake the
// partner instead of switching to it, and end.
//
// No reference is taken on the endpoint (seL4 takes none either): its
// handle is read under the task's handles_lock, and the endpoint's own lock
// is taken before handles_lock is let go (hand over hand, the documented
// lock order). Until then the handle's reference keeps the endpoint alive;
// from then on its lock does: the handle can only be closed (HandleClose,
// the task's exit) under handles_lock, so after we let it go, and
// Endpoint::destroy() takes the endpoint's lock before it frees anything, so
// it waits for ours. Neither path touches the endpoint after letting its
// lock go. A receiver left queued holds no reference, as on the full path.
#include "../abi/ipc.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/syscall_abi.hpp"
#include "../sched/scheduler.hpp"
#include "../sched/switch.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../object/endpoint.hpp"
#include "../object/notification.hpp"
#include "../lib/syscall_error.hpp"
#include "../object/lookup.hpp"
#include "ipc_internal.hpp"

namespace herald {

namespace {

// Only the label: a payload, a handle transfer or unknown bits need the
// checks and copies of the full path.
constexpr u64 kLabelOnly = 0xFFFF'FFFFull;

bool unlikely(bool condition) { return __builtin_expect(condition, false); }

// The system calls' fast paths run in a system call, where interrupts are
// off (SYSCALL clears IF through IA32_FMASK, syscalls.cpp's kFmask) until
// SYSRET; the kernel's Call runs in a page fault's handler (an interrupt
// gate) or a system call, and checks: their locks need not save or restore
// the interrupt flag.
void lock_in_syscall(SpinLock& lock) ACQUIRE(lock) { lock.lock_with_interrupts_off(); }

// Under `self`'s handles_lock: the endpoint its handle names with `rights`
// (and the handle's entry), or nullptr (the full path reports why).
Endpoint* find_endpoint(Task& task, u64 handle, u32 rights, const HandleEntry*& entry) REQUIRES(task.handles_lock)
{
    if (unlikely(!task.handles))
        return nullptr; // its task is ending: no handles any more
    return find_unretained<Endpoint>(*task.handles, handle, rights, entry);
}

} // namespace

bool fastpath_call(Thread& self, x86::InterruptFrame& frame)
{
    if (unlikely(ipc_message_info(frame) & ~kLabelOnly))
        return false; // payload, handle or bad bits: the full path checks and copies them
    Task& task = *self.task;
    lock_in_syscall(task.handles_lock);
    SpinLockGuard handles_guard(task.handles_lock, adopt_lock, kInterruptsWereOff);
    const HandleEntry* entry;
    Endpoint* found = find_endpoint(task, ipc_handle(frame), abi::RightSend, entry);
    if (unlikely(!found))
        return false; // the full path reports the error
    Endpoint& endpoint = *found;
    u64 badge = entry->badge;
    lock_in_syscall(endpoint.lock);
    SpinLockGuard guard(endpoint.lock, adopt_lock, kInterruptsWereOff);
    handles_guard.unlock(); // hand over hand: the endpoint's lock keeps it now
    Thread* server = endpoint.receiver_for(this_processor().index);
    if (unlikely(!server || server->cpu != this_processor().index)) {
        // Nobody waiting (the caller must queue), or the server last ran on
        // another CPU (it must be woken there, by IPI). No on_cpu check:
        // `cpu == here` while we run here means its switch away is over
        // (sched/switch.hpp, scheduler_hand_over_to).
        return false;
    }

    // ---- point of no return ----
    endpoint.receivers.remove(*server);
    guard.unlock();
    server->ipc.blocked_on = nullptr;
    IpcMessage message = read_message(frame);
    message.badge = badge;
    write_message(*server->ipc.frame, message);
    count<Event::IpcFast>();
    give_reply_right(*server, self);
    if (unlikely(kill_seen_after_reply_right(self) && claim_reply_right(*server, self))) {
        // Killed as it called (the kill found no wait yet): the server
        // takes the message, its answer will find nobody; we end now.
        self.ipc.awaiting_reply = false;
        self.ipc.replier = nullptr;
        set_syscall_result(frame, encode_result(Error::PeerGone));
        scheduler_wake(*server);
        return true;
    }
    scheduler_hand_over_to(*server);
    return true; // the reply is in the frame
}

namespace {

// Past a reply-and-receive's point of no return, under `endpoint`'s lock:
// `caller` (its right claimed) gets `reply`, and `self` waits on `endpoint`.
// False when `self`'s own task was killed as it answered (the kill found no
// wait yet): then the caller has its reply, and we end instead of waiting.
[[gnu::always_inline]] inline bool answer_and_queue(Thread& self, Thread& caller, Endpoint& endpoint, const IpcMessage& reply)
    REQUIRES(endpoint.lock)
{
    caller.ipc.awaiting_reply = false;
    caller.ipc.replier = nullptr;
    write_message(*caller.ipc.frame, reply);
    count<Event::IpcFast>();
    __atomic_store_n(&self.ipc.blocked_on, &endpoint, __ATOMIC_SEQ_CST);
    endpoint.receivers.push_back(self);
    if (unlikely(__atomic_load_n(&self.task->kill_requested, __ATOMIC_SEQ_CST))) {
        endpoint.receivers.remove(self);
        self.ipc.blocked_on = nullptr;
        return false;
    }
    self.state = ThreadState::Blocked;
    return true;
}

// Both reply-and-receive paths: `reply` to `caller`, then the next message
// on `handle`. `claim` is the last guard: it takes the reply right
// (ReplyReceive), or finds it taken already (MemoryMapReply's answer).
template<typename Claim>
[[gnu::always_inline]] inline bool reply_and_wait(Thread& self, Thread& caller, const IpcMessage& reply, u64 handle, x86::InterruptFrame& frame,
    Claim claim)
{
    // The caller must be woken on its own CPU. On this one, its switch away
    // is over: we run here (sched/switch.hpp, scheduler_hand_over_to).
    if (unlikely(caller.cpu != this_processor().index))
        return false;
    Task& task = *self.task;
    lock_in_syscall(task.handles_lock);
    SpinLockGuard handles_guard(task.handles_lock, adopt_lock, kInterruptsWereOff);
    const HandleEntry* entry;
    Endpoint* found = find_endpoint(task, handle, abi::RightReceive, entry);
    if (unlikely(!found))
        return false; // the full path replies, then reports the error
    Endpoint& endpoint = *found;
    lock_in_syscall(endpoint.lock);
    SpinLockGuard guard(endpoint.lock, adopt_lock, kInterruptsWereOff);
    handles_guard.unlock(); // hand over hand: the endpoint's lock keeps it now
    if (unlikely(!endpoint.senders.is_empty() || endpoint.bound_bits_pending())) {
        // A message (or a bound notification's bits) is already waiting:
        // the server takes it at once and the caller is woken instead of
        // switched to.
        return false;
    }
    if (unlikely(!claim())) {
        // The caller's task was killed while we got here: no reply to give.
        return false;
    }

    // ---- point of no return ----
    bool waits = answer_and_queue(self, caller, endpoint, reply);
    guard.unlock(); // a queued waiter holds no reference (kernel_object.hpp)
    if (unlikely(!waits)) {
        set_syscall_result(frame, encode_result(Error::PeerGone));
        scheduler_wake(caller);
        return true;
    }
    scheduler_hand_over_to(caller);
    return true; // the next message is in the frame
}

} // namespace

bool fastpath_reply_receive(Thread& self, x86::InterruptFrame& frame)
{
    Thread* caller = __atomic_load_n(&self.ipc.reply_to, __ATOMIC_ACQUIRE);
    if (unlikely(!caller))
        return false; // nothing to reply to: a plain receive
    if (unlikely(ipc_message_info(frame) & ~kLabelOnly))
        return false; // payload, handle or bad bits
    return reply_and_wait(self, *caller, read_message(frame), ipc_handle(frame), frame,
        [&self, caller] { return claim_reply_right(self, *caller); });
}

bool fastpath_answer_receive(Thread& self, Thread& caller, u64 info, u64 word0, u64 handle, x86::InterruptFrame& frame)
{
    // The reply built here, inline: its words past the first are stored as
    // zeros, not copied from a message in memory.
    return reply_and_wait(self, caller, IpcMessage { info, { word0 }, 0 }, handle, frame, [] { return true; });
}

namespace {

// The kernel's Call (ipc_call_from_kernel, ipc_short_call_from_kernel): the
// message is the kernel's own (no handle to look up, no rights to check,
// registers only; `info` its MessageInfo, `write` puts it into the server's
// frame), and the caller keeps the endpoint alive (the pager's is held for
// good), so no reference is taken. The reply lands in self.ipc.frame, which
// the caller has pointed at a frame of its own.
template<typename Write>
[[gnu::always_inline]] inline bool call_from_kernel(Thread& self, Endpoint& endpoint, u64 info, Write write)
{
    if (unlikely(info & ~kLabelOnly))
        return false; // a payload or a handle: the full path copies or grants it
    if (unlikely(x86::read_rflags() & x86::kRflagsInterruptEnable))
        return false; // interrupts on (no caller today): the full path's lock saves and restores them
    u32 cpu = this_processor().index;
    lock_in_syscall(endpoint.lock);
    SpinLockGuard guard(endpoint.lock, adopt_lock, kInterruptsWereOff);
    if (unlikely(endpoint.receive_rights == 0))
        return false; // its server closed its handle: the full path answers PeerGone
    Thread* server = endpoint.receiver_for(cpu);
    if (unlikely(!server || server->cpu != cpu)) {
        // Nobody waiting (the server is busy: the caller must queue with its
        // message), or the waiting thread last ran on another CPU (it must
        // be woken there, by IPI). No on_cpu check: `cpu == here` while we
        // run here means its switch away is over (sched/switch.hpp,
        // scheduler_hand_over_to).
        return false;
    }

    // ---- point of no return ----
    endpoint.receivers.remove(*server);
    guard.unlock();
    server->ipc.blocked_on = nullptr;
    write(*server->ipc.frame); // straight into its receive's registers
    count<Event::IpcFast>();
    give_reply_right(*server, self);
    if (unlikely(kill_seen_after_reply_right(self) && claim_reply_right(*server, self))) {
        // Killed as the kernel called (the kill found no wait yet): the
        // server takes the message, its answer will find nobody; the
        // thread ends on its way out.
        self.ipc.awaiting_reply = false;
        self.ipc.replier = nullptr;
        set_syscall_result(*self.ipc.frame, encode_result(Error::PeerGone));
        scheduler_wake(*server);
        return true;
    }
    scheduler_hand_over_to(*server);
    return true; // the reply (or a kill's PeerGone) is in self.ipc.frame
}

} // namespace

bool fastpath_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message)
{
    return call_from_kernel(self, endpoint, message.info,
        [&message](x86::InterruptFrame& frame) { write_message(frame, message); });
}

// ipc_short_call_from_kernel (ipc.hpp) is here, not in ipc.cpp, so that the
// fast path is inlined into it: its three words go from registers into the
// server's frame, the ones it leaves out are stored as zeros, and no call
// stands between it and its fast path.
ErrorOr<KernelCallAnswer> ipc_short_call_from_kernel(Thread& self, Endpoint& endpoint, u64 info, u64 word0, u64 word1,
    u64 word2)
{
    // As ipc_call_from_kernel (ipc.cpp), through a frame of its own.
    x86::InterruptFrame scratch;
    x86::InterruptFrame* saved = self.ipc.frame;
    self.ipc.frame = &scratch;
    // Built where it is written: a message in memory would be stored only
    // to be copied.
    auto request = [=] { return IpcMessage { info, { word0, word1, word2 }, abi::kKernelBadge }; };
    ErrorOr<u64> status
        = call_from_kernel(self, endpoint, info, [&request](x86::InterruptFrame& frame) { write_message(frame, request()); })
        ? decode_result(syscall_result(scratch))
        : full_call_from_kernel(self, endpoint, request(), scratch);
    self.ipc.frame = saved;
    if (status.is_error())
        return status.error();
    IpcMessage reply = read_message(scratch);
    return KernelCallAnswer { reply.info, reply.words[0] };
}

} // namespace herald
