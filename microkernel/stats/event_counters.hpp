// Kernel event counters (abi/events.hpp has the list): what the kernel did,
// counted per CPU, so that a benchmark can say what an operation cost in
// events as well as in instructions (docs/benchmarks.md, "Events").
//
// Contract:
//   - count(e) / count(e, n) add to the counter of the CPU that runs them,
//     with one instruction on the Processor's counters through %gs (like
//     Linux's this_cpu_inc): no lock, no atomic, and no window in which a
//     migration could make it touch another CPU's counter. They cost one
//     instruction on hot paths.
//   - They may only run once this CPU's Processor is installed (GS base;
//     smp/processor.hpp): never on the early-boot or panic paths.
//   - Reading other CPUs' counters (event_counters_read) is racy by design:
//     each 64-bit value is read whole, but the set is not a snapshot.
#pragma once

#include "../abi/events.hpp"
#include "../lib/types.hpp"

namespace herald {

using abi::Event;

struct EventCounters {
    u64 values[abi::kEventCount];
};

// Where Processor::events sits (static_assert in smp/processor.hpp).
inline constexpr usize kProcessorEventsOffset = 24;

namespace detail {
constexpr usize event_offset(Event event) { return kProcessorEventsOffset + static_cast<usize>(event) * sizeof(u64); }
} // namespace detail

template<Event event>
inline void count()
{
    asm volatile("incq %%gs:%c0" : : "i"(detail::event_offset(event)) : "cc");
}

template<Event event>
inline void count(u64 amount)
{
    asm volatile("addq %1, %%gs:%c0" : : "i"(detail::event_offset(event)), "r"(amount) : "cc");
}

// For code that may also run before the boot CPU's Processor is installed
// (kernel memory is allocated and zeroed from the first steps of boot on):
// counts only once install_processor() has run on the boot CPU. APs install
// theirs before they run anything that counts.
extern bool g_event_counting;

inline void count_frames_zeroed(u64 frames)
{
    if (__builtin_expect(g_event_counting, true))
        count<Event::FramesZeroed>(frames);
}

// One CPU's counters (index < processor_count()), or every CPU's summed.
EventCounters event_counters_read(usize cpu);
EventCounters event_counters_sum();

// The EventCounters system call (cpu index or abi::kAllCpus, u64* out,
// max -> the number of counters written, at most abi::kEventCount) is
// in syscall/syscalls.cpp.

} // namespace herald
