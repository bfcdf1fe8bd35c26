#include "log.hpp"

#include "object/endpoint.hpp"
#include "object/notification.hpp"
#include "ipc/ipc.hpp"
#include "lib/line_ring.hpp"
#include "task/task.hpp"

namespace herald {

namespace {

// Longest line kept (a longer one is cut): with its '\n' it must fit one
// LogRead (kMaxLogRead), or the console could never take it.
constexpr usize kMaxLine = kMaxLogRead - 1;
constexpr usize kRingBytes = 64 * KiB;

class LineSink final : public FormatSink {
public:
    void write(const char* chars, usize length) override
    {
        for (usize i = 0; i < length && m_length < kMaxLine; ++i)
            m_line[m_length++] = chars[i];
    }
    using FormatSink::write;
    const char* chars() const { return m_line; }
    usize length() const { return m_length; }
    void clear() { m_length = 0; }

private:
    char m_line[kMaxLine];
    usize m_length { 0 };
};

// All under g_log_lock.
LineSink g_line GUARDED_BY(g_log_lock);
LineRing<kRingBytes> g_ring GUARDED_BY(g_log_lock);
Notification* g_console_notification GUARDED_BY(g_log_lock);
u64 g_console_bits GUARDED_BY(g_log_lock);
u64 g_console_task GUARDED_BY(g_log_lock);

// Everything the ring holds (every line fits the buffer: kMaxLine).
void write_ring_to_serial() REQUIRES(g_log_lock)
{
    static char lines[kMaxLine + 1];
    while (g_ring.lines() > 0)
        serial::write(lines, g_ring.take(lines, sizeof(lines)));
}

} // namespace

FormatSink& kernel_log_line_sink()
{
    g_line.clear();
    return g_line;
}

void kernel_log_end_line()
{
    if (g_console_notification) {
        g_ring.push(g_line.chars(), g_line.length());
        kernel_log_lines_waiting = true;
    } else {
        serial::write(g_line.chars(), g_line.length());
        serial::write("\n", 1);
    }
}

void kernel_log_attach(Notification& notification, u64 bits, u64 console)
{
    // g_console_notification holds a reference for as long as the console
    // prints the log; the detaches adopt it back.
    Notification* kept = Ref<Notification>(notification).leak();
    Notification* previous;
    {
        SpinLockGuard guard(g_log_lock);
        previous = g_console_notification; // none: the console before ended, and that detached it
        g_console_notification = kept;
        g_console_bits = bits;
        g_console_task = console;
    }
    if (previous)
        Ref<Notification>::adopt(*previous).clear(); // after the lock: it may be the last
    // The console runs already: it may have ended before the lines above,
    // and then nobody would detach it. (If it ends after this check, its
    // own end detaches it.)
    if (!find_task(console))
        kernel_log_task_ended(console);
}

void kernel_log_detach()
{
    Notification* detached;
    {
        SpinLockGuard guard(g_log_lock);
        detached = g_console_notification;
        g_console_notification = nullptr;
        write_ring_to_serial();
    }
    if (detached)
        Ref<Notification>::adopt(*detached).clear(); // kernel_log_attach's
}

void kernel_log_task_ended(u64 task)
{
    Notification* detached = nullptr;
    {
        SpinLockGuard guard(g_log_lock);
        if (!g_console_notification || task != g_console_task)
            return;
        detached = g_console_notification;
        g_console_notification = nullptr;
        // The console may have been cut off in the middle of a line: what
        // follows starts on a line of its own.
        serial::write("\n", 1);
        write_ring_to_serial();
    }
    Ref<Notification>::adopt(*detached).clear(); // kernel_log_attach's
    klog("herald: the console ended: the kernel writes its log to COM1 again");
}

usize kernel_log_take(char* out, usize max)
{
    SpinLockGuard guard(g_log_lock);
    usize taken = g_ring.take(out, max);
    if (g_ring.lines() > 0)
        kernel_log_lines_waiting = true; // the console takes one batch per signal: signal again
    return taken;
}

usize kernel_log_waiting_lines()
{
    SpinLockGuard guard(g_log_lock);
    return g_ring.lines();
}

void kernel_log_flush()
{
    SpinLockGuard guard(g_log_lock);
    write_ring_to_serial();
}

// The lock is taken and never given back (the machine stops): no guard.
void kernel_log_take_over_for_panic() NO_THREAD_SAFETY_ANALYSIS
{
    // A line takes well under this many tries to write, even emulated.
    constexpr u64 kTries = 50'000'000;
    SavedInterrupts interrupts;
    for (u64 i = 0; i < kTries; ++i) {
        if (g_log_lock.try_lock(interrupts)) {
            write_ring_to_serial();
            return; // the lock stays taken: the machine stops after the report
        }
        x86::pause();
    }
}

void kernel_log_write_console_bytes(const u8* bytes, usize length)
{
    SpinLockGuard guard(g_log_lock);
    serial::write(reinterpret_cast<const char*>(bytes), length);
}

bool kernel_log_lines_waiting;

void kernel_log_tell_console()
{
    Ref<Notification> notification;
    u64 bits;
    {
        SpinLockGuard guard(g_log_lock);
        if (!kernel_log_lines_waiting)
            return; // another CPU told the console first
        if (g_console_notification)
            notification = Ref<Notification>(*g_console_notification);
        bits = g_console_bits;
        kernel_log_lines_waiting = false;
    }
    if (!notification)
        return;
    notification->signal(bits); // no lock of ours held: it takes the endpoint's and a run queue's
}

} // namespace herald
