// Send, receive, call and reply-and-receive on endpoints; signal and wait on
// notifications; creating, minting and closing handles.
//
// A rendezvous always copies the message straight from the sender to the
// receiver: the label and eight words register to register (through the
// system-call frames on their kernel stacks), the optional payload from the
// sender's IPC buffer to the receiver's. When a call or a reply finds its
// partner already waiting on this CPU, the kernel switches straight to it
// (scheduler_block_and_switch_to) instead of going through a run queue; a
// partner on another CPU is woken there, by IPI if that CPU is idle.
#include "ipc.hpp"

#include "../abi/ipc.hpp"
#include "../abi/memory.hpp"
#include "../abi/syscalls.hpp"
#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/syscall_abi.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/page_views.hpp"
#include "../smp/processor.hpp"
#include "../stats/event_counters.hpp"
#include "../task/task.hpp"
#include "../object/endpoint.hpp"
#include "../object/handle_table.hpp"
#include "../object/kernel_service.hpp"
#include "../object/notification.hpp"
#include "../object/retire.hpp"
#include "../object/saved_reply.hpp"
#include "../syscall/user_access.hpp"
#include "ipc_internal.hpp"
#include "message.hpp"
#include "../lib/syscall_error.hpp"
#include "../syscall/handlers.hpp"

