// Reading the per-CPU event counters (event_counters.hpp); the EventCounters
// system call that hands them to user space is in syscall/syscalls.cpp.
#include "event_counters.hpp"

#include "../abi/syscalls.hpp"
#include "../smp/processor.hpp"

namespace herald {

bool g_event_counting;

EventCounters event_counters_read(usize cpu)
{
    const EventCounters& live = processor(cpu).events;
    EventCounters copy;
    for (usize i = 0; i < abi::kEventCount; ++i)
        copy.values[i] = __atomic_load_n(&live.values[i], __ATOMIC_RELAXED);
    return copy;
}

EventCounters event_counters_sum()
{
    EventCounters sum {};
    for (usize cpu = 0; cpu < processor_count(); ++cpu) {
        EventCounters one = event_counters_read(cpu);
        for (usize i = 0; i < abi::kEventCount; ++i)
            sum.values[i] += one.values[i];
    }
    return sum;
}

} // namespace herald
