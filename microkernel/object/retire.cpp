#include "retire.hpp"

namespace herald {

namespace {

SpinLock g_cancel_lock; // held by the canceller inside a CancelScope
SpinLock g_retired_lock; // a leaf lock: only the list below, never another lock inside
KernelObject* g_retired GUARDED_BY(g_retired_lock);

void free_retired()
{
    KernelObject* list;
    {
        SpinLockGuard guard(g_retired_lock);
        list = g_retired;
        g_retired = nullptr;
    }
    while (list) {
        KernelObject* next = list->retired_next;
        list->free_retired_storage();
        list = next;
    }
}

} // namespace

// The lock is held from the constructor to the destructor; the analysis
// cannot follow a lock across two functions.
CancelScope::CancelScope() NO_THREAD_SAFETY_ANALYSIS : m_interrupts(g_cancel_lock.lock()) { }

CancelScope::~CancelScope() NO_THREAD_SAFETY_ANALYSIS
{
    // Still inside: no other canceller can be looking at what is freed here.
    free_retired();
    g_cancel_lock.unlock(m_interrupts);
}

void retire(KernelObject& object)
{
    SavedInterrupts interrupts;
    if (g_cancel_lock.try_lock(interrupts)) {
        // No canceller inside: the ones to come see the waiters' pointers
        // cleared (destroy() did that before, under the object's lock). What
        // others retired while one was inside goes too.
        SpinLockGuard guard(g_cancel_lock, adopt_lock, interrupts);
        free_retired();
        object.free_retired_storage();
        return;
    }
    SpinLockGuard guard(g_retired_lock);
    object.retired_next = g_retired;
    g_retired = &object;
}

} // namespace herald
