// Freeing an object that a kill may be looking at without a reference.
//
// A thread waiting in an Endpoint's or a Notification's queue holds no
// reference to it (kernel_object.hpp); its `ipc.blocked_on` /
// `ipc.waiting_on` only point at it. A kill (ipc_cancel_wait, ipc.cpp) reads
// that pointer and takes the object's lock to see whether the thread still
// waits there. Meanwhile a partner may take the thread out of the queue, the
// thread may run, close its handle and so destroy the object: the kill
// would then lock freed memory.
//
// The rule: a canceller reads those pointers only inside a CancelScope (one
// global lock: kills are rare), and an Endpoint or Notification is freed
// only through retire(), after its waiters were failed and their pointers
// cleared. retire() frees at once when no canceller is inside a scope (it
// takes the lock with a try, never waits: destroy() may run under any lock),
// or else hands the object to the list the canceller empties as it leaves.
// A canceller that enters after that sees the pointers cleared.
#pragma once

#include "../sync/spinlock.hpp"
#include "kernel_object.hpp"

namespace herald {

// Held while ipc_cancel_wait looks through a thread's wait pointers.
class CancelScope {
public:
    CancelScope();
    ~CancelScope(); // frees what was retired meanwhile
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;

private:
    SavedInterrupts m_interrupts;
};

// For destroy(), once no waiter points at `object` any more: `object`'s
// free_retired_storage() runs now, or when the canceller inside a scope
// leaves it.
void retire(KernelObject& object);

} // namespace herald