namespace herald {

using abi::MessageInfo;
using abi::SyscallError;
using abi::SyscallNumber;

PayloadCopyHook g_payload_copy_hook;

// Through the destination slot: no payload copy runs meanwhile on this CPU
// (a ring-0 service takes it under its lock, with interrupts off).
PageView view_ipc_buffer(Thread& self)
{
    if (!self.ipc.buffer || !self.task->address_space)
        return {};
    return PageView(*self.task->address_space, VirtualAddress(self.ipc.buffer), true, this_cpu_view_slot(kViewDestination));
}

namespace {

// Both IPC buffers are one aligned page (set_buffer) and a payload fits in
// one: a copy is one page a side.
static_assert(abi::kIpcBufferSize == layout::kPageSize && abi::kMaxPayload <= abi::kIpcBufferSize);

// Copies `length` bytes from the sender's IPC buffer to the receiver's
// through the physmap; the destination must be user-writable. All or
// nothing: both pages are looked up before a byte is written. Each look-up
// takes a view of its page (mm/address_space.hpp, PageView): a MemoryUnmap
// of either page meanwhile (by a sibling thread's Release, or the memory
// server's Give) does not hand the frame back, to be another task's, until
// the copy is done (docs/memory.md, "Views").
bool copy_payload(AddressSpace& from, u64 source, AddressSpace& to, u64 destination, u64 length)
{
    PageView in(from, VirtualAddress(source), false, this_cpu_view_slot(kViewSource));
    if (!in)
        return false;
    PageView out(to, VirtualAddress(destination), true, this_cpu_view_slot(kViewDestination));
    if (!out)
        return false;
    if (PayloadCopyHook hook = __atomic_load_n(&g_payload_copy_hook, __ATOMIC_RELAXED); __builtin_expect(hook != nullptr, false))
        hook(to, out.data());
    // Two threads of a task may register the same page as their buffer: a
    // message between them is already where it goes (and memcpy must not
    // get one buffer as both source and destination).
    if (out.data() != in.data())
        __builtin_memcpy(out.data(), in.data(), length);
    return true;
}

// The handle a message carries (transfer_handle, its index in word 7),
// taken with a reference when the message is checked: what arrives is the
// object that was checked, even if a sibling thread of the sender closes or
// reuses the index before the message is delivered (docs/ipc.md, "Threads").
using Transfer = HandleRef<KernelObject>;

// What a message must satisfy before it goes anywhere; the handle it
// carries, if any, goes to `transfer`.
ErrorOr<void> validate(Thread& sender, const IpcMessage& message, u32 handle_rights, Transfer& transfer)
{
    if (message.info & MessageInfo::kReservedBits)
        return Error::BadArgument;
    MessageInfo info = MessageInfo::decode(message.info);
    if (info.payload_length > abi::kMaxPayload)
        return Error::BadLength;
    if (info.payload_length > 0 && !sender.ipc.buffer)
        return Error::BadAddress;
    if (info.transfer_handle) {
        if (!(handle_rights & abi::RightGrant))
            return Error::NoRights;
        transfer = HERALD_TRY(lookup_any(sender, message.words[7]));
    }
    return {};
}

// A queued sender keeps its transfer in its IpcState (a leaked reference);
// whoever delivers takes it back, and the sender drops what is left when it
// wakes (a send that failed).
void park_transfer(Thread& sender, Transfer& transfer)
{
    sender.ipc.outgoing_rights = transfer.rights;
    sender.ipc.outgoing_badge = transfer.badge;
    sender.ipc.outgoing_object = transfer.object.leak(); // held by the queued sender until delivery
}

Transfer unpark_transfer(Thread& sender)
{
    KernelObject* object = sender.ipc.outgoing_object;
    sender.ipc.outgoing_object = nullptr;
    if (!object)
        return {};
    return Transfer { Ref<KernelObject>::adopt(*object), sender.ipc.outgoing_rights, sender.ipc.outgoing_badge };
}

// Moves `message` from `sender` into `receiver`'s frame: registers, the
// payload (dropped if the receiver has no IPC buffer: payload_length 0), and
// a copy of the transferred handle (dropped if the receiver's table is full).
// `transfer` is what validate() took, or null (most messages carry no
// handle: an empty Ref passed by value would cost on every one).
void deliver(Thread& sender, Thread& receiver, IpcMessage message, const Transfer* transfer)
{
    MessageInfo info = MessageInfo::decode(message.info);
    if (info.payload_length > 0) {
        bool copied = receiver.ipc.buffer && sender.task->address_space && receiver.task->address_space
            && copy_payload(*sender.task->address_space, sender.ipc.buffer, *receiver.task->address_space,
                receiver.ipc.buffer, info.payload_length);
        if (copied)
            count<Event::BytesCopied>(info.payload_length);
        else
            info.payload_length = 0;
    }
    if (info.transfer_handle) {
        u64 installed = transfer && transfer->object
            ? grant_handle(*receiver.task, *transfer->object, transfer->rights, transfer->badge)
            : 0;
        message.words[7] = installed;
        info.transfer_handle = installed != 0;
    }
    message.info = info.encode();
    write_message(*receiver.ipc.frame, message);
    count<Event::IpcFull>();
}

} // namespace

// ---- the reply right: give_reply_right and claim_reply_right, inline in
// ipc_internal.hpp ----

namespace {

// ---- endpoints ----

// A Call on a handle that names no endpoint may name a service the kernel
// answers itself (a server built into the kernel): answered at once, like a
// system call, after the checks any message gets (kernel_service.hpp).
// Otherwise `why` is the lookup's error.
ErrorOr<u64> call_kernel_service(Thread& self, u64 handle, Error why)
{
    auto entry = lookup_handle<KernelService>(self, handle, abi::RightSend);
    if (entry.is_error())
        return why;
    HandleRef<KernelService>& service = entry.value();
    IpcMessage message = read_message(*self.ipc.frame);
    Transfer transfer; // checked; the service looks word 7 up in the caller's table itself
    HERALD_TRY(validate(self, message, service.rights, transfer));
    message.badge = service.badge;
    // The service checks the buffer (BadAddress), with no view held through
    // the call here: one that takes payloads takes its view under its lock
    // (at most one a service, for one answer), and the others may wait (the
    // benchmarks' probe yields), which a view must not (a MemoryUnmap spins
    // for it).
    IpcMessage reply = HERALD_TRY(service.object->call(self, message));
    write_message(*self.ipc.frame, reply);
    return 0u;
}

// The caller blocks until `server` replies; run the server right here if it
// last ran here (the fast path), else wake it where it was.
void wait_for_reply_from(Thread& self, Thread& server)
{
    give_reply_right(server, self);
    if (kill_seen_after_reply_right(self) && claim_reply_right(server, self)) {
        // Killed as it called (the kill found no wait yet): the server has
        // the message, but its answer will find nobody; the caller ends now.
        self.ipc.awaiting_reply = false;
        self.ipc.replier = nullptr;
        set_syscall_result(*self.ipc.frame, encode_result(Error::PeerGone));
        scheduler_wake(server);
        return;
    }
    if (server.cpu == this_processor().index) {
        scheduler_block_and_switch_to(server);
    } else {
        scheduler_wake(server);
        scheduler_block_current();
    }
}

ErrorOr<u64> send_message(Thread& self, Ref<Endpoint> endpoint_ref, const IpcMessage& message, bool is_call,
    Transfer* transfer = nullptr);


ErrorOr<u64> send(Thread& self, u64 handle, bool is_call)
{
    auto entry = lookup_handle<Endpoint>(self, handle, abi::RightSend);
    if (entry.is_error()) {
        if (is_call)
            return call_kernel_service(self, handle, entry.error());
        return entry.error();
    }
    IpcMessage message = read_message(*self.ipc.frame);
    message.badge = entry.value().badge;
    Transfer transfer;
    HERALD_TRY(validate(self, message, entry.value().rights, transfer));
    return send_message(self, move(entry.value().object), message, is_call, &transfer);
}

// Sends a checked message. The caller's reference to the endpoint is
// dropped before the thread blocks (a queued waiter holds none).
ErrorOr<u64> send_message(Thread& self, Ref<Endpoint> endpoint_ref, const IpcMessage& message, bool is_call,
    Transfer* transfer)
{
    Endpoint& endpoint = *endpoint_ref;
    SpinLockGuard guard(endpoint.lock);
    if (endpoint.receive_rights == 0) {
        return Error::PeerGone;
    }
    if (Thread* receiver = endpoint.receiver_for(this_processor().index)) {
        endpoint.receivers.remove(*receiver);
        guard.unlock();
        receiver->ipc.blocked_on = nullptr;
        deliver(self, *receiver, message, transfer);
        endpoint_ref.clear(); // before we wait
        if (is_call) {
            wait_for_reply_from(self, *receiver);
            return decode_result(syscall_result(*self.ipc.frame)); // the reply is in the frame
        }
        scheduler_wake(*receiver);
        return 0u;
    }
    // Nobody is receiving yet: wait in the queue with the message.
    self.ipc.outgoing = message;
    if (transfer && transfer->object)
        park_transfer(self, *transfer);
    self.ipc.is_call = is_call;
    __atomic_store_n(&self.ipc.blocked_on, &endpoint, __ATOMIC_RELEASE);
    set_syscall_result(*self.ipc.frame, 0);
    endpoint.senders.push_back(self);
    if (ipc_kill_came_first(self)) {
        endpoint.senders.remove(self);
        self.ipc.blocked_on = nullptr;
        guard.unlock();
        if (self.ipc.outgoing_object)
            unpark_transfer(self); // dropped
        return Error::PeerGone; // it ends on the way out
    }
    self.state = ThreadState::Blocked; // before the lock goes: a receiver may take us at once
    guard.unlock();
    endpoint_ref.clear(); // a queued waiter holds no reference
    scheduler_block_current();
    if (__builtin_expect(self.ipc.outgoing_object != nullptr, false))
        unpark_transfer(self); // what no receiver took (the send failed): dropped
    return decode_result(syscall_result(*self.ipc.frame));
}

// Takes the next message on `handle` into the frame, waiting if none.
ErrorOr<u64> receive(Thread& self, u64 handle, Thread* wake_after_blocking)
{
    auto entry = lookup<Endpoint>(self, handle, abi::RightReceive);
    if (entry.is_error()) {
        if (wake_after_blocking)
            scheduler_wake(*wake_after_blocking);
        return entry.error();
    }
    Ref<Endpoint> endpoint_ref = move(entry.value());
    Endpoint& endpoint = *endpoint_ref;
    SpinLockGuard guard(endpoint.lock);
    bool bits_first = !endpoint.gave_bits_last || endpoint.senders.is_empty();
    endpoint.gave_bits_last = false;
    if (u64 bits = bits_first ? endpoint.take_bound_bits() : 0) {
        endpoint.gave_bits_last = true;
        guard.unlock();
        write_message(*self.ipc.frame, notification_message(bits));
        endpoint_ref.clear();
        if (wake_after_blocking)
            scheduler_wake(*wake_after_blocking);
        return 0u;
    }
    if (Thread* sender = endpoint.senders.pop_front()) {
        guard.unlock();
        sender->ipc.blocked_on = nullptr;
        if (__builtin_expect(sender->ipc.outgoing_object != nullptr, false)) {
            Transfer transfer = unpark_transfer(*sender);
            deliver(*sender, self, sender->ipc.outgoing, &transfer);
        } else {
            deliver(*sender, self, sender->ipc.outgoing, nullptr);
        }
        endpoint_ref.clear();
        if (sender->ipc.is_call) {
            give_reply_right(self, *sender);
            // A kill of the caller that looked for its wait while it was
            // neither queued nor yet waiting for us found nothing: end its
            // wait here (the message is ours; our answer will find nobody).
            if (kill_seen_after_reply_right(*sender) && claim_reply_right(self, *sender))
                ipc_wake_with_status(*sender, Error::PeerGone);
        } else {
            scheduler_wake(*sender); // its send is complete
        }
        if (wake_after_blocking)
            scheduler_wake(*wake_after_blocking);
        return 0u;
    }
    __atomic_store_n(&self.ipc.blocked_on, &endpoint, __ATOMIC_RELEASE);
    endpoint.receivers.push_back(self);
    if (ipc_kill_came_first(self)) {
        endpoint.receivers.remove(self);
        self.ipc.blocked_on = nullptr;
        guard.unlock();
        endpoint_ref.clear();
        if (wake_after_blocking)
            scheduler_wake(*wake_after_blocking);
        return Error::PeerGone; // it ends on the way out
    }
    self.state = ThreadState::Blocked;
    guard.unlock();
    endpoint_ref.clear(); // a queued waiter holds no reference
    if (wake_after_blocking && wake_after_blocking->cpu == this_processor().index)
        scheduler_block_and_switch_to(*wake_after_blocking); // the reply fast path
    else {
        if (wake_after_blocking)
            scheduler_wake(*wake_after_blocking);
        scheduler_block_current();
    }
    return decode_result(syscall_result(*self.ipc.frame));
}

// ---- saved replies (saved_reply.hpp) ----

ErrorOr<u64> close(Thread& self, u64 handle);

// Sets the current reply right aside behind a new handle, so that the server
// can receive (and answer) other calls first.
ErrorOr<u64> reply_save(Thread& self)
{
    Thread* caller = __atomic_load_n(&self.ipc.reply_to, __ATOMIC_ACQUIRE);
    if (!caller)
        return Error::NoReply;
    Ref<SavedReply> reply = SavedReply::create();
    if (!reply)
        return Error::OutOfMemory; // the right stays where it was
    // No grant right: a reply through it carries no handle (a handle travels
    // back only through an endpoint handle with the grant right).
    u64 handle = HERALD_TRY(install_handle(*self.task, *reply, abi::RightSend, 0)); // the right stays where it was
    if (!claim_reply_right(self, *caller)) {
        (void)close(self, handle); // its task was killed meanwhile, and it was woken
        return Error::NoReply;
    }
    if (!reply->link(*caller)) {
        // Killed between the claim and the link: the kill found no wait to
        // cancel, so it is ours to wake.
        ipc_wake_with_status(*caller, Error::PeerGone);
        (void)close(self, handle);
        return Error::NoReply;
    }
    return handle;
}

// Answers a saved reply with the message in the registers. The handle is
// used up (closed) once the message is found valid, whether its caller was
// still waiting (0) or not (NoReply).
ErrorOr<u64> reply_to(Thread& self, u64 handle)
{
    IpcMessage message = read_message(*self.ipc.frame);
    Thread* caller;
    Transfer transfer;
    {
        auto entry = lookup_handle<SavedReply>(self, handle, abi::RightSend);
        if (entry.is_error())
            return entry.error();
        HERALD_TRY(validate(self, message, entry.value().rights, transfer)); // a refused message leaves the right in place
        caller = entry.value().object->take();
    } // our reference goes before the handle's: closing it may destroy the reply
    (void)close(self, handle);
    if (!caller)
        return Error::NoReply; // dropped, or its task was killed
    caller->ipc.awaiting_reply = false;
    caller->ipc.replier = nullptr;
    deliver(self, *caller, message, &transfer);
    scheduler_wake(*caller);
    return 0u;
}

ErrorOr<u64> reply_receive(Thread& self, u64 handle)
{
    Thread* caller = __atomic_load_n(&self.ipc.reply_to, __ATOMIC_ACQUIRE);
    if (caller) {
        // The reply is checked like any message before the reply right is
        // used: a refused reply leaves the right in place, so the server can
        // still answer. A handle may travel back if the endpoint handle
        // passed here (which also needs the receive right) has the grant
        // right (the registry's Lookup does this).
        IpcMessage reply = read_message(*self.ipc.frame);
        u32 rights = 0;
        if (MessageInfo::decode(reply.info).transfer_handle) {
            auto entry = lookup_handle<Endpoint>(self, handle, abi::RightReceive);
            if (entry.is_error())
                return entry.error();
            rights = entry.value().rights;
        }
        Transfer transfer;
        HERALD_TRY(validate(self, reply, rights, transfer));
        if (claim_reply_right(self, *caller)) {
            caller->ipc.awaiting_reply = false;
            caller->ipc.replier = nullptr;
            deliver(self, *caller, reply, &transfer);
        } else {
            caller = nullptr; // its task was killed meanwhile: nobody to wake
        }
    }
    // The caller runs again once we wait (or right away, elsewhere).
    return receive(self, handle, caller);
}

// ---- notifications ----

ErrorOr<u64> signal(Thread& self, u64 handle, u64 bits)
{
    // Bit 63 would make the waiter's result look like an error code.
    if (bits >> 63)
        return Error::BadArgument;
    auto notification = lookup<Notification>(self, handle, abi::RightSend);
    if (notification.is_error())
        return notification.error();
    if (!notification.value()->can_be_waited_on())
        return Error::PeerGone; // nobody can ever wait for these bits
    notification.value()->signal(bits);
    return 0u;
}

ErrorOr<u64> wait(Thread& self, u64 handle, u64 mode, u64 timeout_ms)
{
    if (mode > static_cast<u64>(abi::WaitMode::Timeout))
        return Error::BadArgument;
    if (mode == static_cast<u64>(abi::WaitMode::Timeout) && timeout_ms > abi::kMaxSleepMs)
        return Error::BadArgument;
    auto notification = lookup<Notification>(self, handle, abi::RightReceive);
    if (notification.is_error())
        return notification.error();
    if (mode == static_cast<u64>(abi::WaitMode::Timeout))
        return notification.value()->wait_with_timeout(self, timeout_ms);
    if (mode != static_cast<u64>(abi::WaitMode::Poll))
        return Notification::wait(self, move(notification.value()));
    return notification.value()->take_bits();
}

// ---- handles ----

// The handle holds the object now (or nothing does, and it goes).
ErrorOr<u64> create(Thread& self, Ref<KernelObject> object)
{
    if (!object)
        return Error::OutOfMemory;
    return install_handle(*self.task, *object, abi::RightsAll, 0);
}

ErrorOr<u64> close(Thread& self, u64 handle)
{
    SpinLockGuard guard(self.task->handles_lock);
    HERALD_TRY(self.task->handles->close(handle));
    return 0u;
}

// A new handle to the same object with no more rights than the original,
// and a badge: chosen only with RightMint on an unbadged original; an
// already-badged handle keeps its badge (asking for another is NoRights),
// so that a badge can name whom the handle was given to.
ErrorOr<u64> mint(Thread& self, u64 handle, u64 rights, u64 badge)
{
    auto found = lookup_any(self, handle); // held while it is copied: a sibling thread may close the handle
    if (found.is_error())
        return found.error();
    HandleRef<KernelObject>* entry = &found.value();
    if (rights & ~static_cast<u64>(abi::RightsAll) || (rights & ~static_cast<u64>(entry->rights)))
        return Error::NoRights;
    if (badge & abi::kKernelBadge)
        return Error::BadArgument; // only the kernel's own messages carry it
    if (badge && (entry->badge ? badge != entry->badge : !(entry->rights & abi::RightMint)))
        return Error::NoRights;
    return install_handle(*self.task, *entry->object, static_cast<u32>(rights), entry->badge ? entry->badge : badge);
}

ErrorOr<u64> set_buffer(Thread& self, u64 address)
{
    if (address == 0) {
        self.ipc.buffer = 0;
        return 0u;
    }
    if (address & (abi::kIpcBufferSize - 1) || !self.task->address_space)
        return Error::BadAddress;
    // Payloads are copied through the physmap, which needs the page mapped
    // now: a heap page nobody touched yet is asked for first.
    if (!ensure_user_pages(address, abi::kIpcBufferSize, true))
        return Error::BadAddress;
    auto page = self.task->address_space->translate(VirtualAddress(address));
    if (!page || !page->flags.user || !page->flags.writable || !is_ram_page(*page))
        return Error::BadAddress; // device memory is not in the physmap the payloads are copied through
    self.ipc.buffer = address;
    return 0u;
}

} // namespace

ErrorOr<u64> install_handle(Task& task, KernelObject& object, u32 rights, u64 badge, u64 index)
{
    SpinLockGuard guard(task.handles_lock);
    if (!task.handles)
        return Error::PeerGone; // the task has ended
    if (index) {
        HERALD_TRY(task.handles->insert_at(index, object, rights, badge));
        return index;
    }
    return task.handles->insert(object, rights, badge, abi::HandleFirstFree);
}

u64 grant_handle(Task& task, KernelObject& object, u32 rights, u64 badge, u64 index)
{
    auto handle = install_handle(task, object, rights, badge, index);
    return handle.is_error() ? 0 : handle.value();
}

void ipc_cancel_wait(Thread& thread)
{
    // blocked_on and waiting_on hold no reference: inside the scope, the
    // objects they point at are not freed (retire.hpp).
    CancelScope scope;
    // Under the object's lock, the queue says for certain whether the
    // thread still waits there: a partner may have just taken it.
    if (Endpoint* endpoint = __atomic_load_n(&thread.ipc.blocked_on, __ATOMIC_SEQ_CST)) {
        SpinLockGuard guard(endpoint->lock);
        RunQueue<Thread>* queues[] = { &endpoint->senders, &endpoint->receivers };
        for (RunQueue<Thread>* queue : queues) {
            if (queue->contains(thread)) {
                queue->remove(thread);
                thread.ipc.blocked_on = nullptr;
                ipc_wake_with_status(thread, Error::PeerGone);
                return;
            }
        }
    }
    // (The loads here are seq_cst, like kill_task's store of the flag: see
    // ipc_kill_came_first.)
    // A client waiting for its reply: take the reply right back from the
    // server (the server's Thread stays valid: kill_task holds the task
    // table lock, without which a dying server cannot be freed).
    if (__atomic_load_n(&thread.ipc.awaiting_reply, __ATOMIC_SEQ_CST)) {
        // A saved reply first: then the server no longer holds the right,
        // and may even be gone (`replier` would point at a freed thread).
        if (SavedReply::unlink_caller(thread)) {
            ipc_wake_with_status(thread, Error::PeerGone);
            return;
        }
        Thread* server = __atomic_load_n(&thread.ipc.replier, __ATOMIC_ACQUIRE);
        if (server && claim_reply_right(*server, thread)) {
            ipc_wake_with_status(thread, Error::PeerGone);
            return;
        }
    }
    if (Notification* notification = __atomic_load_n(&thread.ipc.waiting_on, __ATOMIC_SEQ_CST)) {
        SpinLockGuard guard(notification->lock);
        if (notification->waiters.contains(thread)) {
            notification->waiters.remove(thread);
            thread.ipc.waiting_on = nullptr;
            ipc_wake_with_status(thread, Error::PeerGone);
        }
    }
}

// The kernel's Call on the full path, through `scratch` (zeroed, as it
// always was). A reference for the wait's start: send_message drops it
// before the thread blocks.
//
// With interrupts off, as a system call runs it: a kernel thread may call
// with them on (the IPC self-test's kernel_ping(..., false)). A timer tick
// between the caller's wake of the server (or its queueing as a sender) and
// its block would put it in its run queue while it waits; the reply's wake
// would then queue it a second time, and its block, when it ran again,
// would lose that wake-up. Here rather than in wait_for_reply_from: the
// system calls' full paths, which have them off already, pay nothing.
ErrorOr<u64> full_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message, x86::InterruptFrame& scratch)
{
    const bool interrupts_were_on = x86::read_rflags() & x86::kRflagsInterruptEnable;
    x86::disable_interrupts();
    scratch = {};
    ErrorOr<u64> status = send_message(self, Ref<Endpoint>(endpoint), message, true);
    if (interrupts_were_on)
        x86::enable_interrupts();
    return status;
}

