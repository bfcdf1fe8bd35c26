#include "processor.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../lib/assert.hpp"

namespace herald {

namespace {

Processor* g_processors[x86::kMaxCpus];
usize g_count;

} // namespace

usize processor_count() { return __atomic_load_n(&g_count, __ATOMIC_ACQUIRE); }

Processor& processor(usize index)
{
    HERALD_ASSERT(index < processor_count());
    return *g_processors[index];
}

void register_processor(Processor& processor)
{
    HERALD_ASSERT(g_count < x86::kMaxCpus && processor.index == g_count);
    g_processors[g_count] = &processor;
    __atomic_store_n(&g_count, g_count + 1, __ATOMIC_RELEASE);
}

void install_processor(Processor& processor)
{
    processor.self = &processor;
    x86::wrmsr(x86::kMsrGsBase, reinterpret_cast<u64>(&processor));
    x86::wrmsr(x86::kMsrKernelGsBase, 0);
    g_event_counting = true; // count_frames_zeroed: %gs reaches a Processor from now on
}

} // namespace herald
