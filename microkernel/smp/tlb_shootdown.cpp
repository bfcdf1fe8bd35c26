#include "tlb_shootdown.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/idt.hpp"
#include "../arch/x86_64/lapic.hpp"
#include "../arch/x86_64/vectors.hpp"
#include "../stats/event_counters.hpp"
#include "../sync/spinlock.hpp"
#include "processor.hpp"

namespace herald {

namespace {

constexpr u64 kCr3AddressMask = ~0xFFFull; // CR3 bits 12-51: the PML4 (SDM Vol. 3A §4.5)

// One shootdown at a time: its request, read by the CPUs it names.
struct Request {
    u64 root;
    u64 pages[kShootdownBatch];
    usize count; // > kShootdownBatch: the whole address space
    u32 unanswered;
};

SpinLock g_lock;
Request g_request; // written under g_lock, read by the targets until they answer
bool g_disabled;

void invalidate_here(const Request& request)
{
    if ((x86::read_cr3() & kCr3AddressMask) != request.root)
        return; // switched away since: its CR3 write dropped them
    if (request.count > kShootdownBatch) {
        x86::write_cr3(x86::read_cr3());
        count<Event::TlbFlushFull>();
        return;
    }
    for (usize i = 0; i < request.count; ++i)
        x86::invalidate_page(request.pages[i]);
    count<Event::TlbFlushPage>(request.count);
}

// Whoever takes this CPU's pending flag (the IPI, or this CPU itself while
// it waits for g_lock) answers the request once.
void answer_if_asked()
{
    Processor& cpu = this_processor();
    if (!__atomic_exchange_n(&cpu.shootdown_pending, false, __ATOMIC_ACQ_REL))
        return;
    invalidate_here(g_request);
    __atomic_sub_fetch(&g_request.unanswered, 1, __ATOMIC_RELEASE);
}

void on_shootdown_ipi(x86::InterruptFrame&) { answer_if_asked(); }

} // namespace

// The holder may be waiting for this CPU, whose interrupts are off here.
SavedInterrupts lock_answering_shootdowns_slowly(SpinLock& lock) NO_THREAD_SAFETY_ANALYSIS
{
    SavedInterrupts interrupts;
    while (!lock.try_lock(interrupts)) {
        answer_if_asked();
        x86::pause();
    }
    return interrupts;
}

void tlb_shootdown_init(bool disabled)
{
    g_disabled = disabled;
    x86::set_interrupt_handler(x86::kVectorTlbShootdown, on_shootdown_ipi);
}

bool tlb_shootdown_disabled() { return g_disabled; }

void tlb_shootdown_answer_pending() { answer_if_asked(); }

void tlb_shootdown(u64 root, const u64* pages, usize page_count)
{
    SpinLockGuard guard(g_lock, adopt_lock, lock_answering_shootdowns(g_lock));
    g_request.root = root;
    g_request.count = page_count;
    for (usize i = 0; i < page_count && i < kShootdownBatch; ++i)
        g_request.pages[i] = pages[i];
    invalidate_here(g_request);
    if (g_disabled)
        return;
    // The entries were changed before this fence; a CPU whose active_root we
    // do not see below loads CR3 after, and walks the new entries.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    Processor& self = this_processor();
    u32 asked = 0;
    __atomic_store_n(&g_request.unanswered, 0, __ATOMIC_RELAXED);
    for (usize i = 0; i < processor_count(); ++i) {
        Processor& cpu = processor(i);
        if (&cpu == &self || __atomic_load_n(&cpu.active_root, __ATOMIC_SEQ_CST) != root)
            continue;
        __atomic_add_fetch(&g_request.unanswered, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&cpu.shootdown_pending, true, __ATOMIC_RELEASE);
        x86::lapic::send_ipi(cpu.apic_id, x86::kVectorTlbShootdown);
        ++asked;
    }
    count<Event::ShootdownIpis>(asked);
    while (__atomic_load_n(&g_request.unanswered, __ATOMIC_ACQUIRE) != 0)
        x86::pause();
}

} // namespace herald
