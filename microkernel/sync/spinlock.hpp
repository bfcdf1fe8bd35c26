// SpinLock: mutual exclusion between CPUs for short critical sections.
//
// Taking the lock also disables interrupts on this CPU (and restores the
// previous state on release): an interrupt handler that wanted the same lock
// on the same CPU would otherwise spin forever. Take it with SpinLockGuard,
// so that every path out of the section releases it; the guard's unlock()
// lets it go early (IPC lets an endpoint's lock go before it switches to
// another thread) and the destructor then does nothing. SpinLock is a
// capability for clang's -Wthread-safety (thread_safety.hpp): fields
// GUARDED_BY a lock are checked at every access.
#pragma once

#include "../arch/x86_64/cpu.hpp"
#include "thread_safety.hpp"

namespace herald {

// Whether interrupts were enabled before a lock disabled them: RFLAGS.IF as
// read, kept as it is (testing the bit later costs less than making a bool).
using SavedInterrupts = u64;

class CAPABILITY("spinlock") SpinLock {
public:
    // Returns the interrupt state to give back to unlock(). Use a guard.
    [[nodiscard]] SavedInterrupts lock() ACQUIRE()
    {
        SavedInterrupts interrupts_were_enabled = x86::read_rflags() & x86::kRflagsInterruptEnable;
        x86::disable_interrupts();
        while (__atomic_exchange_n(&m_locked, true, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&m_locked, __ATOMIC_RELAXED))
                x86::pause();
        }
        return interrupts_were_enabled;
    }

    // For a caller that runs with interrupts off already (a system call's
    // fast path: SYSCALL clears IF through IA32_FMASK): nothing to save,
    // and the guard that adopts it (with kInterruptsWereOff) restores
    // nothing. Saves reading RFLAGS and testing it again on every release.
    void lock_with_interrupts_off() ACQUIRE()
    {
        while (__atomic_exchange_n(&m_locked, true, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&m_locked, __ATOMIC_RELAXED))
                x86::pause();
        }
    }

    void unlock(SavedInterrupts interrupts_were_enabled) RELEASE()
    {
        __atomic_store_n(&m_locked, false, __ATOMIC_RELEASE);
        if (interrupts_were_enabled)
            x86::enable_interrupts();
    }

    // Like lock(), but gives up at once when another CPU holds it; on
    // success, hand it to a guard (SpinLockGuard's adopting constructor).
    [[nodiscard]] bool try_lock(SavedInterrupts& interrupts_were_enabled) TRY_ACQUIRE(true)
    {
        interrupts_were_enabled = x86::read_rflags() & x86::kRflagsInterruptEnable;
        x86::disable_interrupts();
        if (!__atomic_exchange_n(&m_locked, true, __ATOMIC_ACQUIRE))
            return true;
        if (interrupts_were_enabled)
            x86::enable_interrupts();
        return false;
    }

    bool is_locked() const { return __atomic_load_n(&m_locked, __ATOMIC_RELAXED); }

private:
    bool m_locked { false };
};

inline constexpr SavedInterrupts kInterruptsWereOff = 0;

struct AdoptLock { };
inline constexpr AdoptLock adopt_lock {};

class SCOPED_CAPABILITY SpinLockGuard {
public:
    explicit SpinLockGuard(SpinLock& lock) ACQUIRE(lock)
        : m_lock(lock)
        , m_interrupts_were_enabled(lock.lock())
    {
    }
    // Takes over a lock this CPU already holds (a successful try_lock).
    SpinLockGuard(SpinLock& lock, AdoptLock, SavedInterrupts interrupts_were_enabled) REQUIRES(lock)
        : m_lock(lock)
        , m_interrupts_were_enabled(interrupts_were_enabled)
    {
    }
    ~SpinLockGuard() RELEASE()
    {
        if (m_held)
            m_lock.unlock(m_interrupts_were_enabled);
    }
    // Lets the lock go now, before the end of the scope (once).
    void unlock() RELEASE()
    {
        m_held = false;
        m_lock.unlock(m_interrupts_were_enabled);
    }
    SpinLockGuard(const SpinLockGuard&) = delete;
    SpinLockGuard& operator=(const SpinLockGuard&) = delete;

private:
    SpinLock& m_lock;
    SavedInterrupts m_interrupts_were_enabled;
    bool m_held { true };
};

} // namespace herald
