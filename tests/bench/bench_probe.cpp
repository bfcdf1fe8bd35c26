// The benchmark probe (bench_probe.hpp).
#include "bench_probe.hpp"

#include "microkernel/abi/ipc.hpp"
#include "microkernel/abi/syscalls.hpp"
#include "microkernel/arch/x86_64/cpu.hpp"
#include "microkernel/ipc/ipc.hpp"
#include "microkernel/mm/address_space.hpp"
#include "microkernel/sched/scheduler.hpp"
#include "microkernel/task/task.hpp"
#include "probe_protocol.hpp"

namespace herald::bench {

namespace {

u64 read_clock()
{
    // LFENCE: the TSC is read after what came before has finished (the
    // programs do the same, user/programs/bench_common.hpp).
    asm volatile("lfence" ::: "memory");
    return x86::rdtsc();
}

Probe g_probe;

} // namespace

Probe& probe() { return g_probe; }

void WindowClock::begin()
{
    m_start = event_counters_sum();
    m_start_ticks = read_clock();
}

Window WindowClock::end(u64 operations, u64 own_syscalls) const
{
    u64 end_ticks = read_clock();
    EventCounters end = event_counters_sum();
    Window window;
    window.ticks = end_ticks - m_start_ticks;
    window.operations = operations;
    for (usize i = 0; i < abi::kEventCount; ++i)
        window.events.values[i] = end.values[i] - m_start.values[i];
    u64& syscalls = window.events.values[static_cast<usize>(Event::Syscalls)];
    syscalls -= min(syscalls, own_syscalls);
    return window;
}

void Probe::arm(u32 participants)
{
    SpinLockGuard guard(m_lock);
    m_expected = participants;
    m_begun = m_ended = 0;
    m_operations = 0;
    m_open = m_cancelled = false;
    m_window = Window {};
}

void Probe::cancel()
{
    SpinLockGuard guard(m_lock);
    m_cancelled = true;
}

Optional<Window> Probe::window() const
{
    SpinLockGuard guard(m_lock);
    if (m_cancelled || m_expected == 0 || m_ended != m_expected)
        return nullopt;
    return m_window;
}

ErrorOr<IpcMessage> Probe::call(Thread& caller, const IpcMessage& request)
{
    // Checked as for any service (object/kernel_service.hpp); no view kept.
    if (abi::MessageInfo::decode(request.info).payload_length > 0 && !view_ipc_buffer(caller))
        return Error::BadAddress;
    switch (abi::MessageInfo::decode(request.info).label) {
    case kProbeBegin: begin(caller); break;
    case kProbeEnd: end(request.words[0]); break;
    default: break;
    }
    return IpcMessage {};
}

// Every participant waits here until the last has come, so that they run
// their operations together; the window opens at the last one.
void Probe::begin(Thread& caller)
{
    {
        SpinLockGuard guard(m_lock);
        if (++m_begun == m_expected) {
            m_clock.begin();
            m_open = true;
            return;
        }
    }
    // System calls run with interrupts off: yield, so that a participant
    // queued on this CPU can come. A killed caller stops waiting.
    while (!__atomic_load_n(&m_open, __ATOMIC_ACQUIRE) && !__atomic_load_n(&m_cancelled, __ATOMIC_ACQUIRE)
        && !__atomic_load_n(&caller.task->kill_requested, __ATOMIC_ACQUIRE)) {
        scheduler_yield();
        x86::pause();
    }
}

void Probe::end(u64 operations)
{
    SpinLockGuard guard(m_lock);
    m_operations += operations;
    if (++m_ended == m_expected && m_open)
        m_window = m_clock.end(m_operations, m_expected); // each participant's End is a system call
}

} // namespace herald::bench