ErrorOr<void> ipc_call_from_kernel(Thread& self, Endpoint& endpoint, const IpcMessage& message, IpcMessage& reply)
{
    // The reply travels through a frame of its own: the thread's real frame
    // (a fault's, or a system call's in progress) must not be touched. Not
    // zeroed on the fast path: whoever ends the wait writes its result, and
    // the registers of a reply, before it is read (a reply, or a kill's
    // PeerGone); the full path zeroes it, as it always did.
    x86::InterruptFrame scratch;
    x86::InterruptFrame* saved = self.ipc.frame;
    self.ipc.frame = &scratch;
    ErrorOr<u64> status = fastpath_call_from_kernel(self, endpoint, message)
        ? decode_result(syscall_result(scratch))
        : full_call_from_kernel(self, endpoint, message, scratch);
    self.ipc.frame = saved;
    if (status.is_error())
        return status.error();
    reply = read_delivered_message(scratch);
    return {};
}

Thread* ipc_claim_caller(Thread& self)
{
    Thread* caller = __atomic_load_n(&self.ipc.reply_to, __ATOMIC_ACQUIRE);
    return caller && claim_reply_right(self, *caller) ? caller : nullptr;
}

void ipc_unclaim_caller(Thread& self, Thread& caller)
{
    // A reply right is given only to a thread taken off an endpoint's
    // receivers queue, and `self` is in a system call, queued nowhere: the
    // slot is still empty. seq_cst, as give_reply_right's.
    __atomic_store_n(&self.ipc.reply_to, &caller, __ATOMIC_SEQ_CST);
    // A kill of the caller's task that looked while the right was claimed
    // found it taken and left the caller waiting: end its wait here, as
    // receive does for a right just given (the server's answer, or its next
    // MemoryMapReply, then finds no caller: NoReply).
    if (kill_seen_after_reply_right(caller) && claim_reply_right(self, caller))
        ipc_wake_with_status(caller, Error::PeerGone);
}

