// klog(): one formatted line on the kernel log.
//
// Until the console server runs, lines go straight to COM1. Once it does
// (kernel_log_attach), the console owns COM1, and lines go into a ring that
// it drains and prints whole (docs/system.md, "The console"), so a kernel
// line never splits a program's line or the other way round. If the console
// ends, the kernel takes COM1 back. The panic report never waits for
// anyone: it writes to COM1 itself.
//
// Lines that scripts and tests rely on keep exact prefixes; they are listed
// in docs/architecture.md ("Log lines"). Change them only together with the
// tests that read them.
#pragma once

#include "arch/x86_64/serial.hpp"
#include "sync/spinlock.hpp"

namespace herald {

class Notification;

// Held for one whole line, so lines from different CPUs never mix. The
// panic report does not take it: a CPU that died holding it must not keep
// the report from being printed.
extern SpinLock g_log_lock;

// Where the line being formatted goes (under g_log_lock).
FormatSink& kernel_log_line_sink() REQUIRES(g_log_lock);
void kernel_log_end_line() REQUIRES(g_log_lock);

template<typename... Args>
void klog(StringView fmt, const Args&... args)
{
    SpinLockGuard guard(g_log_lock);
    format(kernel_log_line_sink(), fmt, args...);
    kernel_log_end_line();
}

// From now on lines go to the ring, and `bits` on `notification` (bound to
// the console's endpoint) tell task `console` there is something to print.
void kernel_log_attach(Notification& notification, u64 bits, u64 console);
// Task `task` ended: if it was the console, the kernel writes to COM1 again
// (what the ring still holds first).
void kernel_log_task_ended(u64 task);
// The most one LogRead takes; a longer line is cut when it is logged.
inline constexpr usize kMaxLogRead = 4096;
// The kernel writes to COM1 itself from now on (what the ring holds first):
// before powering off, when the console may not get to it.
void kernel_log_detach();
// Up to `max` bytes of whole lines from the ring (LogRead).
usize kernel_log_take(char* out, usize max);
// Lines in the ring the console has not taken yet.
usize kernel_log_waiting_lines();
// Writes what the ring holds to COM1 now (before QEMU is told to exit, or
// the machine powers off).
void kernel_log_flush();
// The panic path: takes the log lock for good, so that no other CPU's line
// lands inside the report, and writes what the ring holds. If another CPU
// keeps the lock too long (it may have died holding it), the report goes
// on without it rather than wait.
void kernel_log_take_over_for_panic();
// From the timer interrupt and at the end of every system call: signals the
// console if lines are waiting. Inline, as one load, since it runs on every
// system call and almost never finds a line (the signal is out of line).
extern bool kernel_log_lines_waiting; // written under the log's lock; a racy look is enough here
void kernel_log_tell_console();
inline void kernel_log_tick()
{
    if (__builtin_expect(__atomic_load_n(&kernel_log_lines_waiting, __ATOMIC_RELAXED), false))
        kernel_log_tell_console();
}
// A client's bytes for COM1, from the console built into the kernel
// (services/console_in_kernel.cpp; then no console server holds the log):
// written under g_log_lock, so that a client's line and a kernel line never
// split each other. '\n' goes out as CR LF.
void kernel_log_write_console_bytes(const u8* bytes, usize length);

} // namespace herald
