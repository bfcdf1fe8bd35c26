#include "user_access.hpp"

#include "../arch/x86_64/cpu.hpp"
#include "../arch/x86_64/tsc.hpp"
#include "../arch/x86_64/user_copy.hpp"
#include "../mm/address_space.hpp"
#include "../mm/layout.hpp"
#include "../pager/pager.hpp"
#include "../sched/scheduler.hpp"
#include "../smp/tlb_shootdown.hpp"
#include "../task/task.hpp"

namespace herald {

namespace {

// Page-fault error code bits (SDM Vol. 3A §4.7), as the CPU would report
// the thread's own access.
constexpr u64 kFaultPresent = 1u << 0;
constexpr u64 kFaultWrite = 1u << 1;
constexpr u64 kFaultUser = 1u << 2;

// A fault may answer Resolved with nothing mapped: with every frame taken,
// the one its promise rests on may be on its way back (the ring-0 memory
// service settles an unmap with its lock let go; docs/memory.md, "Views"),
// and a ring-3 access then simply runs again. A kernel copy asks again for
// up to kResolvedRetryMs. It answers TLB shootdowns while it waits: the
// settle it waits for is often a shootdown that waits for this very CPU (the
// copying task's space is loaded here, and a system call runs with
// interrupts off). A view held for a console write can outlast the wait;
// the copy then fails (BadAddress), as for a page not mapped.
constexpr u64 kResolvedRetryMs = 1;

// Waits a moment, answering shootdowns; false once `until` has passed.
bool wait_before_asking_again(u64 until)
{
    for (int i = 0; i < 64; ++i) {
        tlb_shootdown_answer_pending();
        x86::pause();
    }
    return x86::rdtsc() < until;
}

bool reachable(Thread& thread, u64 page, bool write, bool& present)
{
    auto translation = thread.task->address_space->translate(VirtualAddress(page));
    present = static_cast<bool>(translation);
    return translation && translation->flags.user && (!write || translation->flags.writable);
}

// The thread's own stack guard is never paged in on its behalf: a buffer
// reaching into it would get the page mapped and the guard would be gone
// for good (user_faults.cpp kills a ring-3 access there instead).
bool ensure_page(Thread& thread, u64 page, bool write)
{
    if (thread.stack_guard != 0 && page == thread.stack_guard)
        return false;
    bool present = false;
    u64 until = 0;
    for (int attempt = 0;; ++attempt) {
        if (reachable(thread, page, write, present))
            return true;
        if (attempt == 1)
            until = x86::rdtsc() + kResolvedRetryMs * tsc::ticks_per_ms().value();
        if (attempt > 0 && !wait_before_asking_again(until))
            return false; // Resolved each time, and still nothing: as a page not mapped
        u64 error = kFaultUser | (write ? kFaultWrite : 0) | (present ? kFaultPresent : 0);
        if (pager_resolve_fault(thread, page, error) != abi::PageFaultVerdict::Resolved)
            return false;
    }
}

} // namespace

bool ensure_user_pages(u64 address, u64 length, bool write)
{
    Thread& thread = current_thread();
    if (!thread.task->address_space || !x86::is_user_range(address, length))
        return false;
    if (length == 0)
        return true;
    u64 first = align_down(address, layout::kPageSize);
    u64 last = align_down(address + length - 1, layout::kPageSize);
    for (u64 page = first;; page += layout::kPageSize) {
        if (!ensure_page(thread, page, write))
            return false;
        if (page == last)
            return true;
    }
}

bool copy_from_user_paged(void* kernel_destination, u64 user_source, u64 length)
{
    if (x86::copy_from_user(kernel_destination, user_source, length))
        return true;
    return ensure_user_pages(user_source, length, false) && x86::copy_from_user(kernel_destination, user_source, length);
}

bool copy_to_user_paged(u64 user_destination, const void* kernel_source, u64 length)
{
    if (x86::copy_to_user(user_destination, kernel_source, length))
        return true;
    return ensure_user_pages(user_destination, length, true) && x86::copy_to_user(user_destination, kernel_source, length);
}

} // namespace herald