ErrorOr<u64> ipc_answer_and_receive(Thread& self, Thread& caller, u64 info, u64 word0, u64 handle)
{
    if (fastpath_answer_receive(self, caller, info, word0, handle, *self.ipc.frame))
        return decode_result(syscall_result(*self.ipc.frame)); // the next message is in the frame
    caller.ipc.awaiting_reply = false;
    caller.ipc.replier = nullptr;
    deliver(self, caller, IpcMessage { info, { word0 }, 0 }, nullptr);
    return receive(self, handle, &caller); // the caller runs again once we wait (or right away, elsewhere)
}

void ipc_thread_exiting(Thread& thread)
{
    if (Thread* caller = __atomic_exchange_n(&thread.ipc.reply_to, nullptr, __ATOMIC_ACQ_REL))
        ipc_wake_with_status(*caller, Error::PeerGone);
}

// ---- the system calls (syscall/handlers.hpp) ----

ErrorOr<u64> sys_endpoint_create(const SyscallArgs&) { return create(current_thread(), Endpoint::create()); }
ErrorOr<u64> sys_notification_create(const SyscallArgs&) { return create(current_thread(), Notification::create()); }
ErrorOr<u64> sys_handle_close(const SyscallArgs& args) { return close(current_thread(), args.arg(0)); }
ErrorOr<u64> sys_handle_mint(const SyscallArgs& args) { return mint(current_thread(), args.arg(0), args.arg(1), args.arg(2)); }
ErrorOr<u64> sys_set_ipc_buffer(const SyscallArgs& args) { return set_buffer(current_thread(), args.arg(0)); }
ErrorOr<u64> sys_ipc_send(const SyscallArgs& args) { return send(current_thread(), args.arg(0), false); }
ErrorOr<u64> sys_ipc_call(const SyscallArgs& args) { return send(current_thread(), args.arg(0), true); }
ErrorOr<u64> sys_ipc_receive(const SyscallArgs& args) { return receive(current_thread(), args.arg(0), nullptr); }
ErrorOr<u64> sys_ipc_reply_receive(const SyscallArgs& args) { return reply_receive(current_thread(), args.arg(0)); }
ErrorOr<u64> sys_notify_signal(const SyscallArgs& args) { return signal(current_thread(), args.arg(0), args.arg(1)); }
ErrorOr<u64> sys_notify_wait(const SyscallArgs& args) { return wait(current_thread(), args.arg(0), args.arg(1), args.arg(2)); }
ErrorOr<u64> sys_ipc_reply_save(const SyscallArgs&) { return reply_save(current_thread()); }
ErrorOr<u64> sys_ipc_reply_to(const SyscallArgs& args) { return reply_to(current_thread(), args.arg(0)); }

} // namespace herald
