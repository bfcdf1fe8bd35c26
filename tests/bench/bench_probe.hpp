// The benchmark probe (protocol in probe_protocol.hpp): the measured window
// of a figure, from the programs' marks or the runner's own, with the
// guest's clock (TSC) and the kernel's event counters (summed over every
// CPU) read at both ends.
//
//   probe().arm(2);                  // two programs take part
//   ... start them, each with a handle to probe() at kProbeHandle ...
//   ... wait for them ...
//   Optional<Window> window = probe().window();
//
// A Window holds what the figure's operations cost together: ticks, the
// operations all participants counted, and the events between the marks.
// Every CPU's events count (timer ticks on an idle CPU included): the
// figures say what the whole system did per operation.
#pragma once

#include "microkernel/object/kernel_service.hpp"
#include "microkernel/lib/optional.hpp"
#include "microkernel/stats/event_counters.hpp"
#include "microkernel/sync/spinlock.hpp"
#include "bench_report.hpp"

namespace herald::bench {

struct Window {
    u64 ticks { 0 };
    u64 operations { 0 };
    EventDeltas events;
};

// Both ends of a window read by the runner itself (figures measured in
// ring 0): begin(), the operations, end().
class WindowClock {
public:
    void begin();
    // `own_syscalls`: system calls inside the window that are not the
    // figure's operations (the programs' End marks), taken off the count.
    Window end(u64 operations, u64 own_syscalls = 0) const;

private:
    u64 m_start_ticks { 0 };
    EventCounters m_start {};
};

class Probe final : public KernelService {
public:
    // Expects `participants` Begin and End marks from now on.
    void arm(u32 participants);
    // A participant will never come (it did not start): the others stop
    // waiting for it, and window() says there is none.
    void cancel();
    // The window, once every participant has marked its end.
    Optional<Window> window() const;

    ErrorOr<IpcMessage> call(Thread& caller, const IpcMessage& request) override;

private:
    void begin(Thread& caller);
    void end(u64 operations);

    mutable SpinLock m_lock;
    u32 m_expected { 0 };
    u32 m_begun { 0 };
    u32 m_ended { 0 };
    u64 m_operations { 0 };
    bool m_open { false };      // the last participant has begun
    bool m_cancelled { false };
    WindowClock m_clock;
    Window m_window;
};

Probe& probe();

} // namespace herald::bench
