#include "page_views.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../lib/assert.hpp"
#include "processor.hpp"
#include "tlb_shootdown.hpp"

namespace herald {

namespace {

bool g_unmap_ignores_views; // set once at boot, before any task runs
u64 g_waits_for_views;       // page_view_waits()

// Counted once a wait, when it first finds a slot it must wait for.
void count_wait(bool& counted)
{
    if (!counted)
        __atomic_fetch_add(&g_waits_for_views, 1, __ATOMIC_RELAXED);
    counted = true;
}

// Spins while `still` holds for a view slot of another CPU. This CPU holds
// none that matches here (a view never outlives the system call or the
// service answer that took it, and no waiter is inside one of its own).
template<typename Predicate>
void wait_for_view_slots(Predicate still)
{
    Processor& self = this_processor();
    bool counted = false;
    for (usize i = 0; i < processor_count(); ++i) {
        Processor& cpu = processor(i);
        for (usize slot = 0; slot < kViewSlots; ++slot) {
            if (&cpu == &self) {
                HERALD_ASSERT(!still(cpu.page_views[slot]));
                continue;
            }
            while (still(cpu.page_views[slot])) {
                count_wait(counted);
                tlb_shootdown_answer_pending();
                x86::pause();
            }
        }
    }
}

} // namespace

// Acquire: what the view's holder copied happens before what the waiter
// does next (the holder clears the slot with a release store).
void wait_for_page_views_of(u64 frame)
{
    if (g_unmap_ignores_views)
        return;
    wait_for_view_slots([&](const PageViewRecord& record) { return __atomic_load_n(&record.frame, __ATOMIC_ACQUIRE) == frame; });
}

void wait_for_page_views_of_space(const void* space)
{
    wait_for_view_slots([&](const PageViewRecord& record) { return __atomic_load_n(&record.space, __ATOMIC_ACQUIRE) == space; });
}

void page_views_ignored_by_unmap() { g_unmap_ignores_views = true; }

u64 page_view_waits() { return __atomic_load_n(&g_waits_for_views, __ATOMIC_RELAXED); }

} // namespace herald
