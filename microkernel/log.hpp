// klog(): one formatted line on the kernel log (COM1).
//
// Lines that scripts and tests rely on keep exact prefixes; they are listed
// in docs/architecture.md ("Log lines"). Change them only together with the
// tests that read them.
#pragma once

#include "arch/x86_64/serial.hpp"
#include "sync/spinlock.hpp"

namespace herald {

// Held for one whole line, so lines from different CPUs never mix. The
// panic report does not take it: a CPU that died holding it must not keep
// the report from being printed.
extern SpinLock g_log_lock;

template<typename... Args>
void klog(StringView fmt, const Args&... args)
{
    SpinLockGuard guard(g_log_lock);
    format(serial::sink(), fmt, args...);
    serial::write("\n", 1);
}

} // namespace herald
