// SpinLock: mutual exclusion between CPUs for short critical sections.
//
// Taking the lock also disables interrupts on this CPU (and restores the
// previous state on release): an interrupt handler that wanted the same lock
// on the same CPU would otherwise spin forever. Use SpinLockGuard, so that
// every path out of the section releases it.
#pragma once

#include "../arch/x86_64/cpu.hpp"

namespace herald {

class SpinLock {
public:
    // Returns the interrupt state to give back to unlock().
    [[nodiscard]] bool lock()
    {
        bool interrupts_were_enabled = x86::read_rflags() & x86::kRflagsInterruptEnable;
        x86::disable_interrupts();
        while (__atomic_exchange_n(&m_locked, true, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(&m_locked, __ATOMIC_RELAXED))
                x86::pause();
        }
        return interrupts_were_enabled;
    }

    void unlock(bool interrupts_were_enabled)
    {
        __atomic_store_n(&m_locked, false, __ATOMIC_RELEASE);
        if (interrupts_were_enabled)
            x86::enable_interrupts();
    }

    // Like lock(), but gives up at once when another CPU holds it.
    [[nodiscard]] bool try_lock(bool& interrupts_were_enabled)
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

class SpinLockGuard {
public:
    explicit SpinLockGuard(SpinLock& lock) : m_lock(lock), m_interrupts_were_enabled(lock.lock()) { }
    ~SpinLockGuard() { m_lock.unlock(m_interrupts_were_enabled); }
    SpinLockGuard(const SpinLockGuard&) = delete;
    SpinLockGuard& operator=(const SpinLockGuard&) = delete;

private:
    SpinLock& m_lock;
    bool m_interrupts_were_enabled;
};

} // namespace herald
