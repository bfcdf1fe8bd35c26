// Reading the per-CPU event counters (event_counters.hpp), and the
// EventCounters system call that hands them to user space.
#include "event_counters.hpp"

#include "../abi/syscalls.hpp"
#include "../smp/processor.hpp"
#include "../syscall/handlers.hpp"
#include "../syscall/user_access.hpp"

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

ErrorOr<u64> sys_event_counters(const SyscallArgs& args)
{
    u64 cpu = args.arg(0), out = args.arg(1), max = args.arg(2);
    if (cpu != abi::kAllCpus && cpu >= processor_count())
        return Error::BadArgument;
    if (max > abi::kEventCount)
        max = abi::kEventCount;
    EventCounters counters = cpu == abi::kAllCpus ? event_counters_sum() : event_counters_read(cpu);
    if (!copy_to_user_paged(out, counters.values, max * sizeof(u64)))
        return Error::BadAddress;
    return max;
}

} // namespace herald
