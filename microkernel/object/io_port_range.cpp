#include "io_port_range.hpp"

#include "../arch/x86_64/gdt.hpp"
#include "../mm/kernel_pool.hpp"
#include "../smp/processor.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

KernelPool<IoPortRange> g_port_ranges;

} // namespace

IoPortRange IoPortRange::s_root { 0, static_cast<u16>(kLastPort) };

IoPortRange& IoPortRange::root() { return s_root; }

ErrorOr<Ref<IoPortRange>> IoPortRange::restrict(u64 first, u64 last) const
{
    if (first > last)
        return Error::BadArgument;
    if (first < m_first || last > m_last)
        return Error::NotGranted;
    void* storage = g_port_ranges.allocate_storage();
    if (!storage)
        return Error::OutOfMemory;
    return Ref<IoPortRange>::adopt(*new (storage) IoPortRange(static_cast<u16>(first), static_cast<u16>(last)));
}

ErrorOr<void> IoPortRange::enable_for(Task& task) const
{
    if (!task.io_ports.add(m_first, m_last))
        return Error::TooMany;
    // The caller runs on this CPU with interrupts off: its own bitmap now,
    // every later switch to it from the set's new stamp.
    x86::load_io_ports(this_processor().index, task.io_ports);
    return {};
}

void IoPortRange::destroy()
{
    if (this == &s_root)
        return; // lives as long as the kernel
    this->~IoPortRange();
    g_port_ranges.free_storage(this);
}

} // namespace herald
